"""One client connection of the simulated TWS, without I/O.

:class:`SimSession` wraps a :class:`~twsbridge.protocol.ServerConnection`:
bytes read from the socket go into :meth:`SimSession.receive_data`, which
returns the bytes to write back (handshake answer, answers to requests);
:meth:`SimSession.poll` returns the streaming output that is due at a
simulated time (order updates and fills of the shared broker, market data
ticks, live bars, periodic account updates, P&L).
So a test can wire a :class:`~twsbridge.protocol.ClientConnection` to a
session with no socket at all, and the asyncio server only moves bytes.

The answers follow TWS (server versions 157-178): the recording
``tws-recording-v176.json`` gives the shapes, order and end markers. Order
requests go to the simulator's :class:`~twsbridge.sim.broker.broker.Broker`; the
session's :class:`~twsbridge.sim.gateway.order_feed.OrderFeed` turns the broker's
events it may see into messages.

The requests themselves are answered by the families of
:mod:`twsbridge.sim.gateway.families` (one module per family: connection,
contracts, market data, history, account, orders, P&L, ...): the session
makes one instance of each, dispatches every request to the family that
handles its type (503 when none does) and polls each for streaming output.
It is the families' :class:`~twsbridge.sim.gateway.families.base.SessionContext`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from twsbridge.protocol import ProtocolError, ServerConnection
from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.catalogue.generic import Unknown
from twsbridge.protocol.connection import ClientHello, ConnectionClosed
from twsbridge.protocol.spec import Message
from twsbridge.protocol.versions import CLIENT_MAX_VERSION, CLIENT_MIN_VERSION
from twsbridge.sim.gateway.account_feed import AccountFeeds
from twsbridge.sim.gateway.families import FAMILIES, Family
from twsbridge.sim.gateway.families.connection import FARM_NOTICES
from twsbridge.sim.gateway.guard import SessionGuard
from twsbridge.sim.gateway.order_feed import OrderFeed
from twsbridge.sim.gateway.pnl_feed import PnLFeeds
from twsbridge.sim.gateway.requests import request_name, request_req_id
from twsbridge.sim.market.streams import BarStream, MktDataStream, RealTimeBarStream
from twsbridge.sim.reference.details import NO_SECURITY_DEFINITION, resolve
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    from twsbridge.sim.simulator import Simulator

__all__ = ["FARM_NOTICES", "SimSession"]

log = logging.getLogger("twsbridge.sim")

READ_ERROR = 320  # "Server error when reading an API client request."
NOT_SUPPORTED = 503  # TWS's "out of date" code: a request this TWS cannot serve


class SimSession:
    """The protocol logic of one client connection (I/O-free).

    Args:
        simulator: the shared state (instruments, prices, clock, account,
            connected client ids).
        min_version, max_version: the server versions this session serves;
            a client whose range does not meet them is refused by closing.
        slot_free: asked at startApi whether an API client slot is free
            (the server's ``max_clients``); False closes the session, as TWS
            closes a client beyond its limit. None: always free.
        families: the request families served
            (:data:`~twsbridge.sim.gateway.families.FAMILIES`).

    Raises:
        TypeError: two families handle the same request type.

    Attributes:
        closed: True once the session ended; the caller then closes the socket.
        close_reason: why it closed (``None`` while open).
    """

    def __init__(
        self,
        simulator: Simulator,
        *,
        min_version: int = CLIENT_MIN_VERSION,
        max_version: int = CLIENT_MAX_VERSION,
        slot_free: Callable[[], bool] | None = None,
        families: Sequence[type[Family]] = FAMILIES,
    ) -> None:
        self.sim = simulator
        self._slot_free = slot_free
        self.conn = ServerConnection(min_version, max_version)
        self.closed = False
        self.close_reason: str | None = None
        self._client_id: int | None = None
        #: the market data type of new lines (reqMarketDataType: 1 live .. 4 delayed frozen)
        self.md_type = 1
        #: the market data lines and the streamed bar requests (keepUpToDate, real-time bars)
        self.mkt: dict[int, MktDataStream] = {}
        self.bars: dict[int, BarStream | RealTimeBarStream] = {}
        self.feeds = AccountFeeds(simulator)
        self.orders = OrderFeed(simulator, self.feeds, self.emit)
        self.pnl = PnLFeeds(simulator)
        self._out: list[bytes] = []
        self.guard = SessionGuard(simulator.faults, error=self.error, handle=self._dispatch,
                                  close=self.close, is_open=lambda: not self.closed,
                                  mkt=self.mkt, bars=self.bars)
        self.families = [family(self) for family in families]
        self._handlers: dict[type[Message], Callable[[Any], object]] = {}
        for fam in self.families:
            for msg_type, handler in fam.handlers():
                if msg_type in self._handlers:
                    raise TypeError(f"{msg_type.__name__} is handled by two families")
                self._handlers[msg_type] = handler

    # ------------------------------------------------------------ public
    @property
    def client_id(self) -> int | None:
        """The client id of an accepted startApi (None before, or when refused)."""
        return self._client_id

    @property
    def api_client(self) -> int:
        """The client id orders are placed under (-1 before startApi)."""
        return self._client_id if self._client_id is not None else -1

    @property
    def server_version(self) -> int:
        """The negotiated server version (0 before the handshake)."""
        return self.conn.server_version

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes read from the socket (``b""``: the peer closed); returns
        the bytes to write back, possibly empty. After a malformed request the
        answer ends with an error frame (code 320) and the session is closed.
        Never raises: an unexpected exception (a bug of the simulator) is logged
        and ends this session only, with error 320, as a malformed request does."""
        if self.closed:
            return b""
        try:
            self._receive(data)
        except Exception as e:
            self._internal_error("receive_data", e)
        return self._flush()

    def _internal_error(self, where: str, e: Exception) -> None:
        """The last line of defence: log the bug, close this session with 320."""
        log.exception("client %s: internal error in %s, closing", self._client_id, where)
        if not self.closed:
            if self.conn.capabilities is not None:
                self.error(-1, READ_ERROR, f"Error reading request: internal error ({e!r})"[:500])
            self.close(f"internal error: {e!r}")

    def _receive(self, data: bytes) -> None:
        error: ProtocolError | None = None
        try:
            self.conn.receive_data(data)
        except ProtocolError as e:
            error = e
        try:
            self._drain()
        except ProtocolError as e:
            error = error or e
        if error is not None and not self.closed:
            log.warning("client %s: bad request, closing: %s", self._client_id, error)
            if self.conn.capabilities is not None:
                self.error(-1, READ_ERROR, f"Error reading request: {error}")
            self.close(f"protocol error: {error}")

    def poll(self, now: dt.datetime | None = None) -> bytes:
        """Streaming output due at simulated time ``now`` (default the simulator
        clock): the broker's order updates and fills (it works the orders up to
        ``now`` first), changed market data ticks (about 4 per second per
        request), historicalDataUpdate every ~5 s per keepUpToDate request, a
        realtimeBar per 5 s per reqRealTimeBars, the
        periodic account updates of active subscriptions and pnl/pnlSingle.
        Requests paced by ``+PACEAPI`` are processed first, as the rate allows;
        market data waits while a fault stops it (:mod:`twsbridge.sim.faults.injector`).
        Never raises (see :meth:`receive_data`)."""
        if self.closed:
            return b""
        try:
            self._poll(now)
        except Exception as e:
            self._internal_error("poll", e)
        return self._flush()

    def _poll(self, now: dt.datetime | None) -> None:
        self.guard.drain()
        if self.closed or self._client_id is None:
            return
        t = now if now is not None else self.now()
        self.sim.broker.step(t)
        self.emit(self.guard.market_data(t))  # the lines and streamed bars, as faults allow
        for fam in self.families:
            self.emit(fam.poll(t))

    def take_output(self) -> bytes:
        """The output queued outside :meth:`receive_data` and :meth:`poll` (fault
        notices), emptying the queue."""
        return self._flush()

    def close(self, reason: str = "closed") -> None:
        """End the session (idempotent) and free its client id."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.mkt.clear()
        self.bars.clear()
        for fam in self.families:
            fam.close()
        self.orders.detach()
        if self._client_id is not None:
            self.sim.release_client_id(self._client_id, self)
        log.info("client %s: session closed (%s)", self._client_id, reason)

    # ---------------------------------------------------------- plumbing
    def now(self) -> dt.datetime:
        """The simulated time."""
        return self.sim.clock.now()

    def accept_client(self, client_id: int) -> None:
        """Record the client id of an accepted startApi."""
        self._client_id = client_id
        log.info("client %s connected (server version %s)", client_id, self.server_version)

    def slot_free(self) -> bool:
        """Whether an API client slot is free (always, without a server limit)."""
        return self._slot_free is None or self._slot_free()

    def emit(self, msgs: list[Message] | None) -> None:
        """Queue messages for the client."""
        if msgs:
            self._out.extend(self.conn.send(m) for m in msgs)

    def _flush(self) -> bytes:
        data = b"".join(self._out)
        self._out.clear()
        return data

    def error(self, req_id: int, code: int, text: str) -> None:
        """Queue an error message (id 4)."""
        self.emit([incoming.ErrorMessage(reqId=req_id, errorCode=code, errorString=text)])

    def _drain(self) -> None:
        for ev in self.conn.events():
            if self.closed:
                return
            if isinstance(ev, ClientHello):
                self._hello(ev)
            elif isinstance(ev, ConnectionClosed):
                self.close("peer closed the connection")
            elif isinstance(ev, Unknown | Message):
                if isinstance(ev, Unknown) and ev.ID < 0:  # not an int (as TWS reads ids)
                    raise ProtocolError(f"bad message id {ev.msgId[:20]!r}",
                                        msg_id=ev.msgId[:20])
                if self.guard.admit(ev):  # the message rate limit
                    self._dispatch(ev)

    def _hello(self, hello: ClientHello) -> None:
        self.guard.hello(hello.connectOptions)
        answer = self.conn.accept(self.sim.clock.tws_time_string())
        if answer is None:
            self.close(f"client version range v{hello.minVersion}..{hello.maxVersion} "
                       f"not served (server {self.conn.min_version}..{self.conn.max_version})")
            return
        self._out.append(answer)

    def _dispatch(self, msg: Message | Unknown) -> None:
        handler = None if isinstance(msg, Unknown) else self._handlers.get(type(msg))
        if handler is None:
            name = request_name(msg.ID) if isinstance(msg, Unknown) else msg.NAME
            req_id = request_req_id(msg.ID, msg.fields) if isinstance(msg, Unknown) \
                else getattr(msg, "reqId", -1)
            log.info("client %s: unsupported request %s (id %s)", self._client_id, name, msg.ID)
            self.error(req_id, NOT_SUPPORTED, f"The TWS is out of date and must be upgraded. "
                        f"(simulator: {name}, message id {msg.ID}, is not implemented)")
            return
        try:
            handler(msg)
        except Exception as e:  # one bad request must not end the session
            log.exception("client %s: %s failed", self._client_id, msg.NAME)
            self.error(getattr(msg, "reqId", -1), 322,
                        f"Error processing request.-'sim' : cause - {e!r}")

    def single(self, req_id: int, contract: Any) -> Instrument | None:
        """The one instrument a request designates, else error 200 and None."""
        insts = resolve(self.sim.book, contract)
        if len(insts) == 1:
            return insts[0]
        if not insts:
            self.error(req_id, 200, NO_SECURITY_DEFINITION)
        else:
            self.error(req_id, 200, f"The contract description specified for "
                                     f"{contract.symbol or contract.localSymbol} is ambiguous.")
        return None
