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
        """The id as an int; -1 when it is not a decimal int of at most 10 digits."""
        digits = self.msgId.removeprefix("-")
        ok = 0 < len(digits) <= 10 and digits.isascii() and digits.isdigit()
        return int(self.msgId) if ok else -1

    def encode(self) -> str:
        return "\0".join([self.msgId, *self.fields, ""])

    def __repr__(self) -> str:
        return f"<unknown msgId={self.msgId} fields={self.fields!r}>"
