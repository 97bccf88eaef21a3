"""Key management: ``GET``/``POST /keys``, ``DELETE /keys/{keyId}`` (``admin`` scope).

The key itself is answered once, by ``POST /keys``; the service keeps its SHA-256
only. ``twsbridge keys create|list|revoke`` does the same from the command line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from ..problems import ProblemError, problem_responses
from ..security import require_scope
from ..security.auth import key_store
from ..security.keys import ApiKeyInfo

__all__ = ["ApiKeyCreate", "ApiKeyCreatedPublic", "ApiKeyPublic", "router"]

router = APIRouter(tags=["keys"], dependencies=[Depends(require_scope("admin"))])

_ERRORS = problem_responses(401, 403, 404, 422)


class ApiKeyCreate(BaseModel):
    """A new key: its name and scope (``admin`` implies ``trade`` implies ``read``)."""

    name: str = Field(min_length=1, max_length=128, examples=["research-notebook"])
    scope: Literal["read", "trade", "admin"] = "read"


class ApiKeyPublic(BaseModel):
    """A key as listed: never the key itself."""

    id: str = Field(description="Public id of the key (the part after 'twsb_').")
    name: str
    scope: str = Field(description="Strongest scope granted (read, trade or admin).")
    scopes: list[str] = Field(description="Every scope the key holds, implied ones included.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    active: bool

    @classmethod
    def from_info(cls, info: ApiKeyInfo) -> ApiKeyPublic:
        """From the key store's :class:`ApiKeyInfo`."""
        return cls(
            id=info.id, name=info.name, scope=info.scope,
            scopes=sorted(info.principal().scopes, key=["read", "trade", "admin"].index),
            created_at=info.created_at, revoked_at=info.revoked_at,
            last_used_at=info.last_used_at, active=info.active,
        )


class ApiKeyCreatedPublic(ApiKeyPublic):
    """A key just created, with the key: shown this once, store it now."""

    key: str = Field(description="The API key. It is not stored and cannot be shown again.")


KeyIdPath = Annotated[str, Path(description="The key's id (see GET /keys).", max_length=32)]


@router.get("/keys", summary="API keys (never the keys themselves)", responses=_ERRORS)
async def list_keys(request: Request, include_revoked: bool = True) -> list[ApiKeyPublic]:
    """Every API key: id, name, scope, created / revoked / last used."""
    infos = await key_store(request).list(include_revoked=include_revoked)
    return [ApiKeyPublic.from_info(i) for i in infos]


@router.post("/keys", status_code=201, summary="Create an API key", responses=_ERRORS)
async def create_key(body: ApiKeyCreate, request: Request,
                     response: Response) -> ApiKeyCreatedPublic:
    """A new key; the answer holds the key, which is not shown again."""
    created = await key_store(request).create(body.name, body.scope)
    response.headers["Location"] = f"/keys/{created.info.id}"
    public = ApiKeyPublic.from_info(created.info)
    return ApiKeyCreatedPublic(**public.model_dump(), key=created.key)


@router.delete("/keys/{keyId}", summary="Revoke an API key", responses=_ERRORS)
async def revoke_key(keyId: KeyIdPath, request: Request) -> ApiKeyPublic:
    """Revoke the key at once, for every face (its row stays, with ``revoked_at``): its open
    WebSockets close with 4401, its SSE streams end with an ``error`` event and its MCP
    sessions end, now (another service on the same database: within its
    ``key_poll_interval``). Revoking the key making the request is allowed (it stops
    working afterwards)."""
    info = await key_store(request).revoke(keyId)
    if info is None:
        raise ProblemError(None, f"no API key {keyId}", status=404, title="Not Found")
    return ApiKeyPublic.from_info(info)
