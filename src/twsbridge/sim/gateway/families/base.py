"""What a family of requests is, and what it may use of its session.

A *family* is the simulator's side of one group of TWS requests (market data,
historical data, orders, ...): a :class:`Family` subclass whose methods marked
``@handles(SomeRequest)`` answer those requests, with the per-connection state
the family needs (its subscriptions), an optional :meth:`Family.poll` for
streaming output and :meth:`Family.close` for the end of the connection. A
:class:`~twsbridge.sim.gateway.session.SimSession` makes one instance of each
family in :data:`twsbridge.sim.gateway.families.FAMILIES` and dispatches every
request to the family that handles its type: adding a family is adding a module
and naming its class there; the session does not change.

Families reach the session only through :class:`SessionContext`, which keeps
them free of the session module (no import circle).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from twsbridge.protocol.spec import Message

if TYPE_CHECKING:
    from twsbridge.sim.gateway.account_feed import AccountFeeds
    from twsbridge.sim.gateway.guard import SessionGuard
    from twsbridge.sim.gateway.order_feed import OrderFeed
    from twsbridge.sim.gateway.pnl_feed import PnLFeeds
    from twsbridge.sim.market.streams import BarStream, MktDataStream, RealTimeBarStream
    from twsbridge.sim.reference.instruments import Instrument
    from twsbridge.sim.simulator import Simulator

__all__ = ["Family", "SessionContext", "handles"]

F = TypeVar("F", bound=Callable[..., Any])


class SessionContext(Protocol):
    """What a family may use of the session it serves (a
    :class:`~twsbridge.sim.gateway.session.SimSession`).

    ``mkt`` and ``bars`` are the connection's market data lines and streamed
    bar requests; the session's guard (faults and limits) watches them too.
    """

    sim: Simulator
    feeds: AccountFeeds
    orders: OrderFeed
    pnl: PnLFeeds
    guard: SessionGuard
    mkt: dict[int, MktDataStream]
    bars: dict[int, BarStream | RealTimeBarStream]
    md_type: int

    @property
    def client_id(self) -> int | None:
        """The client id of an accepted startApi (None before)."""
        ...

    @property
    def server_version(self) -> int:
        """The negotiated server version (0 before the handshake)."""
        ...

    @property
    def api_client(self) -> int:
        """The client id orders are placed under (-1 before startApi)."""
        ...

    def accept_client(self, client_id: int) -> None:
        """Record the client id of an accepted startApi."""
        ...

    def slot_free(self) -> bool:
        """Whether an API client slot is free (the server's limit)."""
        ...

    def now(self) -> dt.datetime:
        """The simulated time."""
        ...

    def emit(self, msgs: list[Message] | None) -> None:
        """Queue messages for the client."""
        ...

    def error(self, req_id: int, code: int, text: str) -> None:
        """Queue an error message (id 4)."""
        ...

    def close(self, reason: str = "closed") -> None:
        """End the session."""
        ...

    def single(self, req_id: int, contract: Any) -> Instrument | None:
        """The one instrument a request's contract designates; else error 200
        (no security definition, or ambiguous) and None."""
        ...


def handles(*types: type[Message]) -> Callable[[F], F]:
    """Mark a :class:`Family` method as the handler of these request types."""
    def mark(fn: F) -> F:
        fn.__dict__.setdefault("_tws_handles", ())
        fn.__dict__["_tws_handles"] += types
        return fn
    return mark


class Family:
    """One family of requests served on one connection (see the module doc).

    Subclasses mark handler methods with :func:`handles`; each takes the
    decoded request. ``HANDLES`` (computed per class) maps request types to
    method names.
    """

    HANDLES: ClassVar[dict[type[Message], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type[Message], str] = {}
        for klass in reversed(cls.__mro__):
            for name, fn in vars(klass).items():
                for t in getattr(fn, "_tws_handles", ()):
                    table[t] = name
        cls.HANDLES = table

    def __init__(self, ctx: SessionContext) -> None:
        self.ctx = ctx

    def handlers(self) -> Iterator[tuple[type[Message], Callable[[Any], object]]]:
        """(request type, bound handler) for every request this family handles."""
        for t, name in self.HANDLES.items():
            yield t, getattr(self, name)

    def poll(self, now: dt.datetime) -> list[Message]:
        """Streaming output due at ``now`` (default: none)."""
        return []

    def close(self) -> None:
        """The connection ended: drop this family's subscriptions (default: nothing)."""
