"""P&L subscriptions of one session: reqPnL (92) and reqPnLSingle (94).

TWS answers each with a first pnl (94) / pnlSingle (95) at once, then sends
one whenever the values changed, about once a second. Here "a second" is one
real second of the simulated clock (``max(1, speed)`` simulated seconds), and
for a frozen clock one simulated second.

Values are in the base currency (USD):

* ``dailyPnL``: mark-to-market since the previous close: the position held at
  the start of the day times the move from the previous close, plus each of
  today's fills times the move from its price, less today's commissions;
* ``unrealizedPnL``: market value less position times average cost (which
  includes the opening commissions);
* ``realizedPnL``: P&L booked by closing fills, net of commissions;
* ``value`` (pnlSingle): the position's market value; ``pos`` its size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.spec import Message
from twsbridge.sim.reference.calendar import SIM_TZ

if TYPE_CHECKING:
    from twsbridge.sim.simulator import Simulator

__all__ = ["PnLFeeds", "PnLValues"]


@dataclass(frozen=True, slots=True)
class PnLValues:
    """P&L of one contract (or the account), base currency; ``pos`` and
    ``value`` are set for one contract only."""

    daily: float
    unrealized: float
    realized: float
    pos: Decimal = Decimal(0)
    value: float = 0.0


@dataclass(slots=True)
class _Sub:
    con_id: int | None
    next_due: dt.datetime
    sent: tuple[float, ...] | None = None


class PnLFeeds:
    """The P&L subscriptions of one session."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self._subs: dict[int, _Sub] = {}

    # ------------------------------------------------------------ values
    def contract_pnl(self, con_id: int, now: dt.datetime) -> PnLValues:
        """P&L of one contract at ``now``."""
        sim = self.sim
        inst = sim.book.by_conid(con_id)
        h = sim.account.holdings.get(con_id)
        if inst is None:
            return PnLValues(0.0, 0.0, 0.0)
        ccy = inst.currency
        rate = sim.fx_rate(ccy, now)
        mult = float(inst.multiplier or 1)
        price = sim.prices.price_at(con_id, now)
        day = now.astimezone(SIM_TZ).date()
        fills = sim.broker.ledger.day_fills(con_id, day)
        pos = h.position if h is not None else Decimal(0)
        start = float(pos) - sum(float(q) for q, _ in fills)
        prev_close = sim.prices.quote(con_id, now).close
        daily = start * (price - prev_close) * mult
        daily += sum(float(q) * (price - p) * mult for q, p in fills)
        daily = daily * rate - sim.broker.ledger.day_commissions(day, con_id)
        if h is None:
            return PnLValues(daily, 0.0, 0.0)
        value = float(pos) * price * mult
        unrealized = (value - float(pos) * h.avgCost) * rate
        return PnLValues(daily, unrealized, h.realizedPnL * rate, pos, value * rate)

    def account_pnl(self, now: dt.datetime) -> PnLValues:
        """P&L of the whole account at ``now``."""
        day = now.astimezone(SIM_TZ).date()
        traded = {r.contract.conId for r in self.sim.broker.execution_records()
                  if r.time.astimezone(SIM_TZ).date() == day}
        con_ids = set(self.sim.account.holdings) | traded
        parts = [self.contract_pnl(c, now) for c in sorted(con_ids)]
        return PnLValues(sum(p.daily for p in parts), sum(p.unrealized for p in parts),
                         sum(p.realized for p in parts))

    # ------------------------------------------------------ subscriptions
    def _interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=max(1.0, self.sim.clock.speed))

    def req_pnl(self, req_id: int, now: dt.datetime) -> list[Message]:
        """reqPnL: the account's pnl now; updates follow."""
        self._subs[req_id] = _Sub(None, now)
        return self._due(req_id, self._subs[req_id], now)

    def req_pnl_single(self, req_id: int, con_id: int, now: dt.datetime) -> list[Message]:
        """reqPnLSingle: one contract's pnlSingle now; updates follow."""
        self._subs[req_id] = _Sub(con_id, now)
        return self._due(req_id, self._subs[req_id], now)

    def cancel(self, req_id: int) -> None:
        """cancelPnL / cancelPnLSingle."""
        self._subs.pop(req_id, None)

    def _due(self, req_id: int, sub: _Sub, now: dt.datetime) -> list[Message]:
        sub.next_due = now + self._interval()
        if sub.con_id is None:
            v = self.account_pnl(now)
            key: tuple[float, ...] = (round(v.daily, 2), round(v.unrealized, 2),
                                      round(v.realized, 2))
            if key == sub.sent:
                return []
            sub.sent = key
            return [incoming.PnL(reqId=req_id, dailyPnL=v.daily, unrealizedPnL=v.unrealized,
                                 realizedPnL=v.realized)]
        v = self.contract_pnl(sub.con_id, now)
        key = (float(v.pos), round(v.daily, 2), round(v.unrealized, 2), round(v.realized, 2),
               round(v.value, 2))
        if key == sub.sent:
            return []
        sub.sent = key
        return [incoming.PnLSingle(reqId=req_id, pos=v.pos, dailyPnL=v.daily,
                                   unrealizedPnL=v.unrealized, realizedPnL=v.realized,
                                   value=v.value)]

    def poll(self, now: dt.datetime) -> list[Message]:
        """Updates of the subscriptions that are due and changed."""
        out: list[Message] = []
        for req_id, sub in list(self._subs.items()):
            if now >= sub.next_due:
                out.extend(self._due(req_id, sub, now))
        return out
