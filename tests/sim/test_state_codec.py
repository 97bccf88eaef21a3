"""The simulator state's JSON codec: protocol records round-trip exactly, and a
file can name only the protocol's own record classes (nothing else is built)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from twsbridge.protocol.codec import UNSET_DECIMAL, UNSET_DOUBLE
from twsbridge.protocol.models import ComboLeg, Contract, DeltaNeutralContract, TagValue
from twsbridge.protocol.order_models import (
    CommissionReport,
    Execution,
    Order,
    OrderComboLeg,
    PriceCondition,
    SoftDollarTier,
    TimeCondition,
)
from twsbridge.sim.store.codec import StateError, decode, dumps, encode, loads


def round_trip(value: object) -> object:
    return decode(loads(dumps(encode(value))))


def test_an_order_with_every_kind_of_field_round_trips() -> None:
    order = Order(
        action="BUY", orderType="LMT", totalQuantity=Decimal("0.001"), lmtPrice=1e-3,
        auxPrice=UNSET_DOUBLE, filledQuantity=UNSET_DECIMAL, tif="GTC", transmit=False,
        algoParams=[TagValue("maxPctVol", "0.1")], orderComboLegs=[OrderComboLeg(1.5)],
        conditions=[PriceCondition(conId=265598, price=400.25, isMore=False),
                    TimeCondition(time="20130301 12:00:00 US/Eastern")],
        softDollarTier=SoftDollarTier("n", "v", "d"), orderRef="ünïcode ☃")
    back = round_trip(order)
    assert back == order
    assert isinstance(back, Order) and back.totalQuantity == Decimal("0.001")
    assert [type(c) for c in back.conditions] == [PriceCondition, TimeCondition]


def test_contracts_executions_and_reports_round_trip() -> None:
    contract = Contract(conId=28812380, symbol="SPY", secType="BAG", comboLegs=[
        ComboLeg(conId=1, ratio=2, action="BUY")], deltaNeutralContract=DeltaNeutralContract(
            conId=3, delta=0.5, price=1.25))
    execution = Execution(execId="0000e0d5.5130a8c5.01.01", shares=Decimal(100), price=434.93)
    report = CommissionReport(execId=execution.execId, commission=1.0, currency="USD",
                              realizedPNL=UNSET_DOUBLE)
    for value in (contract, execution, report, Contract()):
        assert round_trip(value) == value


def test_only_default_differing_fields_are_written() -> None:
    assert encode(Order()) == {"$type": "Order"}
    assert encode(Order(lmtPrice=1.0)) == {"$type": "Order", "lmtPrice": 1.0}


def test_a_file_cannot_name_another_class_or_field() -> None:
    with pytest.raises(StateError, match="unknown record type 'Popen'"):
        decode({"$type": "Popen", "args": ["rm", "-rf", "/"]})
    with pytest.raises(StateError, match="bad Order record"):
        decode({"$type": "Order", "noSuchField": 1})
    with pytest.raises(StateError, match="damaged record"):
        loads("{not json")
    with pytest.raises(TypeError):
        encode(object())
