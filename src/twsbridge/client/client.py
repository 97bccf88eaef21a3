"""TWSClient: the public asyncio client of the TWS API.

Usage::

    async with TWSClient("127.0.0.1", 7497, client_id=1) as ib:
        [details] = await ib.reqContractDetails(Contract(conId=4391))
        bars = await ib.reqHistoricalData(details.contract, durationStr="5 D")
        async with ib.reqMktData(details.contract) as sub:
            async for tick in sub:
                print(tick.name, tick.value, sub.ticker.bid)

Every request method sends one TWS request and awaits its answer; nothing is
logged in place of being raised. How each kind of TWS error reaches you is
described in :mod:`twsbridge.client.errors`; in short: errors of a request
raise from it, notices go to ``notices``, other errors to ``errors``, and
every error frame to handlers registered for ``'error'``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import TracebackType
from typing import Any, TypeVar

from twsbridge.protocol import (
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
    Message,
    Unknown,
    incoming,
    outgoing,
)

from .callbacks import Dispatcher, Handler, Name
from .connection import TokenBucket, Transport
from .errors import ConnectionLost, NotConnected, TWSError, TWSTimeoutError
from .requests import (
    MARKET_DATA,
    ErrorStream,
    HistoricalDataStream,
    MarketDataSubscription,
    Request,
    Router,
    bars_of,
)
from .ticker import TickBook, Ticker

__all__ = ["TWSClient"]

log = logging.getLogger("twsbridge.client")

T = TypeVar("T")
R = TypeVar("R", bound=Request[Any])

#: Error code of "client id already in use": TWS sends it, then closes.
CLIENT_ID_IN_USE = 326


def _details(msg: Message) -> list[ContractDetails]:
    return [msg.contractDetails] if isinstance(msg, incoming.ContractData) else []


def _descriptions(msg: Message) -> list[ContractDescription]:
    return list(msg.contractDescriptions) if isinstance(msg, incoming.SymbolSamples) else []


def _time(msg: Message) -> list[int]:
    return [msg.time] if isinstance(msg, incoming.CurrentTime) else []


def _head(msg: Message) -> list[str]:
    return [msg.headTimestamp] if isinstance(msg, incoming.HeadTimestamp) else []


class TWSClient:
    """An asyncio client of TWS or IB Gateway (or the twsbridge simulator).

    Args:
        host, port: where TWS listens (TWS paper 7497, live 7496; Gateway 4002/4001).
        client_id: TWS's client id; one connection per id at a time.
        timeout: seconds for :meth:`connect` to reach the ready state.
        connect_options: the hello's options, e.g. ``"+PACEAPI"``.
        optional_capabilities: startApi's optional capabilities.
        max_rate: most messages sent in any one second (token bucket pacing;
            TWS's limit is 50); 0 disables pacing.

    Attributes (valid once connected):
        server_version: the negotiated server version (157-178).
        connection_time: TWS's connection time text, ``"20231021 13:28:15 EST"``.
        accounts: the account codes of managedAccounts (message 15).
        next_order_id: the last nextValidId (message 9); 0 before it arrives.
        notices: the last 200 informational errors (farm status …), as TWSError.
        errors: async-iterable of unsolicited errors (see :class:`ErrorStream`).

    Handlers (:meth:`register`) may be added before :meth:`connect`, so none of
    the messages TWS sends right after startApi is missed.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        client_id: int = 1,
        *,
        timeout: float = 10.0,
        connect_options: str = "",
        optional_capabilities: str = "",
        max_rate: float = 50.0,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.timeout = timeout
        self.connect_options = connect_options
        self.optional_capabilities = optional_capabilities
        self.max_rate = max_rate
        self.server_version = 0
        self.connection_time = ""
        self.accounts: list[str] = []
        self.next_order_id = 0
        self.notices: deque[TWSError] = deque(maxlen=200)
        self.errors = ErrorStream()
        self._dispatcher = Dispatcher()
        self._router = Router()
        self._transport: Transport | None = None
        self._ready: asyncio.Future[None] | None = None
        self._connected = False
        self._seen: set[str] = set()
        self._connect_error: TWSError | None = None
        self._closed = asyncio.Event()

    def __repr__(self) -> str:
        state = "connected" if self._connected else "not connected"
        return f"<TWSClient {self.where} client_id={self.client_id} {state}>"

    @property
    def where(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def is_connected(self) -> bool:
        """True from the ready state until the connection ends."""
        return self._connected

    @property
    def close_reason(self) -> BaseException | None:
        """Why the last connection ended: None when it is open or was closed by
        :meth:`disconnect`, else the ConnectionLost or ProtocolError."""
        return self._transport.close_reason if self._transport is not None else None

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
        if self._transport is not None and not self._transport.closed:
            raise RuntimeError(f"{self!r} is already connected")
        self._router = Router()
        self.server_version, self.connection_time = 0, ""
        self._seen.clear()
        self._connect_error = None
        self._closed = asyncio.Event()
        ready = self._ready = asyncio.get_running_loop().create_future()
        transport = self._transport = Transport(
            self.host, self.port, on_message=self._on_message, on_close=self._on_close,
            connect_options=self.connect_options, bucket=TokenBucket.per_second(self.max_rate),
        )
        try:
            async with asyncio.timeout(self.timeout):
                hello = await transport.open(self.client_id, self.optional_capabilities)
                self.server_version = hello.serverVersion
                self.connection_time = hello.connectionTime
                await ready
        except TimeoutError as exc:
            await transport.close(flush_timeout=0)
            missing = [n for n in ("nextValidId", "managedAccounts") if n not in self._seen]
            what = "the server hello" if not self.server_version else " and ".join(missing)
            raise TWSTimeoutError(
                f"TWS at {self.where} did not complete the connection within "
                f"{self.timeout} s (waiting for {what})"
            ) from exc
        except BaseException:
            await transport.close(flush_timeout=0)
            raise
        finally:
            if ready.done() and not ready.cancelled():
                ready.exception()  # retrieved: no "never retrieved" warning
        if transport.closed:  # ready, then closed in the same read
            raise transport.close_reason or ConnectionLost(f"TWS at {self.where} closed")
        self._connected = True
        log.info("connected to TWS at %s: server version %d, client id %d, accounts %s",
                 self.where, self.server_version, self.client_id, ",".join(self.accounts))

    async def disconnect(self) -> None:
        """Close the connection. Waiting requests fail with ConnectionLost,
        subscriptions and ``errors`` loops end, coroutine handlers still
        running are cancelled. Does nothing when not connected.

        Raises:
            HandlerError: a handler raised since the last API call.
        """
        await self._close()
        failure = self._dispatcher.pop_failure()
        if failure is not None:
            raise failure

    async def _close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
        self._dispatcher.cancel_tasks()

    async def wait_closed(self) -> BaseException | None:
        """Wait until the current connection ends; its :attr:`close_reason`."""
        await self._closed.wait()
        return self.close_reason

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
            await self._close()

    # incoming messages ------------------------------------------------------------

    def _on_message(self, msg: Message | Unknown) -> None:
        if isinstance(msg, incoming.ErrorMessage):
            self._on_error(msg)
        elif isinstance(msg, Message):
            if isinstance(msg, incoming.ManagedAccounts):
                self.accounts = [a for a in msg.accountsList.split(",") if a]
                self._mark_seen("managedAccounts")
            elif isinstance(msg, incoming.NextValidId):
                self.next_order_id = msg.orderId
                self._mark_seen("nextValidId")
            self._router.route(msg)
        self._dispatcher.dispatch(msg)

    def _mark_seen(self, name: str) -> None:
        self._seen.add(name)
        ready = self._ready
        if len(self._seen) == 2 and ready is not None and not ready.done():
            ready.set_result(None)

    def _on_error(self, msg: incoming.ErrorMessage) -> None:
        err = TWSError(msg.errorCode, msg.errorString, msg.reqId, msg.advancedOrderRejectJson)
        if err.is_notice:
            self.notices.append(err)
            log.info("%s", err)
            return
        if self._router.route_error(err):
            return  # raised to the request's caller
        ready = self._ready
        if ready is not None and not ready.done():
            self._connect_error = err
            if err.code == CLIENT_ID_IN_USE:
                ready.set_exception(err)  # raised from connect()
                return
        log.warning("%s", err)
        self.errors.publish(err)

    def _on_close(self, exc: BaseException | None) -> None:
        self._connected = False
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_exception(self._connect_error or exc or ConnectionLost(
                f"connection to TWS at {self.where} closed before the ready state"))
        if exc is not None:
            log.warning("TWS connection ended: %s", exc)
        self._router.close(exc, self.where)
        self.errors.close(exc)
        self._closed.set()

    # handlers ---------------------------------------------------------------------

    def register(self, handler: Handler, *names: Name) -> None:
        """Call ``handler(msg)`` for each message whose ``NAME`` is in ``names``
        (``'nextValidId'``, ``'error'``, ``'tickPrice'``, ``'unknown'`` …).

        Raises:
            ValueError: a name no incoming message carries.
        """
        self._dispatcher.register(handler, *names)

    def unregister(self, handler: Handler, *names: Name) -> bool:
        """Stop calling ``handler`` for ``names`` (all names when none given);
        True when something was unregistered."""
        return self._dispatcher.unregister(handler, *names)

    def registerAll(self, handler: Handler) -> None:
        """Call ``handler(msg)`` for every message, ``Unknown`` frames included."""
        self._dispatcher.registerAll(handler)

    def unregisterAll(self, handler: Handler) -> bool:
        """Undo :meth:`registerAll`; True when ``handler`` was registered."""
        return self._dispatcher.unregisterAll(handler)

    # request plumbing -------------------------------------------------------------

    def _live(self) -> Transport:
        failure = self._dispatcher.pop_failure()
        if failure is not None:
            raise failure
        transport = self._transport
        if transport is None or not self._connected:
            reason = transport.close_reason if transport is not None else None
            if reason is not None:
                raise ConnectionLost(f"not connected to TWS at {self.where}: {reason}") from reason
            raise NotConnected(f"not connected to TWS at {self.where}; call connect() first")
        return transport

    def _next_id(self) -> int:
        self._live()
        return self._router.next_id()

    def _start(self, req: R, msg: Message) -> R:
        transport = self._live()
        req.bind(transport.send, self._router.discard)
        self._router.add(req)
        try:
            transport.send(msg)
        except BaseException:
            self._router.discard(req)
            raise
        return req

    async def _call(self, req: Request[T], msg: Message) -> list[T]:
        return await self._start(req, msg).wait()

    def send(self, msg: Message) -> None:
        """Send any catalogued outgoing message, fire-and-forget; its answers
        reach handlers only.

        Raises:
            NotConnected, ConnectionLost: no connection.
            HandlerError: a handler raised since the last API call.
            ProtocolError: ``msg`` is not an outgoing message.
        """
        self._live().send(msg)

    # requests -----------------------------------------------------------------------

    async def reqContractDetails(self, contract: Contract) -> list[ContractDetails]:
        """Every contract matching ``contract`` (reqContractDetails, message 9;
        answers contractDetails 10 until contractDetailsEnd 52).

        Raises:
            TWSError: code 200 when nothing matches, others as TWS reports them.
            ConnectionLost, NotConnected, HandlerError: see the module doc.
        """
        reqId = self._next_id()
        req = Request("reqContractDetails", reqId,
                      (incoming.ContractData, incoming.ContractDataEnd),
                      (incoming.ContractDataEnd,), convert=_details)
        return await self._call(req, outgoing.ReqContractDetails(reqId=reqId, contract=contract))

    async def reqMatchingSymbols(self, pattern: str) -> list[ContractDescription]:
        """Contracts whose symbol or name starts with ``pattern``
        (reqMatchingSymbols, message 81; answer symbolSamples 79).

        Raises:
            TWSError, ConnectionLost, NotConnected, HandlerError.
        """
        reqId = self._next_id()
        req = Request("reqMatchingSymbols", reqId, (incoming.SymbolSamples,),
                      (incoming.SymbolSamples,), convert=_descriptions)
        return await self._call(req, outgoing.ReqMatchingSymbols(reqId=reqId, pattern=pattern))

    async def reqMktDataSnapshot(
        self, contract: Contract, genericTickList: str = "", regulatorySnapshot: bool = False
    ) -> Ticker:
        """One snapshot of market data (reqMktData with snapshot=1, message 1):
        the Ticker once tickSnapshotEnd (57) arrived.

        Raises:
            TWSError: e.g. 354 not subscribed, 200 unknown contract.
            ConnectionLost, NotConnected, HandlerError.
        """
        reqId = self._next_id()
        book = TickBook(reqId, contract)
        end = (incoming.TickSnapshotEnd,)
        req = Request("reqMktData", reqId, (*MARKET_DATA, *end), end, convert=book.update,
                      cancel=outgoing.CancelMktData(reqId=reqId))
        await self._call(req, outgoing.ReqMktData(
            reqId=reqId, contract=contract, genericTickList=genericTickList, snapshot=True,
            regulatorySnapshot=regulatorySnapshot))
        return book.ticker

    def reqMktData(self, contract: Contract, genericTickList: str = "") -> MarketDataSubscription:
        """Subscribe to streaming market data (reqMktData, message 1); sent at once.

        Returns a :class:`MarketDataSubscription`: ``async for tick in sub``,
        ``sub.ticker``, ``await sub.cancel()`` (cancelMktData, 2); ``async with``
        cancels on exit. An error for it (e.g. 354) raises from the iterator.

        Raises:
            NotConnected, ConnectionLost, HandlerError.
        """
        reqId = self._next_id()
        msg = outgoing.ReqMktData(reqId=reqId, contract=contract, genericTickList=genericTickList)
        sub = MarketDataSubscription(reqId, contract, msg, outgoing.CancelMktData(reqId=reqId))
        return self._start(sub, msg)

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
            ConnectionLost, NotConnected, HandlerError.
        """
        reqId = self._next_id()
        req: Request[BarData] = Request(
            "reqHistoricalData", reqId, (incoming.HistoricalData,), (incoming.HistoricalData,),
            convert=bars_of, cancel=outgoing.CancelHistoricalData(reqId=reqId))
        return await self._call(req, outgoing.ReqHistoricalData(
            reqId=reqId, contract=contract, endDateTime=endDateTime, durationStr=durationStr,
            barSizeSetting=barSizeSetting, whatToShow=whatToShow, useRTH=useRTH,
            formatDate=formatDate, keepUpToDate=False))

    def reqHistoricalDataStream(
        self, contract: Contract, durationStr: str = "1 D", barSizeSetting: str = "1 hour",
        whatToShow: str = "TRADES", useRTH: bool = True, formatDate: int = 1,
    ) -> HistoricalDataStream:
        """Historical bars kept up to date (reqHistoricalData with keepUpToDate=1,
        message 20); sent at once.

        ``async for bar in stream`` yields the history bars (historicalData, 17),
        then the current bar each time TWS updates it (historicalDataUpdate, 90);
        ``await stream.cancel()`` sends cancelHistoricalData (25).

        Raises:
            NotConnected, ConnectionLost, HandlerError.
        """
        reqId = self._next_id()
        stream = HistoricalDataStream(
            "reqHistoricalData", reqId, (incoming.HistoricalData, incoming.HistoricalDataUpdate),
            convert=bars_of, cancel=outgoing.CancelHistoricalData(reqId=reqId), maxlen=100_000)
        return self._start(stream, outgoing.ReqHistoricalData(
            reqId=reqId, contract=contract, endDateTime="", durationStr=durationStr,
            barSizeSetting=barSizeSetting, whatToShow=whatToShow, useRTH=useRTH,
            formatDate=formatDate, keepUpToDate=True))

    async def reqHeadTimeStamp(
        self, contract: Contract, whatToShow: str = "TRADES", useRTH: bool = True,
        formatDate: int = 1,
    ) -> str:
        """The earliest data point TWS has for ``contract`` (reqHeadTimeStamp,
        message 87; answer headTimestamp 88), as TWS sends it: ``"yyyymmdd-hh:mm:ss"``
        for formatDate 1, epoch seconds for 2. Cancelled at TWS afterwards (90).

        Raises:
            TWSError, ConnectionLost, NotConnected, HandlerError.
        """
        reqId = self._next_id()
        req = Request("reqHeadTimeStamp", reqId, (incoming.HeadTimestamp,),
                      (incoming.HeadTimestamp,), convert=_head,
                      cancel=outgoing.CancelHeadTimeStamp(reqId=reqId))
        [stamp] = await self._call(req, outgoing.ReqHeadTimeStamp(
            reqId=reqId, contract=contract, whatToShow=whatToShow, useRTH=useRTH,
            formatDate=formatDate))
        if self._connected and self._transport is not None:
            self._transport.send(outgoing.CancelHeadTimeStamp(reqId=reqId))
        return stamp

    async def reqCurrentTime(self) -> int:
        """TWS's clock in epoch seconds (reqCurrentTime, message 49; answer
        currentTime 49).

        Raises:
            ConnectionLost, NotConnected, HandlerError.
        """
        req = Request("reqCurrentTime", None, (incoming.CurrentTime,), (incoming.CurrentTime,),
                      convert=_time)
        [now] = await self._call(req, outgoing.ReqCurrentTime())
        return now

    async def reqMarketDataType(self, marketDataType: int) -> None:
        """Switch the market data type of later reqMktData (reqMarketDataType,
        message 59): 1 live, 2 frozen, 3 delayed, 4 delayed frozen. TWS does not
        answer; an error for it arrives on ``errors``.

        Raises:
            ValueError: ``marketDataType`` not in 1-4.
            NotConnected, ConnectionLost, HandlerError.
        """
        if marketDataType not in (1, 2, 3, 4):
            raise ValueError(f"marketDataType must be 1-4, not {marketDataType!r}")
        self.send(outgoing.ReqMarketDataType(marketDataType=marketDataType))
