"""TWSClient: the public asyncio client of the TWS API.

Usage::

    async with TWSClient("127.0.0.1", 7497, client_id=1) as ib:
        [details] = await ib.reqContractDetails(Contract(conId=4391))
        bars = await ib.reqHistoricalData(details.contract, durationStr="5 D")
        trade = ib.placeOrder(details.contract, Order(action="BUY", orderType="MKT",
                                                      totalQuantity=Decimal(100)))
        await trade.done(timeout=30)
        print(trade.status, trade.avgFillPrice, [f.commissionReport for f in trade.fills])

Every request method sends one TWS request and awaits its answer; nothing is
logged in place of being raised. How each kind of TWS error reaches you is
described in :mod:`twsbridge.client.errors`; in short: errors of a request
raise from it, errors of an order go to its Trade's log (a rejection raises
from ``trade.done()``), notices go to ``notices``, other errors to ``errors``,
and every error frame to handlers registered for ``'error'``.

With ``reconnect=ReconnectPolicy()`` the client survives a dropped connection
(:mod:`.reconnect`): waiting requests fail at once with ``ConnectionLost``,
the client connects again with backoff, every live subscription goes on in
the same ``async for`` loop after a :class:`~.events.Gap` item, and trades
get what they missed. ``connection_events()`` shows the state changes.

TWSClient is a facade: the connection and message pipeline live in
:class:`~twsbridge.client.core.ClientCore`, the requests in components
(:mod:`.market`, :mod:`.trading` with the order book of :mod:`.orders`,
:mod:`.account`). Every method that sends raises ``NotConnected`` or
``ConnectionLost`` without a connection and ``HandlerError`` when a handler
raised since the last call; these are not repeated below.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType

from twsbridge.protocol import (
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
    ExecutionFilter,
    Message,
    incoming,
    outgoing,
)
from twsbridge.protocol.order_models import Order, OrderState

from .account import (
    ALL_TAGS,
    Account,
    AccountSnapshot,
    AccountValue,
    PortfolioItem,
    PositionsStream,
)
from .broadcast import ErrorStream
from .callbacks import Handler, Name
from .connection import Connector
from .core import ClientCore, Hook
from .depth import DepthMethods
from .errors import TWSError
from .events import ConnectionEvent
from .forward import CoreAttribute
from .historical_ticks import HistoricalTicksMethods
from .market import MarketData
from .pacing import TWS_HISTORICAL_LIMITS, HistoricalLimits, Pacing
from .reconnect import ReconnectPolicy
from .requests import HistoricalDataStream, MarketDataSubscription, Subscription
from .tick_by_tick import TickByTickMethods
from .ticker import Ticker
from .trade import Fill, Trade
from .trading import Trading

__all__ = ["INTERCEPTED", "TWSClient"]

#: The messages ``intercept`` hooks see by default: every order message.
INTERCEPTED: tuple[str, ...] = (
    "openOrder", "orderStatus", "execDetails", "commissionReport", "completedOrder")


class TWSClient(DepthMethods, HistoricalTicksMethods, TickByTickMethods):
    """An asyncio client of TWS or IB Gateway (or the twsbridge simulator).

    Args:
        host, port: where TWS listens (TWS paper 7497, live 7496; Gateway 4002/4001).
        client_id: TWS's client id; one connection per id at a time.
        timeout: seconds for :meth:`connect` to reach the ready state.
        connect_options: the hello's options, e.g. ``"+PACEAPI"``.
        optional_capabilities: startApi's optional capabilities.
        max_rate: most messages sent in any one second (token bucket pacing);
            None: 45 (TWS's limit is 50), or no local limit with ``+PACEAPI``
            in ``connect_options`` (TWS then paces the client itself); 0
            disables pacing. Error 100 lowers it (:mod:`.pacing`).
        reconnect: how to reconnect after the connection dropped (see
            :mod:`.reconnect`); None (the default) does not reconnect.
        historical_limits: the pacing rules historical requests are queued
            under (TWS's by default); None sends them at once.
        connector: opens each connection's byte stream in place of a TCP
            connect to ``host:port`` (:data:`~twsbridge.client.connection.Connector`:
            ``await connector()`` returns a (StreamReader, StreamWriter); an
            ``OSError`` from it is error 502 as a refused connect). It is called
            again at every reconnect. ``host``/``port`` then only name the peer
            (port 0: ``host`` alone). The embedded simulator's
            ``SimServer.connect_in_process`` is one: no socket listens.

    Attributes (valid once connected):
        server_version: the negotiated server version (157-178).
        connection_time: TWS's connection time text, ``"20231021 13:28:15 EST"``.
        accounts: the account codes of managedAccounts (message 15).
        next_order_id: the last nextValidId (message 9); 0 before it arrives.
        notices: the last 200 informational errors (farm status …), as TWSError.
        errors: async-iterable of unsolicited errors (see :class:`ErrorStream`).
        pacing: the pacing state (:class:`~.pacing.Pacing`): ``pending``
            historical requests waiting for their turn, ``on_wait``, ``max_rate``.
        state: ``'connected'``, ``'reconnecting'`` or ``'disconnected'``.
        reconnect: the reconnect policy (may be changed; None stops
            reconnecting after the next drop).

    Ids: order ids and request ids come from one sequence (:mod:`.ids`) that
    starts at nextValidId, only grows, and is kept across reconnects of this
    object, so no id is used twice and an error frame's id names one thing.

    Trades (:meth:`placeOrder`, :meth:`trades`) and the account values of
    :meth:`reqAccountUpdates` are kept across reconnects. Handlers
    (:meth:`register`) and hooks (:meth:`intercept`) may be added before
    :meth:`connect`, so none of the messages TWS sends after startApi is missed.
    """

    host: CoreAttribute[str] = CoreAttribute()
    port: CoreAttribute[int] = CoreAttribute()
    client_id: CoreAttribute[int] = CoreAttribute()
    timeout: CoreAttribute[float] = CoreAttribute()
    connect_options: CoreAttribute[str] = CoreAttribute()
    optional_capabilities: CoreAttribute[str] = CoreAttribute()
    max_rate: CoreAttribute[float] = CoreAttribute()
    pacing: CoreAttribute[Pacing] = CoreAttribute()
    reconnect: CoreAttribute[ReconnectPolicy | None] = CoreAttribute()
    state: CoreAttribute[str] = CoreAttribute()
    reconnecting: CoreAttribute[bool] = CoreAttribute()
    server_version: CoreAttribute[int] = CoreAttribute()
    connection_time: CoreAttribute[str] = CoreAttribute()
    accounts: CoreAttribute[list[str]] = CoreAttribute()
    next_order_id: CoreAttribute[int] = CoreAttribute()
    notices: CoreAttribute[deque[TWSError]] = CoreAttribute()
    errors: CoreAttribute[ErrorStream] = CoreAttribute()
    where: CoreAttribute[str] = CoreAttribute()
    is_connected: CoreAttribute[bool] = CoreAttribute()
    close_reason: CoreAttribute[BaseException | None] = CoreAttribute()

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        client_id: int = 1,
        *,
        timeout: float = 10.0,
        connect_options: str = "",
        optional_capabilities: str = "",
        max_rate: float | None = None,
        reconnect: ReconnectPolicy | None = None,
        historical_limits: HistoricalLimits | None = TWS_HISTORICAL_LIMITS,
        connector: Connector | None = None,
    ) -> None:
        self._core = ClientCore(
            host, port, client_id, timeout=timeout, connect_options=connect_options,
            optional_capabilities=optional_capabilities, max_rate=max_rate,
            reconnect=reconnect, historical_limits=historical_limits, connector=connector)
        self._market = MarketData(self._core)
        self._trading = Trading(self._core)
        self._account = Account(self._core)

    def __repr__(self) -> str:
        return f"<TWSClient {self.where} client_id={self.client_id} {self.state}>"

    # connection -------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, handshake, startApi, and wait for nextValidId and managedAccounts.

        Raises:
            TWSConnectError: nothing listens at ``host:port`` (code 502).
            TWSError: TWS refused the session, e.g. code 326 when the client id
                is in use.
            ConnectionLost: TWS closed the connection before the ready state.
            TWSTimeoutError: the ready state took longer than ``timeout``.
            ProtocolError: TWS sent something the decoder rejects.
            RuntimeError: already connected.
        """
        await self._core.connect()

    async def disconnect(self) -> None:
        """Close the connection (and stop reconnecting). Waiting requests fail with ConnectionLost,
        subscriptions, ``errors`` loops and ``Trade.updates()`` end, waiting
        ``Trade.done()`` raise ConnectionLost, coroutine handlers still running
        are cancelled. Does nothing when not connected.

        Raises:
            HandlerError: a handler raised since the last API call.
        """
        await self._core.close()
        failure = self._core.dispatcher.pop_failure()
        if failure is not None:
            raise failure

    def connection_events(self) -> AsyncIterator[ConnectionEvent]:
        """``async for event in ib.connection_events()``: every
        :class:`~.events.ConnectionEvent` (``'connected'``, ``'disconnected'``,
        ``'reconnecting'``) from now on; the loop ends after :meth:`disconnect`
        or when reconnecting gives up. Handlers registered for those names get
        the same events."""
        return self._core.events.reader()

    async def wait_closed(self) -> BaseException | None:
        """Wait until the current connection ends; its :attr:`close_reason`
        (None after :meth:`disconnect`, else a ConnectionLost, ProtocolError
        or InterceptError)."""
        return await self._core.wait_closed()

    async def __aenter__(self) -> TWSClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.disconnect()
        else:
            await self._core.close()

    # handlers and hooks -------------------------------------------------------------

    def register(self, handler: Handler, *names: Name) -> None:
        """Call ``handler(msg)`` for each message whose ``NAME`` is in ``names``
        (``'nextValidId'``, ``'error'``, ``'tickPrice'``, ``'unknown'`` …), after
        the client's own state, trades and requests took it; and
        ``handler(event)`` for the connection events named (``'connected'``,
        ``'disconnected'``, ``'reconnecting'``: a :class:`~.events.ConnectionEvent`).

        Raises:
            ValueError: a name no incoming message or event carries.
        """
        self._core.dispatcher.register(handler, *names)

    def unregister(self, handler: Handler, *names: Name) -> bool:
        """Stop calling ``handler`` for ``names`` (all names when none given);
        True when something was unregistered."""
        return self._core.dispatcher.unregister(handler, *names)

    def registerAll(self, handler: Handler) -> None:
        """Call ``handler(msg)`` for every message, ``Unknown`` frames included."""
        self._core.dispatcher.registerAll(handler)

    def unregisterAll(self, handler: Handler) -> bool:
        """Undo :meth:`registerAll`; True when ``handler`` was registered."""
        return self._core.dispatcher.unregisterAll(handler)

    def intercept(self, fn: Hook, *names: Name) -> None:
        """A journal hook: ``fn(msg)`` runs for every incoming message named in
        ``names`` (default :data:`INTERCEPTED`: openOrder, orderStatus,
        execDetails, commissionReport, completedOrder) BEFORE any trade update,
        waiter, subscription or handler sees it, in arrival order. If ``fn``
        returns an awaitable (a coroutine function), the client awaits it before
        it handles this or any later message. An exception from ``fn`` closes
        the connection: waiters fail with :class:`InterceptError` (the hook's
        exception chained), so nothing is acted on that was not journalled.

        Raises:
            ValueError: a name no incoming message carries.
        """
        self._core.intercept(fn, names or INTERCEPTED)

    def send(self, msg: Message) -> None:
        """Send any catalogued outgoing message, fire-and-forget (paced); its
        answers reach handlers, and order messages update trades.

        Raises:
            ProtocolError: ``msg`` is not an outgoing message.
        """
        self._core.send(msg)

    # contracts and market data ----------------------------------------------------

    async def reqContractDetails(self, contract: Contract) -> list[ContractDetails]:
        """Every contract matching ``contract`` (reqContractDetails, message 9;
        answers contractDetails 10 until contractDetailsEnd 52).

        Raises:
            TWSError: code 200 when nothing matches, others as TWS reports them.
        """
        return await self._market.reqContractDetails(contract)

    async def reqMatchingSymbols(self, pattern: str) -> list[ContractDescription]:
        """Contracts whose symbol or name starts with ``pattern``
        (reqMatchingSymbols, message 81; answer symbolSamples 79).

        Raises:
            TWSError: as TWS reports it.
        """
        return await self._market.reqMatchingSymbols(pattern)

    async def reqMktDataSnapshot(
        self, contract: Contract, genericTickList: str = "", regulatorySnapshot: bool = False
    ) -> Ticker:
        """One snapshot of market data (reqMktData with snapshot=1, message 1):
        the Ticker once tickSnapshotEnd (57) arrived.

        Raises:
            TWSError: e.g. 354 not subscribed, 200 unknown contract.
        """
        return await self._market.reqMktDataSnapshot(contract, genericTickList,
                                                     regulatorySnapshot)

    def reqMktData(self, contract: Contract, genericTickList: str = "") -> MarketDataSubscription:
        """Subscribe to streaming market data (reqMktData, message 1); sent at once.

        Returns a :class:`MarketDataSubscription`: ``async for tick in sub``,
        ``sub.ticker``, ``await sub.cancel()`` (cancelMktData, 2); ``async with``
        cancels on exit. An error for it (e.g. 354) raises from the iterator.
        """
        return self._market.reqMktData(contract, genericTickList)

    async def reqHistoricalData(
        self, contract: Contract, endDateTime: str = "", durationStr: str = "1 D",
        barSizeSetting: str = "1 hour", whatToShow: str = "TRADES", useRTH: bool = True,
        formatDate: int = 1,
    ) -> list[BarData]:
        """Historical bars (reqHistoricalData, message 20; answer historicalData 17).

        ``endDateTime`` "" is now, else ``"yyyymmdd hh:mm:ss TZ"``;
        ``durationStr`` like "30 D"; ``barSizeSetting`` like "1 day";
        ``formatDate`` 1 text dates, 2 epoch seconds. See :func:`bars_to_dataframe`.

        Raises:
            TWSError: e.g. 162 "Historical Market Data Service error message".
        """
        return await self._market.reqHistoricalData(
            contract, endDateTime, durationStr, barSizeSetting, whatToShow, useRTH, formatDate)

    def reqHistoricalDataStream(
        self, contract: Contract, durationStr: str = "1 D", barSizeSetting: str = "1 hour",
        whatToShow: str = "TRADES", useRTH: bool = True, formatDate: int = 1,
    ) -> HistoricalDataStream:
        """Historical bars kept up to date (reqHistoricalData with keepUpToDate=1,
        message 20); sent at once. ``async for bar in stream`` yields the history
        (historicalData, 17), then the current bar at each update
        (historicalDataUpdate, 90); ``await stream.cancel()`` sends 25."""
        return self._market.reqHistoricalDataStream(
            contract, durationStr, barSizeSetting, whatToShow, useRTH, formatDate)

    def reqRealTimeBars(
        self, contract: Contract, barSize: int = 5, whatToShow: str = "TRADES",
        useRTH: bool = True,
    ) -> Subscription[incoming.RealTimeBar]:
        """Real-time 5-second bars (reqRealTimeBars, message 50; sent at once):
        ``async for bar in sub`` yields each realtimeBar (50) — ``bar.time`` its
        start in epoch seconds, ``volume``/``wap``/``count`` -1 unless TRADES —
        and a :class:`Gap` before the bars of a resumed subscription (sent again
        after a reconnect). ``barSize`` must be 5; ``whatToShow`` TRADES,
        MIDPOINT, BID or ASK. ``await sub.cancel()`` sends cancelRealTimeBars (51)."""
        return self._market.reqRealTimeBars(contract, barSize, whatToShow, useRTH)

    async def reqHeadTimeStamp(
        self, contract: Contract, whatToShow: str = "TRADES", useRTH: bool = True,
        formatDate: int = 1,
    ) -> str:
        """The earliest data point TWS has for ``contract`` (reqHeadTimeStamp,
        message 87; answer headTimestamp 88), as TWS sends it: ``"yyyymmdd-hh:mm:ss"``
        for formatDate 1, epoch seconds for 2. Cancelled at TWS afterwards (90).

        Raises:
            TWSError: as TWS reports it.
        """
        return await self._market.reqHeadTimeStamp(contract, whatToShow, useRTH, formatDate)

    async def reqCurrentTime(self) -> int:
        """TWS's clock in epoch seconds (reqCurrentTime, message 49; answer 49)."""
        return await self._market.reqCurrentTime()

    async def reqMarketDataType(self, marketDataType: int) -> None:
        """Switch the market data type of later reqMktData (reqMarketDataType,
        message 59): 1 live, 2 frozen, 3 delayed, 4 delayed frozen. TWS does not
        answer; an error for it arrives on ``errors``.

        Raises:
            ValueError: ``marketDataType`` not in 1-4.
        """
        if marketDataType not in (1, 2, 3, 4):
            raise ValueError(f"marketDataType must be 1-4, not {marketDataType!r}")
        self.send(outgoing.ReqMarketDataType(marketDataType=marketDataType))

    # orders ------------------------------------------------------------------------

    def placeOrder(self, contract: Contract, order: Order) -> Trade:
        """Send ``order`` (placeOrder, message 3) at once (paced); its :class:`Trade`.

        An ``order.orderId`` of 0 is set from the id sequence. Sending an order
        whose orderId is a live trade of this client MODIFIES that order and
        returns the same Trade. The answers (openOrder 5, orderStatus 3,
        execDetails 11, commissionReport 59, errors 4) update the Trade;
        ``await trade.done()`` waits for the end and raises TWS's rejection.

        Raises:
            ProtocolError: a field cannot be encoded.
        """
        return self._trading.placeOrder(contract, order)

    async def whatIfOrder(self, contract: Contract, order: Order) -> OrderState:
        """TWS's preview of ``order`` (a copy with whatIf=True and a fresh orderId,
        placeOrder 3; answer openOrder 5): margin before/change/after as text,
        ``commission``/``minCommission``/``maxCommission`` in
        ``commissionCurrency``. ``order`` is not changed, nothing is placed.

        Raises:
            TWSError: TWS rejected the order (e.g. 200, 201, 110).
        """
        return await self._trading.whatIfOrder(contract, order)

    def cancelOrder(self, order: Order | int, manualOrderCancelTime: str = "") -> Trade | None:
        """Ask TWS to cancel an order (cancelOrder, message 4), given as Order or
        orderId; the Trade (None when unknown). TWS answers orderStatus
        PendingCancel/Cancelled (and error 202); its Cancelled is not a rejection."""
        return self._trading.cancelOrder(order, manualOrderCancelTime)

    def reqGlobalCancel(self) -> None:
        """Cancel every open order of the account, whoever placed it
        (reqGlobalCancel, message 58)."""
        self._trading.reqGlobalCancel()

    def trades(self) -> list[Trade]:
        """Every Trade this client object knows (placed, or seen in openOrder/
        completedOrder), oldest first."""
        return self._trading.book.trades()

    def openTrades(self) -> list[Trade]:
        """The Trades not done (:meth:`Trade.is_done`)."""
        return self._trading.book.open_trades()

    async def reqIds(self) -> int:
        """Ask TWS for the next valid order id (reqIds, message 8; answer
        nextValidId 9) and raise the id sequence to it; the id the sequence
        hands out next (≥ TWS's nextValidId)."""
        return await self._trading.reqIds()

    async def reqOpenOrders(self) -> list[Trade]:
        """This client's open orders (reqOpenOrders, message 5; answers openOrder
        5 and orderStatus 3 until openOrderEnd 53) as Trades, updated."""
        return await self._trading.reqOpenOrders()

    async def reqAllOpenOrders(self) -> list[Trade]:
        """The open orders of every client and of TWS (reqAllOpenOrders, message
        16; until openOrderEnd 53) as Trades; other clients' orders become Trades."""
        return await self._trading.reqAllOpenOrders()

    async def reqCompletedOrders(self, apiOnly: bool = False) -> list[Trade]:
        """Orders done today (reqCompletedOrders, message 99; answers
        completedOrder 101 until completedOrdersEnd 102) as Trades; ``apiOnly``
        leaves out orders placed in TWS."""
        return await self._trading.reqCompletedOrders(apiOnly)

    async def reqExecutions(self, execFilter: ExecutionFilter | None = None) -> list[Fill]:
        """Today's executions matching ``execFilter`` (reqExecutions, message 7;
        execDetails 11 until execDetailsEnd 55) as Fills with their commission
        reports (59); reports that come after the end are waited for up to
        :data:`~twsbridge.client.trading.COMMISSION_WAIT` seconds, then
        ``commissionReport`` stays None. Known trades get the fills too."""
        return await self._trading.reqExecutions(execFilter)

    # account ------------------------------------------------------------------------

    async def reqPositions(self) -> list[incoming.Position]:
        """Every position of every account (reqPositions, message 61; answers
        position 61 until positionEnd 62; cancelPositions 64 afterwards):
        ``account``, ``contract``, ``position`` (Decimal), ``avgCost``."""
        return await self._account.reqPositions()

    async def reqAccountSummary(
        self, groupName: str = "All", tags: str = ALL_TAGS
    ) -> list[AccountValue]:
        """Account values of ``tags`` (comma-separated; default every tag) for
        the accounts of ``groupName`` (reqAccountSummary, message 62; answers
        accountSummary 63 until accountSummaryEnd 64; cancelled afterwards, 63).

        Raises:
            TWSError: e.g. 322 too many account summary requests.
        """
        return await self._account.reqAccountSummary(groupName, tags)

    async def reqAccountUpdates(self, account: str = "") -> AccountSnapshot:
        """Subscribe to ``account``'s values and portfolio (reqAccountUpdates,
        message 6; updateAccountValue 6, updatePortfolio 7, updateAccountTime 8
        until accountDownloadEnd 54); the first download. The subscription keeps
        :meth:`accountValues` and :meth:`portfolio` current until disconnect.

        Raises:
            ValueError: ``account`` is not one of :attr:`accounts`.
        """
        return await self._account.reqAccountUpdates(account)

    def accountValues(self, account: str = "") -> list[AccountValue]:
        """The latest values of the reqAccountUpdates subscription (all accounts
        when ``account`` is "")."""
        return self._account.accountValues(account)

    def portfolio(self, account: str = "") -> list[PortfolioItem]:
        """The latest non-zero positions of the reqAccountUpdates subscription."""
        return self._account.portfolio(account)

    def reqPositionsStream(self) -> PositionsStream:
        """Stream the positions (reqPositions, message 61; sent at once):
        ``async for pos in stream`` yields every ``incoming.Position``, then each
        change; ``await stream.cancel()`` sends cancelPositions (64)."""
        return self._account.reqPositionsStream()

    def reqPnL(self, account: str, modelCode: str = "") -> Subscription[incoming.PnL]:
        """Stream the account's daily, unrealized and realized P&L (reqPnL,
        message 92; pnl 94, about once a second); sent at once. ``async for``
        the ``incoming.PnL`` messages; ``await sub.cancel()`` sends cancelPnL (93)."""
        return self._account.reqPnL(account, modelCode)

    def reqPnLSingle(self, account: str, modelCode: str,
                     conId: int) -> Subscription[incoming.PnLSingle]:
        """Stream the P&L of one position (reqPnLSingle, message 94; pnlSingle 95:
        ``pos``, ``dailyPnL``, ``unrealizedPnL``, ``realizedPnL``, ``value``);
        ``await sub.cancel()`` sends cancelPnLSingle (95)."""
        return self._account.reqPnLSingle(account, modelCode, conId)
