"""openOrder, completedOrder, orderStatus, execDetails, commissionReport, pnl and
pnlSingle as we encode them, read by IB's own decoder.

``ibapi.decoder.Decoder`` must read every field of our frames and report, for
every field on the wire, the value our object holds: the orders of
``test_orders_oracle.ORDERS`` as open and as completed orders, fixed samples of
the other messages, and random messages of every kind (every field drawn).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import UNSET_DOUBLE, UNSET_INTEGER, encode_message
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.order_models import CommissionReport, Execution, OrderState
from twsbridge.protocol.spec import F, Flag, Group, Message, PolyGroup, When, _Item

from .strategies import messages
from .test_orders_oracle import IB_NAMES, ORDERS, Row, ib_decode

VERSIONS = (157, 163, 166, 170, 176, 178)

STATE = OrderState(
    status="Submitted", initMarginBefore="1000.5", maintMarginBefore="900.25",
    equityWithLoanBefore="50000", initMarginChange="10.5", maintMarginChange="9.5",
    equityWithLoanChange="-1.25", initMarginAfter="1011", maintMarginAfter="909.75",
    equityWithLoanAfter="49998.75", commission=1.25, minCommission=1.0, maxCommission=2.5,
    commissionCurrency="USD", warningText="odd lot",
)


def wire(items: Sequence[_Item], obj: Any, version: int) -> Iterator[_Item]:
    """The items of ``items`` on the wire for ``obj`` at ``version`` (When resolved)."""
    for it in items:
        if not it.present(version):
            continue
        if isinstance(it, When):
            if it.predicate(obj):
                yield from wire(it.items, obj, version)
        else:
            yield it


def get(obj: Any, path: str, *, ib: bool = False) -> Any:
    for name in path.split("."):
        obj = getattr(obj, IB_NAMES.get(name, name) if ib else name)
    return obj


def same(ours: Any, theirs: Any) -> bool:
    if ours == theirs:
        return True
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(theirs):
        return False
    # IB's decoder reads an empty field as 0 where it does not keep "unset", and an
    # empty tri-state boolean (usePriceMgmtAlgo) as False
    return (ours in (UNSET_INTEGER, UNSET_DOUBLE) and theirs == 0) or (
        ours is None and theirs is False)


def compare(items: Sequence[_Item], ours: Any, theirs: Any, version: int, where: str) -> None:
    """Every field ``items`` put on the wire: ``ours`` holds what ``theirs`` (ibapi) reports."""
    for it in wire(items, ours, version):
        if isinstance(it, F):
            if it.path == "order.faProfile":  # read and dropped by IB's decoder (< 177)
                continue
            a, b = get(ours, it.path), get(theirs, it.path, ib=True)
            assert same(a, b), f"{where}.{it.path}: ours {a!r}, IB's decoder {b!r}"
        elif isinstance(it, (Group, PolyGroup)):
            a, b = get(ours, it.path), get(theirs, it.path, ib=True) or []
            assert len(a) == len(b), f"{where}.{it.path}: {len(a)} items, IB's {len(b)}"
            for k, (x, y) in enumerate(zip(a, b, strict=True)):
                if isinstance(it, PolyGroup):
                    assert getattr(x, it.tag) == getattr(y, it.tag)
                    sub: Sequence[_Item] = it.variants[getattr(x, it.tag)][1]
                else:
                    assert it.item_type is not None
                    sub = it.items
                compare(sub, x, y, version, f"{where}.{it.path}[{k}]")
        elif isinstance(it, Flag):
            a, b = get(ours, it.path), get(theirs, it.path, ib=True)
            assert (a is None) == (b is None), f"{where}.{it.path}: {a!r} / {b!r}"
            if a is not None:
                compare(it.items, a, b, version, f"{where}.{it.path}")


def reported(msg: Message, version: int) -> tuple[str, tuple[Any, ...]]:
    """IB's decoder's callback for our frame of ``msg`` (it must read every field)."""
    return ib_decode(version, encode_message(msg, version))


def check(msg: Message, version: int) -> None:
    """IB's decoder reports every field of ``msg`` as we hold it."""
    name, args = reported(msg, version)
    assert name == msg.NAME
    if isinstance(msg, I.OpenOrder):
        order_id, contract, order, state = args
        assert same(msg.orderId, order_id)
        theirs: Any = {"contract": contract, "order": order, "orderState": state}
    elif isinstance(msg, I.CompletedOrder):
        theirs = dict(zip(("contract", "order", "orderState"), args, strict=True))
    elif isinstance(msg, I.ExecDetails):
        theirs = {"reqId": args[0], "contract": args[1], "execution": args[2]}
    elif isinstance(msg, I.CommissionReportMessage):
        theirs = {"commissionReport": args[0], "version": msg.version}
    else:
        names = [f.name for f in dataclasses.fields(msg)]  # type: ignore[arg-type]
        theirs = dict(zip(names, args, strict=False))
    # fields IB's decoder reads and drops (obsolete ones) are not reported
    dropped = {"sharesAllocation", "eTradeOnly", "firmQuoteOnly", "nbboPriceCap", "orderId"}
    items = [it for it in type(msg).WIRE
             if getattr(it, "path", "x").split(".")[0] not in dropped]
    compare(items, msg, type("Reported", (), theirs), version, msg.NAME)


def open_order(r: Row) -> I.OpenOrder:
    order = dataclasses.replace(r.order, clientId=3, permId=1376327563)
    return I.OpenOrder(orderId=r.orderId, contract=r.contract, order=order, orderState=STATE)


def completed_order(r: Row) -> I.CompletedOrder:
    order = dataclasses.replace(r.order, permId=1376327563, filledQuantity=Decimal(40),
                                parentPermId=1376327000, autoCancelDate="20231031",
                                refFuturesConId=495512557, shareholder="sh1")
    state = OrderState(status="Cancelled", completedTime="20231020 10:00:01 US/Eastern",
                       completedStatus="Cancelled by Trader")
    return I.CompletedOrder(contract=r.contract, order=order, orderState=state)


PARAMS = [pytest.param(r, v, id=f"{r.name}-v{v}") for r in ORDERS for v in VERSIONS
          if v >= r.since]


@pytest.mark.parametrize(("r", "version"), PARAMS)
def test_open_order_as_ibapi_reads_it(r: Row, version: int) -> None:
    msg = open_order(r)
    check(msg, version)
    # the values the brief names, spelled out
    _, (order_id, contract, order, state) = reported(msg, version)
    assert (order_id, contract.conId, contract.symbol) == (
        r.orderId, r.contract.conId, r.contract.symbol)
    o = r.order
    assert (order.action, order.totalQuantity, order.orderType, order.tif) == (
        o.action, o.totalQuantity, o.orderType, o.tif)
    assert (order.lmtPrice, order.auxPrice) == (o.lmtPrice, o.auxPrice)
    assert (order.ocaGroup, order.parentId, order.whatIf) == (o.ocaGroup, o.parentId, o.whatIf)
    assert [(t.tag, t.value) for t in order.algoParams or []] == [
        (t.tag, t.value) for t in o.algoParams]
    assert [c.type() for c in order.conditions] == [c.condType for c in o.conditions]
    assert (state.status, state.commissionAndFees) == ("Submitted", 1.25)
    assert (state.initMarginBefore, state.equityWithLoanAfter) == ("1000.5", "49998.75")


@pytest.mark.parametrize(("r", "version"), PARAMS)
def test_completed_order_as_ibapi_reads_it(r: Row, version: int) -> None:
    check(completed_order(r), version)


EXEC = I.ExecDetails(reqId=7, contract=ORDERS[0].contract, execution=Execution(
    execId="0000e0d5.6576fd38.01.01", time="20231020 10:00:01 US/Eastern", acctNumber="DU1",
    exchange="ISLAND", side="BOT", shares=Decimal("10.5"), price=171.25, permId=1376327563,
    clientId=3, orderId=12, liquidation=1, cumQty=Decimal(20), avgPrice=171.125,
    orderRef="ref", evRule="aapl rule", evMultiplier=0.5, modelCode="m1", lastLiquidity=2,
    pendingPriceRevision=True,
))
SAMPLES: list[Message] = [
    I.OrderStatus(orderId=12, status="Filled", filled=Decimal(10), remaining=Decimal(0),
                  avgFillPrice=172.0, permId=1376327563, parentId=11, lastFillPrice=171.25,
                  clientId=3, whyHeld="locate", mktCapPrice=0.0),
    EXEC,
    dataclasses.replace(EXEC, reqId=-1),
    I.CommissionReportMessage(CommissionReport(
        execId="0000e0d5.6576fd38.01.01", commission=1.0, currency="USD", realizedPNL=12.5,
        yield_=UNSET_DOUBLE, yieldRedemptionDate=20301231)),
    I.PnL(reqId=4, dailyPnL=12.5, unrealizedPnL=-3.25, realizedPnL=UNSET_DOUBLE),
    I.PnLSingle(reqId=5, pos=Decimal(100), dailyPnL=12.5, unrealizedPnL=-3.25,
                realizedPnL=UNSET_DOUBLE, value=17150.0),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: m.NAME)
def test_samples_as_ibapi_reads_them(msg: Message, version: int) -> None:
    check(msg, version)


def test_the_brief_values_of_the_samples() -> None:
    _, (req_id, contract, execution) = reported(EXEC, 178)
    assert (req_id, contract.conId, contract.symbol) == (7, 265598, "AAPL")
    assert (execution.execId, execution.shares, execution.price, execution.side) == (
        "0000e0d5.6576fd38.01.01", Decimal("10.5"), 171.25, "BOT")
    assert (execution.cumQty, execution.avgPrice, execution.orderId) == (Decimal(20), 171.125, 12)
    assert execution.pendingPriceRevision is True
    _, (report,) = reported(SAMPLES[3], 157)
    assert (report.commissionAndFees, report.currency, report.realizedPNL) == (1.0, "USD", 12.5)
    assert reported(SAMPLES[4], 157)[1] == (4, 12.5, -3.25, UNSET_DOUBLE)
    assert reported(SAMPLES[5], 178)[1] == (5, Decimal(100), 12.5, -3.25, UNSET_DOUBLE, 17150.0)
    assert reported(SAMPLES[0], 166)[1] == (
        12, "Filled", Decimal(10), Decimal(0), 172.0, 1376327563, 11, 171.25, 3, "locate", 0.0)


IN_CLASSES = [I.OpenOrder, I.CompletedOrder, I.OrderStatus, I.ExecDetails,
              I.CommissionReportMessage, I.PnL, I.PnLSingle]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", IN_CLASSES, ids=lambda c: c.NAME)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_messages_as_ibapi_reads_them(
    cls: type[Message], version: int, data: st.DataObject
) -> None:
    check(data.draw(messages(cls, version)), version)
