"""Errors raised by the protocol core."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """A frame or handshake that does not follow the TWS socket protocol.

    Attributes:
        msg_id: the message id of the offending frame, when known (a string as
            sent on the wire, for example ``"1"`` for tickPrice).
        field: the name of the field that failed to decode, when known.
        fields: the raw fields of the frame, when known, so nothing is lost.
        text: the description, without the message id and field.
    """

    def __init__(
        self,
        message: str,
        *,
        msg_id: str | None = None,
        field: str | None = None,
        fields: list[str] | None = None,
    ) -> None:
        parts = [message]
        if msg_id is not None:
            parts.append(f"message id {msg_id}")
        if field is not None:
            parts.append(f"field {field!r}")
        super().__init__("; ".join(parts))
        self.text = message
        self.msg_id = msg_id
        self.field = field
        self.fields = fields

    def naming(self, field: str) -> ProtocolError:
        """The same error, naming ``field``."""
        return ProtocolError(self.text, msg_id=self.msg_id, field=field, fields=self.fields)
