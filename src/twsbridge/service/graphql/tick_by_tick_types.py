"""The GraphQL type ``TickByTick`` (from :class:`~..tick_by_tick_schemas.TickByTickPublic`)."""

from __future__ import annotations

from ..tick_by_tick_schemas import TickByTickPublic
from .types import derive

__all__ = ["TickByTickGQL"]

TickByTickGQL = derive(TickByTickPublic, "TickByTick")
