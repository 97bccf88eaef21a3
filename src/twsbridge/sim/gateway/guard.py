"""One connection's side of the simulator's faults and TWS limits (I/O-free).

:class:`SessionGuard` sits in every :class:`~twsbridge.sim.gateway.session.SimSession`:
it admits, drops or queues each incoming request (message rate, ``+PACEAPI``),
checks market-data lines (101, 10197) and historical-data pacing (162, 420,
366), and sends a session the notices of the injector's faults (1100, 1101,
1102, 10197). The fault state itself lives in the simulator's
:class:`~twsbridge.sim.faults.injector.FaultInjector`; the limits are the ones in force
there (its limit windows replace the normal limits while open).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from twsbridge.protocol.catalogue import outgoing
from twsbridge.protocol.catalogue.generic import Unknown
from twsbridge.protocol.spec import Message
from twsbridge.sim.faults.pacing import (
    HISTORICAL_PACING,
    MESSAGE_RATE,
    NO_HISTORICAL_QUERY,
    REALTIME_PACING,
    HistoricalRequest,
    MessageRateLimiter,
    RateVerdict,
)
from twsbridge.sim.gateway.requests import request_req_id
from twsbridge.sim.market.history import HistoryError, parse_bar_size
from twsbridge.sim.market.streams import BarStream, MktDataStream, RealTimeBarStream

if TYPE_CHECKING:
    from twsbridge.sim.faults.injector import FaultInjector

__all__ = [
    "COMPETING_SESSION",
    "CONNECTIVITY_LOST",
    "CONNECTIVITY_RESTORED_DATA_LOST",
    "CONNECTIVITY_RESTORED_DATA_MAINTAINED",
    "MAX_TICKERS",
    "PACE_API",
    "Line",
    "SessionGuard",
]

log = logging.getLogger("twsbridge.sim")

CONNECTIVITY_LOST = (1100, "Connectivity between IB and Trader Workstation has been lost.")
CONNECTIVITY_RESTORED_DATA_LOST = (
    1101, "Connectivity between IB and TWS has been restored- data lost.")
CONNECTIVITY_RESTORED_DATA_MAINTAINED = (
    1102, "Connectivity between IB and TWS has been restored- data maintained.")
COMPETING_SESSION = (10197, "No market data during competing live session")
MAX_TICKERS = (101, "Max number of tickers has been reached")
PACE_API = "+PACEAPI"
"""The connect option asking TWS to pace requests instead of refusing them."""
_LIVE_TYPES = (1, 2)  # market data types a competing live session stops

Request = Message | Unknown


class Line(enum.Enum):
    """What to do with a reqMktData."""

    ANSWER = "answer"  #: send the first tick set now
    SILENT = "silent"  #: keep the line, send its first set when data flows again
    REFUSED = "refused"  #: an error was sent; no line


class SessionGuard:
    """The limits and fault notices of one session.

    Args:
        sim: the simulator (its ``faults``).
        error: sends an error frame (reqId, code, text) to this client.
        handle: processes one admitted request.
        close: ends the session (a reason).
        is_open: True while the session is open.
        mkt, bars: the session's market data lines and keepUpToDate requests.
    """

    def __init__(self, faults: FaultInjector, *, error: Callable[[int, int, str], None],
                 handle: Callable[[Request], None], close: Callable[[str], None],
                 is_open: Callable[[], bool],
                 mkt: dict[int, MktDataStream],
                 bars: dict[int, BarStream | RealTimeBarStream]) -> None:
        self.faults = faults
        self._error = error
        self._handle = handle
        self._close = close
        self._is_open = is_open
        self._mkt = mkt
        self._bars = bars
        self.pace_api = False
        self.data_lost_count = 0  # 1101s sent: families drop their subscriptions at each
        self.rate = MessageRateLimiter()
        self.queue: deque[Request] = deque()
        #: called when connectivity returns with the data lost (1101), before the
        #: notice: families drop the subscriptions they keep themselves (depth)
        self.data_lost_hooks: list[Callable[[], None]] = []

    # ------------------------------------------------------ message rate
    def hello(self, connect_options: str) -> None:
        """Note the client's connect options (``+PACEAPI``)."""
        self.pace_api = PACE_API in connect_options.split()

    def admit(self, msg: Request) -> bool:
        """True: process ``msg`` now. False: it was queued (``+PACEAPI``),
        dropped with error 100, or the client was disconnected."""
        limit = self.faults.rate_limit_in_force
        now = self.faults.wall_clock()
        if self.pace_api:
            if not self.queue and (limit is None or self.rate.take(now, limit)):
                return True
            self.queue.append(msg)
            return False
        if limit is None:
            return True
        verdict = self.rate.check(now, limit)
        if verdict is RateVerdict.ACCEPT:
            return True
        if verdict is RateVerdict.WARN:
            log.warning("client message rate over %d/s: %s dropped", limit, msg.NAME)
            self._error(_req_id(msg), MESSAGE_RATE, self.rate.warning(limit))
        else:
            self._close(f"message rate over {limit}/s again after error 100")
        return False

    def drain(self) -> None:
        """Process the queued (paced) requests the rate now allows, in order."""
        while self.queue and self._is_open():
            limit = self.faults.rate_limit_in_force
            if limit is not None and not self.rate.take(self.faults.wall_clock(), limit):
                return
            self._handle(self.queue.popleft())

    # ------------------------------------------------------- market data
    def _streams(self, md_type: int) -> bool:
        f = self.faults
        return not f.connectivity_lost and not (f.competing and md_type in _LIVE_TYPES)

    def market_data(self, now: dt.datetime) -> list[Message]:
        """The due tick updates and keepUpToDate bars, as the faults let them
        flow: none during a connectivity loss, no live or frozen ticks during a
        competing session; a line opened meanwhile gets its first tick set."""
        out: list[Message] = []
        for line in list(self._mkt.values()):
            if self._streams(line.marketDataType):
                out += line.first(now) if line.next_due is None else line.update(now)
        if not self.faults.connectivity_lost:
            for bars in list(self._bars.values()):
                out += bars.update(now)
        return out

    def new_line(self, req_id: int, md_type: int, snapshot: bool) -> Line:
        """Whether a reqMktData gets a line: 101 past the line limit, 10197
        during a competing session, silent during a connectivity loss."""
        limit = self.faults.market_data_lines_in_force
        if limit is not None and len(self._mkt) >= limit:
            self._error(req_id, *MAX_TICKERS)
            return Line.REFUSED
        if self.faults.competing and md_type in _LIVE_TYPES:
            self._error(req_id, *COMPETING_SESSION)
            return Line.REFUSED if snapshot else Line.SILENT
        if not snapshot and not self._streams(md_type):
            return Line.SILENT
        return Line.ANSWER

    # --------------------------------------------------- historical data
    def historical_refused(self, con_id: int, msg: outgoing.ReqHistoricalData) -> bool:
        """Check IB's historical-data pacing; on a violation send 162 (420 for
        keepUpToDate) and return True. During a ``historical_pacing`` window
        every request is a violation."""
        f = self.faults
        if f.historical_pacing_forced:
            return self._paced(msg, "historical_pacing fault window")
        if not f.historical_pacing:
            return False
        try:
            bar_size = parse_bar_size(msg.barSizeSetting)
        except HistoryError:
            return False  # refused later with its own error
        limit = f.historical_pacing_max_bar_seconds
        if limit is not None and (not bar_size.intraday or bar_size.seconds > limit):
            return False
        req = HistoricalRequest(con_id, msg.contract.exchange.strip().upper(),
                                msg.endDateTime.strip(), msg.durationStr.strip().upper(),
                                bar_size.setting, msg.whatToShow.strip().upper(),
                                bool(msg.useRTH), bool(msg.keepUpToDate))
        rule = f.history.violation(f.wall_clock(), req)
        return rule is not None and self._paced(msg, rule)

    def _paced(self, msg: outgoing.ReqHistoricalData, rule: str) -> bool:
        """Refuse ``msg`` as a pacing violation: 162, 420 for keepUpToDate."""
        log.info("historical data pacing violation (reqId %d): %s", msg.reqId, rule)
        self._error(msg.reqId, *(REALTIME_PACING if msg.keepUpToDate else HISTORICAL_PACING))
        return True

    def cancel_historical(self, req_id: int) -> None:
        """cancelHistoricalData: stop a keepUpToDate request; 366 for a request
        that is not running (finished or unknown), as TWS."""
        if self._bars.pop(req_id, None) is None:
            self._error(req_id, NO_HISTORICAL_QUERY,
                        f"No historical data query found for ticker id:{req_id}")

    # ----------------------------------------------------- fault notices
    def connect_notices(self) -> None:
        """At startApi: 1100 while connectivity is lost."""
        if self.faults.connectivity_lost:
            self._error(-1, *CONNECTIVITY_LOST)

    def connectivity_lost(self) -> None:
        """Error 1100 (reqId -1)."""
        self._error(-1, *CONNECTIVITY_LOST)

    def connectivity_restored(self, data_lost: bool) -> None:
        """1101 after dropping the market data lines and keepUpToDate bars, or 1102."""
        if data_lost:
            self.data_lost_count += 1
            self._mkt.clear()
            self._bars.clear()
            for hook in self.data_lost_hooks:
                hook()
            self._error(-1, *CONNECTIVITY_RESTORED_DATA_LOST)
        else:
            self._error(-1, *CONNECTIVITY_RESTORED_DATA_MAINTAINED)

    def competing_session(self) -> None:
        """10197 with the reqId of each live market data line."""
        for req_id, line in list(self._mkt.items()):
            if line.marketDataType in _LIVE_TYPES:
                self._error(req_id, *COMPETING_SESSION)


def _req_id(msg: Request) -> int:
    """The reqId (or orderId) of a request, -1 when it has none."""
    if isinstance(msg, Unknown):
        return request_req_id(msg.ID, msg.fields)
    for name in ("reqId", "orderId", "tickerId"):
        value = getattr(msg, name, None)
        if isinstance(value, int):
            return value
    return -1
