"""API keys: generated, hashed, stored in the service's database, verified.

A key reads ``twsb_<id>_<secret>``: ``id`` is 12 hex digits (public: listed,
logged, used to revoke), ``secret`` 32 random bytes, base64url. The database
keeps the key's SHA-256 (hex), never the key: for a high-entropy random key a
fast hash is as safe as a slow one (nothing to brute-force), and the ``id``
finds the row without scanning. Verification compares in constant time.

The table (``api_keys``, Alembic migration 0002) lives in the journal's
database, so ``--journal-url`` / ``TWSBRIDGE_JOURNAL_URL`` selects both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..journal.database import async_url, create_engine, redact, upgrade
from ..journal.models import ApiKeyRecord
from .principal import SCOPES, Principal, implied_scopes, normalize_scope

__all__ = [
    "KEY_PREFIX",
    "ApiKeyInfo",
    "CreatedKey",
    "KeyStore",
    "generate_key",
    "hash_key",
    "key_id_of",
    "open_key_store",
]

KEY_PREFIX = "twsb_"
_KEY = re.compile(r"^twsb_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
TOUCH_INTERVAL = dt.timedelta(seconds=60)
"""``last_used_at`` is written at most this often per key (not on every request)."""
VERIFY_TTL = 1.0
"""Seconds a verified key is trusted without reading the database again (HTTP requests
only: every action on an open socket reads it, see :mod:`.sessions`). This process's
own revocations drop it at once; another process's take effect within this time, as
the revocation watcher's poll does for open sockets."""
VERIFY_CACHE_MAX = 4096
"""Verified keys remembered at most (the cache is emptied when it is full)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def generate_key() -> tuple[str, str]:
    """A new ``(key_id, key)``."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    """The id inside ``key``, ``None`` when ``key`` is not shaped like a twsbridge key."""
    match = _KEY.match(key.strip())
    return match.group(1) if match else None


def hash_key(key: str) -> str:
    """SHA-256 of ``key``, hex (what the database stores)."""
    return hashlib.sha256(key.strip().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A stored key, without its secret."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def scope(self) -> str:
        """The strongest scope granted."""
        return max(self.scopes, key=SCOPES.index) if self.scopes else ""

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None

    def principal(self) -> Principal:
        """The :class:`Principal` this key authenticates as."""
        return Principal(self.id, self.name, implied_scopes(self.scopes))


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A key just created: ``key`` is shown once and never stored."""

    info: ApiKeyInfo
    key: str


def _info(row: ApiKeyRecord) -> ApiKeyInfo:
    scopes = tuple(s for s in row.scopes.split() if s in SCOPES)
    return ApiKeyInfo(row.id, row.name, scopes, row.created_at, row.revoked_at, row.last_used_at)


class KeyStore:
    """Create, list, revoke and verify API keys in the database behind ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._touched: dict[str, dt.datetime] = {}
        self._verified: dict[str, tuple[float, ApiKeyInfo]] = {}
        """hash of a key -> (monotonic expiry, the key's info), for :meth:`verify`."""
        self.on_revoke: list[Callable[[str], object]] = []
        """Called with the key id after :meth:`revoke` committed (this process's own
        revocations take effect at once; others are found by polling, see
        :mod:`.sessions`)."""

    def _session(self) -> AsyncSession:
        return self._sessions()

    async def create(self, name: str, scopes: str | Iterable[str]) -> CreatedKey:
        """A new key named ``name`` holding ``scopes`` (``"trade"`` or several).

        Raises:
            ValueError: an empty name or an unknown scope.
        """
        name = name.strip()
        if not name or len(name) > 128:
            raise ValueError("a key needs a name of 1 to 128 characters")
        wanted = [scopes] if isinstance(scopes, str) else list(scopes)
        granted = sorted({normalize_scope(s) for s in wanted}, key=SCOPES.index)
        if not granted:
            raise ValueError(f"give a scope: one of {', '.join(SCOPES)}")
        key_id, key = generate_key()
        row = ApiKeyRecord(id=key_id, name=name, hash=hash_key(key), scopes=" ".join(granted),
                           created_at=_now(), revoked_at=None, last_used_at=None)
        async with self._session() as session, session.begin():
            session.add(row)
        return CreatedKey(_info(row), key)

    async def list(self, include_revoked: bool = True) -> list[ApiKeyInfo]:
        """Every key, oldest first (the revoked ones too unless told otherwise)."""
        query = select(ApiKeyRecord).order_by(ApiKeyRecord.created_at, ApiKeyRecord.id)
        if not include_revoked:
            query = query.where(ApiKeyRecord.revoked_at.is_(None))
        async with self._session() as session:
            return [_info(row) for row in (await session.scalars(query)).all()]

    async def get(self, key_id: str) -> ApiKeyInfo | None:
        """The key with id ``key_id``."""
        async with self._session() as session:
            row = await session.get(ApiKeyRecord, key_id.strip())
            return None if row is None else _info(row)

    async def revoke(self, key_id: str) -> ApiKeyInfo | None:
        """Revoke ``key_id`` (at once, for every face); ``None`` when there is no such key.
        Revoking twice keeps the first revocation time."""
        async with self._session() as session, session.begin():
            row = await session.get(ApiKeyRecord, key_id.strip())
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = _now()
            info = _info(row)
        self.forget(info.id)
        for listener in list(self.on_revoke):
            listener(info.id)
        return info

    async def revoked_among(self, key_ids: Iterable[str]) -> set[str]:
        """Those of ``key_ids`` that are revoked or no longer exist, in one query
        (the revocation watcher polls this for the keys of open sessions)."""
        wanted = set(key_ids)
        if not wanted:
            return set()
        query = select(ApiKeyRecord.id).where(ApiKeyRecord.id.in_(wanted),
                                              ApiKeyRecord.revoked_at.is_(None))
        async with self._session() as session:
            active = set((await session.scalars(query)).all())
        return wanted - active

    async def verify(self, key: str) -> ApiKeyInfo | None:
        """The active key ``key`` is, or ``None`` (unknown, malformed or revoked).

        A key verified in the last :data:`VERIFY_TTL` seconds is answered from memory
        (only active keys are remembered, keyed by their SHA-256)."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        digest = hash_key(key)
        now = time.monotonic()
        hit = self._verified.get(digest)
        if hit is not None and hit[0] > now and hit[1].id == key_id:
            return hit[1]
        async with self._session() as session:
            row = await session.get(ApiKeyRecord, key_id)
            if row is None or not hmac.compare_digest(row.hash, digest):
                return None
            if row.revoked_at is not None:
                self._verified.pop(digest, None)
                return None
            info = _info(row)
        if len(self._verified) >= VERIFY_CACHE_MAX:
            self._verified.clear()
        self._verified[digest] = (now + VERIFY_TTL, info)
        await self._touch(key_id)
        return info

    def forget(self, key_id: str) -> None:
        """Drop ``key_id`` from the verified-key cache (its next use reads the database)."""
        for digest, (_, info) in list(self._verified.items()):
            if info.id == key_id:
                del self._verified[digest]

    async def _touch(self, key_id: str) -> None:
        now = _now()
        last = self._touched.get(key_id)
        if last is not None and now - last < TOUCH_INTERVAL:
            return
        self._touched[key_id] = now
        async with self._session() as session, session.begin():
            await session.execute(
                update(ApiKeyRecord).where(ApiKeyRecord.id == key_id).values(last_used_at=now)
            )


@asynccontextmanager
async def open_key_store(journal_url: str | None) -> AsyncIterator[KeyStore]:
    """A :class:`KeyStore` on the database at ``journal_url`` (migrated first), for the CLI."""
    url = async_url(journal_url)
    engine = create_engine(url)
    try:
        try:
            await upgrade(engine)
        except Exception as exc:
            raise RuntimeError(f"cannot open the database at {redact(url)}: {exc}") from exc
        yield KeyStore(engine)
    finally:
        await engine.dispose()
