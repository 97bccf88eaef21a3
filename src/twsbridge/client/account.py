"""The account of a TWSClient: positions, summary, values, portfolio and P&L.

:class:`Account` answers reqPositions, reqAccountSummary and reqAccountUpdates,
and keeps the values and portfolio of the reqAccountUpdates subscription
current (updateAccountValue 6, updatePortfolio 7, updateAccountTime 8) for
as long as it runs. Values are TWS's text (``"100000.00"``); the tags and
currencies are TWS's (``NetLiquidation``/``USD``, ``AccountType``/``""``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from twsbridge.protocol import Contract, Message, incoming, outgoing

from .core import ClientCore
from .requests import Request, Subscription

__all__ = ["ALL_TAGS", "Account", "AccountSnapshot", "AccountValue", "PortfolioItem"]

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


class Account:
    """Account requests, and the state of the reqAccountUpdates subscription."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core
        self._values: dict[tuple[str, str, str, str], AccountValue] = {}
        self._portfolio: dict[tuple[str, int], PortfolioItem] = {}
        self._time = ""
        self._positions_pending = 0
        core.listen(incoming.UpdateAccountValue, self._on_value)
        core.listen(incoming.UpdatePortfolio, self._on_portfolio)
        core.listen(incoming.UpdateAccountTime, self._on_time)

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
        if not self._positions_pending:
            core.send_quietly(outgoing.CancelPositions())
        return positions

    def reqPnL(self, account: str, modelCode: str) -> Subscription[incoming.PnL]:
        """reqPnL (92) → pnl (94) streaming; cancelPnL (93)."""
        core = self._core
        reqId = core.next_id()
        sub = Subscription("reqPnL", reqId, (incoming.PnL,), convert=_pnl,
                           cancel=outgoing.CancelPnL(reqId=reqId), maxlen=10_000)
        return core.start(sub, outgoing.ReqPnL(reqId=reqId, account=account,
                                               modelCode=modelCode))

    def reqPnLSingle(self, account: str, modelCode: str,
                     conId: int) -> Subscription[incoming.PnLSingle]:
        """reqPnLSingle (94) → pnlSingle (95) streaming; cancelPnLSingle (95)."""
        core = self._core
        reqId = core.next_id()
        sub = Subscription("reqPnLSingle", reqId, (incoming.PnLSingle,), convert=_pnl_single,
                           cancel=outgoing.CancelPnLSingle(reqId=reqId), maxlen=10_000)
        return core.start(sub, outgoing.ReqPnLSingle(reqId=reqId, account=account,
                                                     modelCode=modelCode, conId=conId))
