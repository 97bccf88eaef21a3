"""Order records of the simulated broker and the events it publishes.

:class:`SimOrder` is one order as the broker keeps it (ids, contract, the
order as last placed, status, fills). The broker publishes :data:`BrokerEvent`
values; every connected session's feed turns the ones it may see into TWS
messages (openOrder 5, orderStatus 3, execDetails 11, commissionReport 59,
error 4, position 61).

Status texts are TWS's (``OrderStatus`` of the API): ``PreSubmitted``,
``Submitted``, ``PendingCancel``, ``Cancelled``, ``Filled``, ``Inactive``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from twsbridge.protocol.models import Contract
from twsbridge.protocol.order_models import CommissionReport, Execution, Order, OrderState
from twsbridge.sim.broker.account import Holding
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "CANCELLED",
    "DONE",
    "FILLED",
    "INACTIVE",
    "PENDING_CANCEL",
    "PRE_SUBMITTED",
    "SUBMITTED",
    "UNSET_MARGIN",
    "BrokerEvent",
    "CommissionEvent",
    "ErrorEvent",
    "ExecEvent",
    "FillEvent",
    "OrderEvent",
    "SimOrder",
    "WhatIfEvent",
    "format_size",
    "tws_time",
]

PRE_SUBMITTED = "PreSubmitted"
SUBMITTED = "Submitted"
PENDING_CANCEL = "PendingCancel"
CANCELLED = "Cancelled"
FILLED = "Filled"
INACTIVE = "Inactive"
#: Statuses after which an order no longer works.
DONE = frozenset({CANCELLED, FILLED, INACTIVE})

UNSET_MARGIN = "1.7976931348623157E308"
"""How TWS writes an unset margin value of an OrderState (Java's Double.MAX_VALUE)."""


def format_size(qty: Decimal) -> str:
    """A quantity as TWS prints it in texts ("100", "0.5")."""
    return format(qty.normalize(), "f")


def tws_time(t: dt.datetime) -> str:
    """TWS's time text of executions and completed orders:
    ``'20130301 10:00:05 US/Eastern'`` (exchange time zone)."""
    return f"{t.astimezone(SIM_TZ):%Y%m%d %H:%M:%S} US/Eastern"


@dataclass(slots=True, eq=False)
class SimOrder:
    """One order of the simulated broker.

    ``client_id``/``order_id`` identify it for its API client (0/0 for an
    unbound manual TWS order), ``perm_id`` everywhere. ``order`` is the order
    as last placed or modified; ``filled`` and ``avg_price``/``last_price``
    (contract currency) follow the executions; ``commission`` sums the
    commissions of its executions (USD).
    """

    client_id: int
    order_id: int
    perm_id: int
    contract: Contract
    inst: Instrument
    order: Order
    account: str
    placed: dt.datetime
    status: str = PRE_SUBMITTED
    transmitted: bool = False
    filled: Decimal = Decimal(0)
    avg_price: float = 0.0
    last_price: float = 0.0
    why_held: str = ""
    triggered: bool = False
    trail_stop: float | None = None
    trail_extreme: float | None = None
    commission: float = 0.0
    done_at: dt.datetime | None = None
    completed_status: str = ""
    manual: bool = False
    parent: SimOrder | None = None
    children: list[SimOrder] = field(default_factory=list)
    expires: dt.datetime | None = None
    quote_epoch: int = -1

    # ------------------------------------------------------------ state
    @property
    def total(self) -> Decimal:
        """The order's total quantity."""
        return self.order.totalQuantity

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return max(self.total - self.filled, Decimal(0))

    @property
    def done(self) -> bool:
        """Filled, cancelled or inactive."""
        return self.status in DONE

    @property
    def working(self) -> bool:
        """Transmitted and not done."""
        return self.transmitted and not self.done

    @property
    def side(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self.order.action.upper() == "BUY" else -1

    @property
    def order_type(self) -> str:
        """The order type in upper case (``"STP LMT"``)."""
        return self.order.orderType.upper()

    @property
    def api_order(self) -> bool:
        """True for an order placed through the API (not a manual TWS order)."""
        return not self.manual

    # ------------------------------------------------------------ renders
    def wire_order(self) -> Order:
        """The order as openOrder/completedOrder carry it: the client's order
        with the ids, account, current trailing stop and filled quantity."""
        extra: dict[str, object] = {
            "orderId": self.order_id, "clientId": self.client_id, "permId": self.perm_id,
            "account": self.order.account or self.account,
            "filledQuantity": self.filled,
            "clearingIntent": self.order.clearingIntent or "IB",
        }
        if self.parent is not None:
            extra["parentPermId"] = self.parent.perm_id
        if self.trail_stop is not None:
            extra["trailStopPrice"] = self.trail_stop
        return dataclasses.replace(self.order, **extra)  # type: ignore[arg-type]

    def order_state(self) -> OrderState:
        """openOrder's OrderState: the status; on a done order its commission,
        completion time and completion status."""
        state = OrderState(status=self.status)
        for name in _MARGIN_FIELDS:
            setattr(state, name, UNSET_MARGIN)
        if self.done:
            if self.commission:
                state.commission = round(self.commission, 6)
                state.commissionCurrency = "USD"
            if self.done_at is not None:
                state.completedTime = tws_time(self.done_at)
            state.completedStatus = self.completed_status
        return state


_MARGIN_FIELDS = (
    "initMarginBefore", "maintMarginBefore", "equityWithLoanBefore", "initMarginChange",
    "maintMarginChange", "equityWithLoanChange", "initMarginAfter", "maintMarginAfter",
    "equityWithLoanAfter",
)


# ---------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed: orderStatus, preceded by openOrder when ``open_order``."""

    order: SimOrder
    open_order: bool = True


@dataclass(frozen=True, slots=True)
class ExecEvent:
    """An execution of ``order``: execDetails with reqId -1."""

    order: SimOrder
    execution: Execution
    contract: Contract


@dataclass(frozen=True, slots=True)
class CommissionEvent:
    """The commissionReport of an execution of ``order``."""

    order: SimOrder
    report: CommissionReport


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An error frame for one client: ``req_id`` is the order id."""

    client_id: int
    req_id: int
    code: int
    text: str
    order: SimOrder | None = None


@dataclass(frozen=True, slots=True)
class WhatIfEvent:
    """The answer to a what-if order: one openOrder to the placing client."""

    client_id: int
    order_id: int
    contract: Contract
    order: Order
    state: OrderState


@dataclass(frozen=True, slots=True)
class FillEvent:
    """A fill moved a position: position (61) to reqPositions subscribers,
    account and portfolio updates due."""

    holding: Holding


BrokerEvent = OrderEvent | ExecEvent | CommissionEvent | ErrorEvent | WhatIfEvent | FillEvent
