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
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twsbridge.protocol import ProtocolError, ServerConnection
from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.protocol.catalogue.generic import Unknown
from twsbridge.protocol.connection import ClientHello, ConnectionClosed
from twsbridge.protocol.spec import Message
from twsbridge.protocol.versions import CLIENT_MAX_VERSION, CLIENT_MIN_VERSION
from twsbridge.sim.gateway.account_feed import AccountFeeds
from twsbridge.sim.gateway.guard import Line, SessionGuard
from twsbridge.sim.gateway.order_feed import OrderFeed
from twsbridge.sim.gateway.pnl_feed import PnLFeeds
from twsbridge.sim.gateway.requests import request_name, request_req_id
from twsbridge.sim.market.history import (
    HistoryError,
    format_bar_time,
    head_timestamp,
    historical_bars,
)
from twsbridge.sim.market.streams import (
    REALTIME_BAR_SECONDS,
    BarStream,
    MktDataStream,
    RealTimeBarStream,
    to_bar_data,
)
from twsbridge.sim.reference.details import (
    NO_SECURITY_DEFINITION,
    contract_description,
    contract_details,
    resolve,
)
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    from twsbridge.sim.simulator import Simulator

__all__ = ["FARM_NOTICES", "SimSession"]

log = logging.getLogger("twsbridge.sim")

#: Notices TWS sends after startApi (error frames with reqId -1).
FARM_NOTICES: tuple[tuple[int, str], ...] = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
CLIENT_ID_IN_USE = (326, "Unable to connect as the client id is already in use. "
                         "Retry with a unique client id.")
DUPLICATE_TICKER = "Error processing request.-'bT' : cause - Duplicate ticker id"
READ_ERROR = 320  # "Server error when reading an API client request."
NOT_SUPPORTED = 503  # TWS's "out of date" code: a request this TWS cannot serve
AUTO_BIND_CLIENT_0 = ("Error validating request.-'bJ' : cause - The API client is not "
                      "allowed to auto-bind orders: it must use client id 0")
LIVE_UPDATES_END = ("Error validating request.-'bP' : cause - End date not supported "
                    "with live updates")


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
    ) -> None:
        self.sim = simulator
        self._slot_free = slot_free
        self.conn = ServerConnection(min_version, max_version)
        self.closed = False
        self.close_reason: str | None = None
        self._client_id: int | None = None
        self._md_type = 1
        self._mkt: dict[int, MktDataStream] = {}
        self._bars: dict[int, BarStream | RealTimeBarStream] = {}
        self.feeds = AccountFeeds(simulator)
        self.orders = OrderFeed(simulator, self.feeds, self._emit)
        self.pnl = PnLFeeds(simulator)
        self._out: list[bytes] = []
        self.guard = SessionGuard(simulator.faults, error=self._error, handle=self._dispatch,
                                  close=self.close, is_open=lambda: not self.closed,
                                  mkt=self._mkt, bars=self._bars)
        self._handlers: dict[type[Message], Callable[[Any], object]] = {
            outgoing.StartApi: self._start_api,
            outgoing.ReqIds: self._req_ids,
            outgoing.ReqCurrentTime: self._req_current_time,
            outgoing.ReqContractDetails: self._req_contract_details,
            outgoing.ReqMatchingSymbols: self._req_matching_symbols,
            outgoing.ReqMarketDataType: self._req_market_data_type,
            outgoing.ReqMktData: self._req_mkt_data,
            outgoing.CancelMktData: lambda m: self._mkt.pop(m.reqId, None),
            outgoing.ReqHistoricalData: self._req_historical_data,
            outgoing.CancelHistoricalData: lambda m: self.guard.cancel_historical(m.reqId),
            outgoing.ReqHeadTimeStamp: self._req_head_timestamp,
            outgoing.ReqRealTimeBars: self._req_real_time_bars,
            outgoing.CancelRealTimeBars: lambda m: self._bars.pop(m.reqId, None),
            outgoing.CancelHeadTimeStamp: lambda m: None,  # answered at once: nothing to stop
            outgoing.ReqPositions: lambda m: self._emit(self.feeds.req_positions()),
            outgoing.CancelPositions: lambda m: self.feeds.cancel_positions(),
            outgoing.ReqAccountUpdates: self._req_account_updates,
            outgoing.ReqAccountSummary: lambda m: self._emit(self.feeds.req_account_summary(
                m.reqId, m.groupName, m.tags, self._now())),
            outgoing.CancelAccountSummary: lambda m: self.feeds.cancel_summary(m.reqId),
            outgoing.ReqAccountUpdatesMulti: lambda m: self._emit(
                self.feeds.req_account_updates_multi(
                    m.reqId, m.account, m.modelCode, m.ledgerAndNLV, self._now())),
            outgoing.CancelAccountUpdatesMulti: lambda m: self.feeds.cancel_multi(m.reqId),
            outgoing.ReqOpenOrders: lambda m: self._emit(self.orders.open_orders()),
            outgoing.ReqAllOpenOrders: lambda m: self._emit(
                self.orders.open_orders(all_clients=True)),
            outgoing.ReqAutoOpenOrders: self._req_auto_open_orders,
            outgoing.ReqCompletedOrders: lambda m: self._emit(
                self.orders.completed_orders(m.apiOnly, self._now())),
            outgoing.ReqExecutions: lambda m: self._emit(
                self.orders.executions(m.reqId, m.execFilter, self._now())),
            outgoing.PlaceOrder: lambda m: self.sim.broker.place(
                self._api_client, m.orderId, m.contract, m.order),
            outgoing.CancelOrder: lambda m: self.sim.broker.cancel(self._api_client, m.orderId),
            outgoing.ReqGlobalCancel: lambda m: self.sim.broker.global_cancel(self._api_client),
            outgoing.ReqPnL: lambda m: self._emit(self.pnl.req_pnl(m.reqId, self._now())),
            outgoing.CancelPnL: lambda m: self.pnl.cancel(m.reqId),
            outgoing.ReqPnLSingle: lambda m: self._emit(
                self.pnl.req_pnl_single(m.reqId, m.conId, self._now())),
            outgoing.CancelPnLSingle: lambda m: self.pnl.cancel(m.reqId),
        }

    # ------------------------------------------------------------ public
    @property
    def client_id(self) -> int | None:
        """The client id of an accepted startApi (None before, or when refused)."""
        return self._client_id

    @property
    def _api_client(self) -> int:
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
                self._error(-1, READ_ERROR, f"Error reading request: internal error ({e!r})"[:500])
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
                self._error(-1, READ_ERROR, f"Error reading request: {error}")
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
        t = now if now is not None else self._now()
        self.sim.broker.step(t)
        self._emit(self.guard.market_data(t))
        self._emit(self.feeds.poll(t))
        self._emit(self.pnl.poll(t))

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
        self._mkt.clear()
        self._bars.clear()
        self.orders.detach()
        if self._client_id is not None:
            self.sim.release_client_id(self._client_id, self)
        log.info("client %s: session closed (%s)", self._client_id, reason)

    # ---------------------------------------------------------- plumbing
    def _now(self) -> dt.datetime:
        return self.sim.clock.now()

    def _emit(self, msgs: list[Message] | None) -> None:
        if msgs:
            self._out.extend(self.conn.send(m) for m in msgs)

    def _flush(self) -> bytes:
        data = b"".join(self._out)
        self._out.clear()
        return data

    def _error(self, req_id: int, code: int, text: str) -> None:
        self._emit([incoming.ErrorMessage(reqId=req_id, errorCode=code, errorString=text)])

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
            self._error(req_id, NOT_SUPPORTED, f"The TWS is out of date and must be upgraded. "
                        f"(simulator: {name}, message id {msg.ID}, is not implemented)")
            return
        try:
            handler(msg)
        except Exception as e:  # one bad request must not end the session
            log.exception("client %s: %s failed", self._client_id, msg.NAME)
            self._error(getattr(msg, "reqId", -1), 322,
                        f"Error processing request.-'sim' : cause - {e!r}")

    def _single(self, req_id: int, contract: Any) -> Instrument | None:
        """The one instrument a request designates, else error 200 and None."""
        insts = resolve(self.sim.book, contract)
        if len(insts) == 1:
            return insts[0]
        if not insts:
            self._error(req_id, 200, NO_SECURITY_DEFINITION)
        else:
            self._error(req_id, 200, f"The contract description specified for "
                                     f"{contract.symbol or contract.localSymbol} is ambiguous.")
        return None

    # ---------------------------------------------------------- handlers
    def _start_api(self, msg: outgoing.StartApi) -> None:
        if self._client_id is not None:
            self._error(-1, 321, "Error validating request.-'71' : cause - "
                                 "startApi was already received")
            return
        if self._slot_free is not None and not self._slot_free():
            self.close(f"no API client slot free for client id {msg.clientId}")
            return
        if not self.sim.claim_client_id(msg.clientId, self):
            code, text = CLIENT_ID_IN_USE
            self._error(-1, code, text)
            self.close(f"client id {msg.clientId} already in use")
            return
        self._client_id = msg.clientId
        log.info("client %s connected (server version %s)", msg.clientId, self.server_version)
        self.orders.attach(msg.clientId)
        self._emit(self.orders.connect_orders())
        self._emit([
            incoming.ManagedAccounts(accountsList=self.sim.account.code),
            incoming.NextValidId(orderId=self.sim.next_order_id),
        ])
        for code, text in FARM_NOTICES:
            self._error(-1, code, text)
        self.guard.connect_notices()

    def _req_ids(self, msg: outgoing.ReqIds) -> None:
        self._emit([incoming.NextValidId(orderId=self.sim.next_order_id)])

    def _req_current_time(self, msg: outgoing.ReqCurrentTime) -> None:
        self._emit([incoming.CurrentTime(time=self.sim.clock.epoch())])

    def _req_contract_details(self, msg: outgoing.ReqContractDetails) -> None:
        insts = resolve(self.sim.book, msg.contract)
        if not insts:
            self._error(msg.reqId, 200, NO_SECURITY_DEFINITION)
            return
        today = self._now().date()
        self._emit([incoming.ContractData(
            reqId=msg.reqId, contractDetails=contract_details(i, today, msg.contract.exchange))
            for i in insts])
        self._emit([incoming.ContractDataEnd(reqId=msg.reqId)])

    def _req_matching_symbols(self, msg: outgoing.ReqMatchingSymbols) -> None:
        found = self.sim.book.search(msg.pattern, 16)
        self._emit([incoming.SymbolSamples(
            reqId=msg.reqId, contractDescriptions=[contract_description(i) for i in found])])

    def _req_market_data_type(self, msg: outgoing.ReqMarketDataType) -> None:
        if msg.marketDataType not in (1, 2, 3, 4):
            self._error(-1, 321, f"Error validating request.-'bS' : cause - Invalid market "
                                 f"data type {msg.marketDataType}")
            return
        self._md_type = msg.marketDataType

    def _req_mkt_data(self, msg: outgoing.ReqMktData) -> None:
        if msg.reqId in self._mkt:
            self._error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        inst = self._single(msg.reqId, msg.contract)
        snapshot = msg.snapshot or msg.regulatorySnapshot
        line = Line.REFUSED if inst is None else self.guard.new_line(
            msg.reqId, self._md_type, snapshot)
        if inst is None or line is Line.REFUSED:
            return
        stream = MktDataStream(msg.reqId, inst, self.sim.prices, self._md_type, snapshot=snapshot)
        if line is Line.ANSWER:  # else its first tick set waits for the data (faults)
            self._emit(stream.first(self._now()))
        if not stream.snapshot:
            self._mkt[msg.reqId] = stream

    def _req_historical_data(self, msg: outgoing.ReqHistoricalData) -> None:
        inst = self._single(msg.reqId, msg.contract)
        if inst is None:
            return
        if msg.keepUpToDate and msg.endDateTime.strip():
            self._error(msg.reqId, 321, LIVE_UPDATES_END)
            return
        if self.guard.historical_refused(inst.conId, msg):  # pacing: 162 / 420
            return
        now = self._now()
        try:
            start, end, bars = historical_bars(
                self.sim.prices, inst.conId, now=now, endDateTime=msg.endDateTime,
                durationStr=msg.durationStr, barSizeSetting=msg.barSizeSetting,
                whatToShow=msg.whatToShow, useRTH=msg.useRTH)
        except HistoryError as e:
            self._error(msg.reqId, e.code, e.message)
            return
        self._emit([incoming.HistoricalData(
            reqId=msg.reqId, startDateStr=format_bar_time(start, 1),
            endDateStr=format_bar_time(end, 1),
            bars=[to_bar_data(b, msg.formatDate) for b in bars])])
        if msg.keepUpToDate:
            self._bars[msg.reqId] = BarStream(
                msg.reqId, inst.conId, self.sim.prices, msg.barSizeSetting, msg.whatToShow,
                msg.useRTH, msg.formatDate, next_due=now + dt.timedelta(seconds=5))

    def _req_real_time_bars(self, msg: outgoing.ReqRealTimeBars) -> None:
        inst = self._single(msg.reqId, msg.contract)
        if inst is None:
            return
        if msg.barSize != REALTIME_BAR_SECONDS:
            self._error(msg.reqId, 321, f"Error validating request.-'bL' : cause - Invalid "
                                        f"bar size {msg.barSize}: only 5 seconds bars are "
                                        f"supported")
            return
        if msg.whatToShow.upper() not in ("TRADES", "MIDPOINT", "BID", "ASK"):
            self._error(msg.reqId, 321, f"Error validating request.-'bL' : cause - Invalid "
                                        f"whatToShow {msg.whatToShow}")
            return
        if msg.reqId in self._bars:
            self._error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        now = int(self._now().timestamp())
        self._bars[msg.reqId] = RealTimeBarStream(
            msg.reqId, inst.conId, self.sim.prices, msg.whatToShow,
            next_start=(now // REALTIME_BAR_SECONDS + 1) * REALTIME_BAR_SECONDS)

    def _req_head_timestamp(self, msg: outgoing.ReqHeadTimeStamp) -> None:
        inst = self._single(msg.reqId, msg.contract)
        if inst is None:
            return
        try:
            t = head_timestamp(self.sim.prices, inst.conId, msg.whatToShow, msg.useRTH)
        except HistoryError as e:
            self._error(msg.reqId, e.code, e.message)
            return
        if msg.formatDate == 2:
            text = str(int(t.timestamp()))
        else:
            text = t.astimezone(dt.UTC).strftime("%Y%m%d-%H:%M:%S")
        self._emit([incoming.HeadTimestamp(reqId=msg.reqId, headTimestamp=text)])

    def _req_account_updates(self, msg: outgoing.ReqAccountUpdates) -> None:
        code = self.sim.account.code
        if msg.acctCode and msg.acctCode != code:
            self._error(-1, 321, f"Error validating request.-'bB' : cause - "
                                 f"Invalid account code {msg.acctCode}")
            return
        self._emit(self.feeds.req_account_updates(msg.subscribe, self._now()))

    def _req_auto_open_orders(self, msg: outgoing.ReqAutoOpenOrders) -> None:
        if self._client_id != 0:
            self._error(-1, 321, AUTO_BIND_CLIENT_0)
            return
        self.orders.set_auto_bind(msg.bAutoBind)
