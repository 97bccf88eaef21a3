"""The account of a TWSClient: positions, summary, values, portfolio and P&L.

:class:`Account` answers reqPositions, reqAccountSummary and reqAccountUpdates,
and keeps the values and portfolio of the reqAccountUpdates subscription
current (updateAccountValue 6, updatePortfolio 7, updateAccountTime 8) for
as long as it runs. Values are TWS's text (``"100000.00"``); the tags and
currencies are TWS's (``NetLiquidation``/``USD``, ``AccountType``/``""``).

The reqAccountUpdates subscription, positions streams and P&L subscriptions
are sent again after a reconnect and after TWS error 1101 (:mod:`.resume`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from twsbridge.protocol import Contract, Message, incoming, outgoing

from .core import ClientCore
from .requests import Request, Subscription

__all__ = ["ALL_TAGS", "Account", "AccountSnapshot", "AccountValue", "PortfolioItem",
           "PositionsStream"]

#: Every tag reqAccountSummary (message 62) knows (TWS's AccountSummaryTags.AllTags).
ALL_TAGS = (
    "AccountType,NetLiquidation,TotalCashValue,SettledCash,AccruedCash,BuyingPower,"
    "EquityWithLoanValue,PreviousDayEquityWithLoanValue,GrossPositionValue,ReqTEquity,"
    "ReqTMargin,SMA,InitMarginReq,MaintMarginReq,AvailableFunds,ExcessLiquidity,Cushion,"
    "FullInitMarginReq,FullMaintMarginReq,FullAvailableFunds,FullExcessLiquidity,"
    "LookAheadNextChange,LookAheadInitMarginReq,LookAheadMaintMarginReq,"
    "LookAheadAvailableFunds,LookAheadExcessLiquidity,HighestSeverity,DayTradesRemaining,"
    "Leverage"
)


@dataclass(frozen=True, slots=True)
class AccountValue:
    """One account value: ``tag`` (TWS's key, e.g. ``NetLiquidation``), ``value``
    as TWS's text, ``currency`` ("" for non-money values), ``modelCode``."""

    account: str
    tag: str
    value: str
    currency: str
    modelCode: str = ""


@dataclass(frozen=True, slots=True)
class PortfolioItem:
    """One position of reqAccountUpdates (updatePortfolio, message 7); prices and
    values in the contract's currency, ``position`` a Decimal quantity."""

    contract: Contract
    position: Decimal
    marketPrice: float
    marketValue: float
    averageCost: float
    unrealizedPNL: float
    realizedPNL: float
    account: str


@dataclass(slots=True)
class AccountSnapshot:
    """The account as reqAccountUpdates first downloaded it: ``values``,
    ``portfolio`` and ``time`` (TWS's ``"hh:mm"`` of the last update)."""

    values: list[AccountValue] = field(default_factory=list)
    portfolio: list[PortfolioItem] = field(default_factory=list)
    time: str = ""


def _positions(msg: Message) -> list[incoming.Position]:
    return [msg] if isinstance(msg, incoming.Position) else []


def _summary(msg: Message) -> list[AccountValue]:
    if not isinstance(msg, incoming.AccountSummary):
        return []
    return [AccountValue(msg.account, msg.tag, msg.value, msg.currency)]


def _download_end(msg: Message) -> list[str]:
    return [msg.accountName] if isinstance(msg, incoming.AccountDownloadEnd) else []


def _pnl(msg: Message) -> list[incoming.PnL]:
    return [msg] if isinstance(msg, incoming.PnL) else []


def _pnl_single(msg: Message) -> list[incoming.PnLSingle]:
    return [msg] if isinstance(msg, incoming.PnLSingle) else []


class PositionsStream(Subscription[incoming.Position]):
    """A streaming reqPositions (message 61): ``async for pos in stream`` yields
    every position (``incoming.Position``), then each change after a fill;
    after a :class:`~twsbridge.client.events.Gap` every position comes again.
    ``await stream.cancel()`` sends cancelPositions (64) once no other
    positions request of the client runs."""

    def __init__(self, release: Callable[[PositionsStream], None]) -> None:
        super().__init__("reqPositions", None, (incoming.Position,), convert=_positions,
                         maxlen=100_000, renew=lambda _: (outgoing.ReqPositions(), None))
        self._release = release

    async def cancel(self) -> None:
        """Stop the stream (cancelPositions when it was the last one)."""
        if not self.done:
            await super().cancel()
            self._release(self)

    async def __aenter__(self) -> PositionsStream:
        return self


class Account:
    """Account requests, and the state of the reqAccountUpdates subscription."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core
        self._values: dict[tuple[str, str, str, str], AccountValue] = {}
        self._portfolio: dict[tuple[str, int], PortfolioItem] = {}
        self._time = ""
        self._positions_pending = 0
        self._streams: list[PositionsStream] = []
        self._subscribed: str | None = None  # the account of reqAccountUpdates
        core.listen(incoming.UpdateAccountValue, self._on_value)
        core.listen(incoming.UpdatePortfolio, self._on_portfolio)
        core.listen(incoming.UpdateAccountTime, self._on_time)
        core.resumer.on_resubscribe(self._resubscribe)
        core.on_close(self._on_close)

    def _resubscribe(self) -> None:
        """After a reconnect or 1101: the account updates subscription again."""
        if self._subscribed is not None:
            self._core.send_quietly(outgoing.ReqAccountUpdates(subscribe=True,
                                                               acctCode=self._subscribed))

    def _on_close(self, exc: BaseException | None) -> None:
        self._subscribed = None
        self._streams.clear()

    def _on_value(self, msg: incoming.UpdateAccountValue) -> None:
        value = AccountValue(msg.accountName, msg.key, msg.val, msg.currency)
        self._values[(value.account, value.tag, value.currency, value.modelCode)] = value

    def _on_portfolio(self, msg: incoming.UpdatePortfolio) -> None:
        key = (msg.accountName, msg.contract.conId)
        if msg.position == 0:
            self._portfolio.pop(key, None)
            return
        self._portfolio[key] = PortfolioItem(
            msg.contract, msg.position, msg.marketPrice, msg.marketValue, msg.averageCost,
            msg.unrealizedPNL, msg.realizedPNL, msg.accountName)

    def _on_time(self, msg: incoming.UpdateAccountTime) -> None:
        self._time = msg.timeStamp

    def accountValues(self, account: str = "") -> list[AccountValue]:
        """The latest values of the reqAccountUpdates subscription (of ``account``)."""
        return [v for v in self._values.values() if not account or v.account == account]

    def portfolio(self, account: str = "") -> list[PortfolioItem]:
        """The latest portfolio of the reqAccountUpdates subscription (non-zero
        positions, of ``account``)."""
        return [p for p in self._portfolio.values() if not account or p.account == account]

    async def reqAccountUpdates(self, account: str) -> AccountSnapshot:
        """reqAccountUpdates (6) → 6, 7, 8 … accountDownloadEnd (54)."""
        core = self._core
        core.live()
        if account and core.accounts and account not in core.accounts:
            raise ValueError(f"account {account!r} is not one of this login's accounts "
                             f"{core.accounts} (TWS would answer error 321)")
        req = Request("reqAccountUpdates", None, (incoming.AccountDownloadEnd,),
                      (incoming.AccountDownloadEnd,), convert=_download_end)
        [name] = await core.call(req, outgoing.ReqAccountUpdates(subscribe=True,
                                                                 acctCode=account))
        self._subscribed = account
        name = account or name
        return AccountSnapshot(self.accountValues(name), self.portfolio(name), self._time)

    async def reqAccountSummary(self, groupName: str, tags: str) -> list[AccountValue]:
        """reqAccountSummary (62) → accountSummary (63) … accountSummaryEnd (64),
        then cancelAccountSummary (63)."""
        core = self._core
        reqId = core.next_id()
        cancel = outgoing.CancelAccountSummary(reqId=reqId)
        req = Request("reqAccountSummary", reqId,
                      (incoming.AccountSummary, incoming.AccountSummaryEnd),
                      (incoming.AccountSummaryEnd,), convert=_summary, cancel=cancel)
        values = await core.call(req, outgoing.ReqAccountSummary(
            reqId=reqId, groupName=groupName, tags=tags))
        core.send_quietly(cancel)
        return values

    async def reqPositions(self) -> list[incoming.Position]:
        """reqPositions (61) → position (61) … positionEnd (62), then
        cancelPositions (64) unless another reqPositions waits."""
        core = self._core
        req = Request("reqPositions", None, (incoming.Position, incoming.PositionEnd),
                      (incoming.PositionEnd,), convert=_positions)
        self._positions_pending += 1
        try:
            positions = await core.call(req, outgoing.ReqPositions())
        finally:
            self._positions_pending -= 1
        if not self._positions_pending and not self._streams:
            core.send_quietly(outgoing.CancelPositions())
        return positions

    def reqPositionsStream(self) -> PositionsStream:
        """reqPositions (61) streaming: position (61) rows, then changes."""
        stream = PositionsStream(self._release)
        self._core.start(stream, outgoing.ReqPositions())
        self._streams.append(stream)
        return stream

    def _release(self, stream: PositionsStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)
        if not self._streams and not self._positions_pending:
            self._core.send_quietly(outgoing.CancelPositions())

    def reqPnL(self, account: str, modelCode: str) -> Subscription[incoming.PnL]:
        """reqPnL (92) → pnl (94) streaming; cancelPnL (93)."""
        core = self._core
        reqId = core.next_id()

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (outgoing.ReqPnL(reqId=rid, account=account, modelCode=modelCode),
                    outgoing.CancelPnL(reqId=rid))

        msg, cancel = renew(reqId)
        sub = Subscription("reqPnL", reqId, (incoming.PnL,), convert=_pnl, cancel=cancel,
                           maxlen=10_000, renew=renew)
        return core.start(sub, msg)

    def reqPnLSingle(self, account: str, modelCode: str,
                     conId: int) -> Subscription[incoming.PnLSingle]:
        """reqPnLSingle (94) → pnlSingle (95) streaming; cancelPnLSingle (95)."""
        core = self._core
        reqId = core.next_id()

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (outgoing.ReqPnLSingle(reqId=rid, account=account, modelCode=modelCode,
                                          conId=conId),
                    outgoing.CancelPnLSingle(reqId=rid))

        msg, cancel = renew(reqId)
        sub = Subscription("reqPnLSingle", reqId, (incoming.PnLSingle,), convert=_pnl_single,
                           cancel=cancel, maxlen=10_000, renew=renew)
        return core.start(sub, msg)
