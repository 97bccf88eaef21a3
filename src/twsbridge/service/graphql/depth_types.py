"""The GraphQL types of market depth, derived from :mod:`twsbridge.service.depth_schemas`
(see :func:`.types.derive`; names without "Public")."""

from __future__ import annotations

from ..depth_schemas import (
    DepthBookPublic,
    DepthExchangePublic,
    DepthLevelPublic,
    DepthMessagePublic,
    DepthRowPublic,
)
from .types import derive

__all__ = ["DepthBookGQL", "DepthExchangeGQL", "DepthLevelGQL", "DepthMessageGQL",
           "DepthRowGQL"]

DepthRowGQL = derive(DepthRowPublic, "DepthRow")
DepthBookGQL = derive(DepthBookPublic, "DepthBook")
DepthExchangeGQL = derive(DepthExchangePublic, "DepthExchange")
DepthLevelGQL = derive(DepthLevelPublic, "DepthLevel")
DepthMessageGQL = derive(DepthMessagePublic, "DepthMessage")
