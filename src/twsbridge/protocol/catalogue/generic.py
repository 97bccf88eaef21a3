"""A message the catalogue does not cover yet: kept whole, never dropped."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, repr=False)
class Unknown:
    """A frame whose message id is not catalogued for this direction.

    ``fields`` are the frame's fields after the id, as text, exactly as they
    arrived; encoding an ``Unknown`` gives back the same bytes.
    """

    msgId: str
    fields: list[str] = field(default_factory=list)
    direction: str = "in"

    NAME = "unknown"

    @property
    def ID(self) -> int:
        digits = self.msgId.removeprefix("-")
        return int(self.msgId) if digits.isascii() and digits.isdigit() else -1

    def encode(self) -> str:
        return "\0".join([self.msgId, *self.fields, ""])

    def __repr__(self) -> str:
        return f"<unknown msgId={self.msgId} fields={self.fields!r}>"
