"""Who is calling: :class:`Principal`, and the scope ladder read < trade < admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SCOPES", "Principal", "implied_scopes", "normalize_scope"]

SCOPES: tuple[str, ...] = ("read", "trade", "admin")
"""The scopes, weakest first: each one implies every scope before it."""


def normalize_scope(scope: str) -> str:
    """``scope`` lower-cased and checked.

    Raises:
        ValueError: not one of :data:`SCOPES`.
    """
    value = scope.strip().lower()
    if value not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}")
    return value


def implied_scopes(granted: Iterable[str]) -> frozenset[str]:
    """Every scope ``granted`` gives: ``{"admin"}`` -> ``{"read", "trade", "admin"}``."""
    ranks = [SCOPES.index(normalize_scope(s)) for s in granted]
    top = max(ranks, default=-1)
    return frozenset(SCOPES[: top + 1])


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API key.

    ``scopes`` holds every scope the key has, implied ones included (an admin
    key's scopes are ``{"read", "trade", "admin"}``).
    """

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """True when the key holds ``scope`` (directly or implied)."""
        return scope in self.scopes

    @property
    def scope(self) -> str:
        """The strongest scope the key holds (``"read"``, ``"trade"`` or ``"admin"``)."""
        held = [s for s in SCOPES if s in self.scopes]
        return held[-1] if held else ""
