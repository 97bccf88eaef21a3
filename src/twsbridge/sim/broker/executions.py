"""The execution ledger of the simulated broker: ids, executions, commissions.

:class:`ExecutionLedger` hands out permIds (unique ints, as TWS's permanent
order ids) and books fills: each fill becomes an
:class:`~twsbridge.protocol.order_models.Execution` with an execId in TWS's
format, a :class:`~twsbridge.protocol.order_models.CommissionReport` (IB's
schedules, :mod:`twsbridge.sim.broker.commissions`) and a booking in the account
(cash, position, average cost with commissions, realized P&L).

execIds look like TWS's, ``'0000e0d5.5130a8c5.01.01'``: an account prefix,
the execution time in hex epoch seconds, a sequence number within that
second and the correction number ``01``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twsbridge.protocol.codec import UNSET_DOUBLE
from twsbridge.protocol.models import Contract, ExecutionFilter
from twsbridge.protocol.order_models import CommissionReport, Execution
from twsbridge.sim.broker.account import Account, Holding
from twsbridge.sim.broker.commissions import commission_for
from twsbridge.sim.broker.matching import Fill
from twsbridge.sim.broker.orders import SimOrder, tws_time
from twsbridge.sim.reference.calendar import SIM_TZ

__all__ = ["ExecutionLedger", "ExecutionRecord", "execution_venue", "parse_filter_time"]

_PERM_BASE = 1_100_000_000
_TZ_ALIASES = {"EST": "US/Eastern", "EDT": "US/Eastern", "ET": "US/Eastern",
               "CST": "US/Central", "CDT": "US/Central", "GMT": "UTC", "UTC": "UTC"}
_SIDES = {"BUY": "BOT", "BOT": "BOT", "SELL": "SLD", "SLD": "SLD", "SSHORT": "SLD"}


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One booked execution: what execDetails and commissionReport carry, the
    order it belongs to, and when (simulated time)."""

    execution: Execution
    report: CommissionReport
    contract: Contract
    order: SimOrder
    time: dt.datetime
    holding: Holding


def execution_venue(rec: SimOrder) -> str:
    """The exchange an execution reports: the listing exchange of a stock
    (``ISLAND`` is reported as ``NASDAQ``), ``IDEALPRO`` for forex."""
    inst = rec.inst
    if inst.is_forex:
        return "IDEALPRO"
    return inst.primaryExchange or inst.exchange


def parse_filter_time(text: str) -> dt.datetime | None:
    """An ExecutionFilter time: ``'yyyymmdd hh:mm:ss'`` with an optional time
    zone (default US/Eastern), or ``'yyyymmdd-hh:mm:ss'`` in UTC; None when
    empty or unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) >= 17 and text[8] == "-":
            return dt.datetime.strptime(text[:17], "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC)
        parts = text.split(" ", 2)
        t = dt.datetime.strptime(f"{parts[0]} {parts[1]}", "%Y%m%d %H:%M:%S")
    except (ValueError, IndexError):
        return None
    tz: dt.tzinfo = SIM_TZ
    if len(parts) > 2 and parts[2].strip():
        name = _TZ_ALIASES.get(parts[2].strip().upper(), parts[2].strip())
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            tz = SIM_TZ
    return t.replace(tzinfo=tz)


class ExecutionLedger:
    """permIds, execIds and the day's executions of one simulated account.

    Args:
        account: the account fills are booked in.
        usd_rate: ``usd_rate(currency, t)``: base-currency (USD) units per unit
            of ``currency`` at ``t``.
        seed: varies the execId prefix and the first permId.
    """

    def __init__(self, account: Account, usd_rate: Callable[[str, dt.datetime], float],
                 seed: int = 0) -> None:
        self.account = account
        self._usd_rate = usd_rate
        self._prefix = f"{0xE0D5 + seed % 0x10000:08x}"
        self._next_perm = _PERM_BASE + (seed % 100) * 1_000_000
        self._last_epoch = 0
        self._last_n = 0
        self._records: list[ExecutionRecord] = []

    def next_perm_id(self) -> int:
        """A new permId."""
        self._next_perm += 1
        return self._next_perm

    def _exec_id(self, t: dt.datetime) -> str:
        # never below the last execId's second: a clock set back (or an account
        # continued at an earlier simulated time) cannot hand out an execId again
        epoch = max(int(t.timestamp()), self._last_epoch)
        n = self._last_n + 1 if epoch == self._last_epoch else 1
        self._last_epoch, self._last_n = epoch, n
        return f"{self._prefix}.{epoch:08x}.{n:02x}.01"

    @property
    def counters(self) -> tuple[str, int, int, int]:
        """(execId prefix, last permId handed out, last execId's epoch second and
        its sequence number): what :meth:`restore` needs so no id comes twice."""
        return self._prefix, self._next_perm, self._last_epoch, self._last_n

    def restore(self, counters: tuple[str, int, int, int],
                records: list[ExecutionRecord]) -> None:
        """Continue a persisted ledger: its id counters (:attr:`counters`) and
        executions (booking order); the account is restored separately."""
        self._prefix, self._next_perm, self._last_epoch, self._last_n = counters
        self._records = list(records)

    @property
    def records(self) -> list[ExecutionRecord]:
        """Every execution, in booking order."""
        return list(self._records)

    def count(self) -> int:
        """How many executions were booked."""
        return len(self._records)

    def records_since(self, n: int) -> list[ExecutionRecord]:
        """The executions booked after the first ``n``."""
        return self._records[n:]

    def book(self, rec: SimOrder, fill: Fill, t: dt.datetime) -> ExecutionRecord:
        """Book ``fill`` of ``rec`` at ``t``: update the order's filled quantity,
        average and last price and commission, the account, and record the
        execution."""
        qty = fill.quantity
        cum = rec.filled + qty
        avg = (float(rec.filled) * rec.avg_price + float(qty) * fill.price) / float(cum)
        rec.filled, rec.avg_price, rec.last_price = cum, round(avg, 8), fill.price
        ccy = rec.contract.currency or self.account.base_currency
        rate = self._usd_rate(ccy, t)
        charge = commission_for(rec.inst.secType, qty, fill.price, sell=rec.side < 0,
                                liquidity=fill.liquidity, usd_per_ccy=rate)
        rec.commission += charge.commission
        holding, realized = self.account.book_fill(
            rec.contract, qty * rec.side, fill.price, charge.commission, rate)
        exec_id = self._exec_id(t)
        venue = execution_venue(rec)
        execution = Execution(
            execId=exec_id, time=tws_time(t), acctNumber=rec.account, exchange=venue,
            side="BOT" if rec.side > 0 else "SLD", shares=qty, price=fill.price,
            permId=rec.perm_id, clientId=rec.client_id, orderId=rec.order_id, liquidation=0,
            cumQty=cum, avgPrice=rec.avg_price, orderRef=rec.order.orderRef,
            evRule="", evMultiplier=0.0, modelCode=rec.order.modelCode,
            lastLiquidity=fill.liquidity)
        report = CommissionReport(
            execId=exec_id, commission=charge.commission, currency=charge.currency,
            realizedPNL=round(realized * rate, 6) if realized is not None else UNSET_DOUBLE,
            yield_=UNSET_DOUBLE, yieldRedemptionDate=0)
        contract = dataclasses.replace(rec.contract, exchange=venue)
        record = ExecutionRecord(execution, report, contract, rec, t, holding)
        self._records.append(record)
        return record

    def matching(self, flt: ExecutionFilter, day: dt.date) -> list[ExecutionRecord]:
        """Executions of trading day ``day`` (US/Eastern date) that ``flt``
        selects: an empty (or 0 client id) field matches everything; ``side``
        is BUY/SELL (or BOT/SLD); ``time`` keeps executions at or after it."""
        since = parse_filter_time(flt.time)
        side = _SIDES.get(flt.side.strip().upper(), "") if flt.side.strip() else ""
        out = []
        for r in self._records:
            e, c = r.execution, r.contract
            if r.time.astimezone(SIM_TZ).date() != day:
                continue
            if flt.clientId and e.clientId != flt.clientId:
                continue
            if flt.acctCode and flt.acctCode != e.acctNumber:
                continue
            if since is not None and r.time < since:
                continue
            if flt.symbol and flt.symbol.upper() not in (c.symbol.upper(), c.localSymbol.upper()):
                continue
            if flt.secType and flt.secType.upper() != c.secType:
                continue
            if flt.exchange and flt.exchange.upper() not in (e.exchange, r.order.contract.exchange):
                continue
            if side and side != e.side:
                continue
            out.append(r)
        return out

    def day_fills(self, con_id: int, day: dt.date) -> list[tuple[Decimal, float]]:
        """(signed quantity, price) of the executions of ``con_id`` on ``day``."""
        return [(r.execution.shares * r.order.side, r.execution.price) for r in self._records
                if r.contract.conId == con_id and r.time.astimezone(SIM_TZ).date() == day]

    def day_commissions(self, day: dt.date, con_id: int | None = None) -> float:
        """Commissions (USD) of ``day``, of one conId or all."""
        return sum(r.report.commission for r in self._records
                   if r.time.astimezone(SIM_TZ).date() == day
                   and (con_id is None or r.contract.conId == con_id))
