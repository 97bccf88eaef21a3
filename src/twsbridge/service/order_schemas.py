"""Request and response models of the order routes (Create / Update / Public).

Field names are TWS's (``totalQuantity``, ``lmtPrice``, ``auxPrice``, ``tif``,
``ocaGroup`` …). Validation errors name the field: ``body.lmtPrice: Value
error, lmtPrice is required for orderType LMT``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twsbridge.protocol import Contract
from twsbridge.protocol.order_models import Order, OrderState

from .journal.models import CommissionRecord, ExecutionRecord, OrderRecord
from .schemas import TWS_INT_MAX, Money, MoneyRounding, PriceValue, Size, TwsPrice, price

__all__ = [
    "LIMIT_TYPES",
    "STOP_TYPES",
    "CommissionPublic",
    "ExecutionPublic",
    "OrderContractPublic",
    "OrderCreate",
    "OrderPreviewPublic",
    "OrderPublic",
    "OrderUpdate",
]

OrderType = Literal[
    "MKT", "LMT", "STP", "STP LMT", "MIT", "LIT", "MOC", "LOC", "TRAIL", "TRAIL LIMIT",
    "MTL", "MIDPRICE", "REL",
]
#: Order types that need ``lmtPrice``.
LIMIT_TYPES = frozenset({"LMT", "STP LMT", "LIT", "LOC", "TRAIL LIMIT"})
#: Order types that need ``auxPrice`` (the stop / trigger price; TRAIL: the trailing amount
#: unless ``trailingPercent`` is given).
STOP_TYPES = frozenset({"STP", "STP LMT", "MIT", "LIT", "TRAIL", "TRAIL LIMIT"})
_OPTIONAL_LIMIT = frozenset({"MIDPRICE", "REL"})


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Upper = BeforeValidator(_upper)
Action = Annotated[Literal["BUY", "SELL"], Upper]
Tif = Annotated[Literal["DAY", "GTC", "IOC", "FOK", "GTD", "OPG", "DTC"], Upper]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


def _check_prices(order_type: str, lmt: float | None, aux: float | None,
                  trailing_percent: float | None, field: str) -> None:
    if field == "lmtPrice":
        if order_type in LIMIT_TYPES and lmt is None:
            raise ValueError(f"lmtPrice is required for orderType {order_type}")
        if order_type not in LIMIT_TYPES | _OPTIONAL_LIMIT and lmt is not None:
            raise ValueError(f"orderType {order_type} takes no lmtPrice")
    elif field == "auxPrice":
        needs = order_type in STOP_TYPES and not (order_type.startswith("TRAIL")
                                                  and trailing_percent is not None)
        if needs and aux is None:
            raise ValueError(f"auxPrice is required for orderType {order_type}")
        if order_type not in STOP_TYPES and aux is not None:
            raise ValueError(f"orderType {order_type} takes no auxPrice")


class OrderCreate(BaseModel):
    """A new order: the contract (``conId``, or ``symbol`` with ``secType``, ``exchange``,
    ``currency``) and TWS's order fields."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"symbol": "AAPL", "action": "BUY", "totalQuantity": 100, "orderType": "LMT",
         "lmtPrice": 430.5, "tif": "DAY"},
    ]})

    conId: int | None = Field(None, gt=0, le=TWS_INT_MAX,
                              description="IB contract id, e.g. 265598 (AAPL).")
    symbol: str | None = Field(None, min_length=1, validate_default=True,
                               description="Symbol, when no conId is given.")
    secType: Annotated[str, Upper] = Field("STK", description="STK, CASH, FUT ...")
    exchange: Annotated[str | None, Upper] = Field(
        None, description="SMART (default; IDEALPRO for CASH).")
    primaryExchange: Annotated[str | None, Upper] = None
    currency: Annotated[str | None, Upper] = Field(None, description="USD (default).")
    action: Action
    totalQuantity: Quantity
    orderType: Annotated[OrderType, Upper]
    trailingPercent: float | None = Field(None, gt=0, lt=100)
    lmtPrice: Price | None = Field(None, validate_default=True)
    auxPrice: Price | None = Field(None, validate_default=True)
    tif: Tif = "DAY"
    goodTillDate: str | None = Field(None, description="For tif GTD: 'yyyymmdd hh:mm:ss TZ'.")
    outsideRth: bool = False
    account: str | None = Field(None, description="Account code; TWS's default when unset.")
    orderRef: str | None = Field(None, max_length=128)
    transmit: bool = True
    parentId: int | None = Field(None, gt=0, le=TWS_INT_MAX,
                                 description="orderId of the parent (brackets).")
    ocaGroup: str | None = Field(None, max_length=64)
    ocaType: Literal[1, 2, 3] | None = None

    @field_validator("symbol")
    @classmethod
    def _contract_given(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("conId") is None:
            raise ValueError("give symbol or conId")
        return value

    @field_validator("lmtPrice", "auxPrice")
    @classmethod
    def _prices_fit_type(cls, value: float | None, info: ValidationInfo) -> float | None:
        order_type = info.data.get("orderType")
        if order_type is None:
            return value  # orderType itself failed; that error names it
        lmt = value if info.field_name == "lmtPrice" else info.data.get("lmtPrice")
        aux = value if info.field_name == "auxPrice" else info.data.get("auxPrice")
        _check_prices(order_type, lmt, aux, info.data.get("trailingPercent"),
                      info.field_name or "")
        return value

    @model_validator(mode="after")
    def _gtd_date(self) -> OrderCreate:
        if self.tif == "GTD" and not self.goodTillDate:
            raise ValueError("goodTillDate is required for tif GTD")
        return self

    def to_order(self) -> Order:
        """The TWS :class:`Order` to place."""
        order = Order(
            action=self.action, totalQuantity=self.totalQuantity, orderType=self.orderType,
            tif=self.tif, outsideRth=self.outsideRth, transmit=self.transmit,
            account=self.account or "", orderRef=self.orderRef or "",
            parentId=self.parentId or 0, ocaGroup=self.ocaGroup or "",
            goodTillDate=self.goodTillDate or "",
        )
        if self.lmtPrice is not None:
            order.lmtPrice = self.lmtPrice
        if self.auxPrice is not None:
            order.auxPrice = self.auxPrice
        if self.trailingPercent is not None:
            order.trailingPercent = self.trailingPercent
        if self.ocaType is not None:
            order.ocaType = self.ocaType
        return order


class OrderUpdate(BaseModel):
    """New terms for a working order (sent to TWS as a modification: the same orderId)."""

    model_config = ConfigDict(extra="forbid")

    totalQuantity: Quantity | None = None
    lmtPrice: Price | None = None
    auxPrice: Price | None = None
    trailingPercent: float | None = Field(None, gt=0, lt=100)
    tif: Tif | None = None
    goodTillDate: str | None = None
    outsideRth: bool | None = None
    orderRef: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _something(self) -> OrderUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def apply(self, order: Order) -> None:
        """Change ``order`` in place; 422-style ValueError naming a field that does not fit."""
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            if value is not None:
                setattr(order, name, value)
        for name in ("lmtPrice", "auxPrice"):
            if name in self.model_fields_set:
                _check_prices(order.orderType, price(order.lmtPrice), price(order.auxPrice),
                              price(order.trailingPercent), name)


class OrderContractPublic(BaseModel):
    """The contract of an order, as the journal keeps it."""

    conId: int | None
    symbol: str | None
    secType: str | None
    exchange: str | None
    currency: str | None


class CommissionPublic(MoneyRounding):
    """The commission report of one execution: ``commission`` to 8 decimals at most (IB
    charges fractions of a cent), ``realizedPNL`` to the minor unit of ``currency``."""

    commission: TwsPrice
    currency: str
    realizedPNL: Money = Field(description="null on an opening fill.")
    source: Literal["live", "reconcile"]

    @classmethod
    def from_record(cls, r: CommissionRecord) -> CommissionPublic:
        """Convert a journal row."""
        return cls(commission=r.commission, currency=r.currency, realizedPNL=r.realized_pnl,
                   source="reconcile" if r.source == "reconcile" else "live")


class ExecutionPublic(BaseModel):
    """One execution from the journal, with its commission (null until reported)."""

    execId: str
    orderId: int
    permId: int | None
    clientId: int
    account: str
    conId: int
    symbol: str
    secType: str
    currency: str
    side: str = Field(description="BOT or SLD.")
    shares: Size
    price: PriceValue = Field(description="Price of the fill.")
    cumQty: Size
    avgPrice: TwsPrice
    exchange: str
    orderRef: str | None
    time: str = Field(description="TWS's text, e.g. '20130301 10:05:03 US/Eastern'.")
    timeUtc: dt.datetime | None = Field(description="The same time in UTC.")
    source: Literal["live", "reconcile"] = Field(
        description="'reconcile' when the journal learned of it by reconciliation.")
    commission: CommissionPublic | None

    @classmethod
    def from_record(cls, r: ExecutionRecord) -> ExecutionPublic:
        """Convert a journal row (its ``commission`` loaded)."""
        return cls(
            execId=r.exec_id, orderId=r.order_id, permId=r.perm_id, clientId=r.client_id,
            account=r.account, conId=r.con_id, symbol=r.symbol, secType=r.sec_type,
            currency=r.currency, side=r.side, shares=r.shares, price=r.price, cumQty=r.cum_qty,
            avgPrice=r.avg_price, exchange=r.exchange, orderRef=r.order_ref, time=r.time_text,
            timeUtc=r.time, source="reconcile" if r.source == "reconcile" else "live",
            commission=None if r.commission is None else CommissionPublic.from_record(
                r.commission),
        )


class OrderPublic(BaseModel):
    """An order as the journal knows it: terms, latest status, executions."""

    orderId: int
    permId: int | None
    clientId: int
    parentId: int | None
    account: str | None
    contract: OrderContractPublic
    action: str | None
    totalQuantity: Size
    orderType: str | None
    lmtPrice: TwsPrice
    auxPrice: TwsPrice
    tif: str | None
    outsideRth: bool
    ocaGroup: str | None
    orderRef: str | None
    transmit: bool
    status: str = Field(description="TWS's status (Submitted, Filled, Cancelled ...) or "
                                    "'Rejected' when TWS refused the order.")
    filled: Size
    remaining: Size
    avgFillPrice: TwsPrice
    lastFillPrice: TwsPrice
    whyHeld: str | None
    errorCode: int | None = Field(description="TWS's error code of a rejection.")
    errorMessage: str | None
    completedTime: str | None
    createdAt: dt.datetime
    updatedAt: dt.datetime
    executions: list[ExecutionPublic]

    @classmethod
    def from_record(cls, r: OrderRecord) -> OrderPublic:
        """Convert a journal row (its ``executions`` loaded)."""
        return cls(
            orderId=r.order_id, permId=r.perm_id, clientId=r.client_id, parentId=r.parent_id,
            account=r.account,
            contract=OrderContractPublic(conId=r.con_id, symbol=r.symbol, secType=r.sec_type,
                                         exchange=r.exchange, currency=r.currency),
            action=r.action, totalQuantity=r.total_quantity, orderType=r.order_type,
            lmtPrice=r.lmt_price, auxPrice=r.aux_price, tif=r.tif, outsideRth=r.outside_rth,
            ocaGroup=r.oca_group, orderRef=r.order_ref, transmit=r.transmit, status=r.status,
            filled=r.filled, remaining=r.remaining, avgFillPrice=r.avg_fill_price,
            lastFillPrice=r.last_fill_price, whyHeld=r.why_held, errorCode=r.error_code,
            errorMessage=r.error_message, completedTime=r.completed_time,
            createdAt=r.created_at, updatedAt=r.updated_at,
            executions=[ExecutionPublic.from_record(e) for e in r.executions],
        )


def _margin(text: str) -> float | None:
    try:
        return price(float(text)) if text else None
    except ValueError:
        return None


class OrderPreviewPublic(MoneyRounding):
    """What-if answer: commission and margin impact; nothing was placed.

    Commissions have 8 decimals at most; margin and equity figures (the account's base
    currency) are rounded to cents.
    """

    _money_currency: ClassVar[str] = ""  # margins: the base currency, not the commission's

    contract: OrderContractPublic
    action: str
    totalQuantity: Size
    orderType: str
    lmtPrice: TwsPrice
    status: str
    commission: TwsPrice
    minCommission: TwsPrice
    maxCommission: TwsPrice
    commissionCurrency: str | None
    initMarginBefore: Money
    initMarginChange: Money
    initMarginAfter: Money
    maintMarginBefore: Money
    maintMarginChange: Money
    maintMarginAfter: Money
    equityWithLoanBefore: Money
    equityWithLoanChange: Money
    equityWithLoanAfter: Money
    warningText: str | None

    @classmethod
    def from_tws(cls, contract: Contract, order: Order, state: OrderState) -> OrderPreviewPublic:
        """Convert the what-if :class:`OrderState` of ``order``."""
        return cls(
            contract=OrderContractPublic(conId=contract.conId, symbol=contract.symbol,
                                         secType=contract.secType, exchange=contract.exchange,
                                         currency=contract.currency),
            action=order.action, totalQuantity=order.totalQuantity, orderType=order.orderType,
            lmtPrice=price(order.lmtPrice), status=state.status,
            commission=price(state.commission), minCommission=price(state.minCommission),
            maxCommission=price(state.maxCommission),
            commissionCurrency=state.commissionCurrency or None,
            initMarginBefore=_margin(state.initMarginBefore),
            initMarginChange=_margin(state.initMarginChange),
            initMarginAfter=_margin(state.initMarginAfter),
            maintMarginBefore=_margin(state.maintMarginBefore),
            maintMarginChange=_margin(state.maintMarginChange),
            maintMarginAfter=_margin(state.maintMarginAfter),
            equityWithLoanBefore=_margin(state.equityWithLoanBefore),
            equityWithLoanChange=_margin(state.equityWithLoanChange),
            equityWithLoanAfter=_margin(state.equityWithLoanAfter),
            warningText=state.warningText or None,
        )
