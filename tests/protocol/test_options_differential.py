"""The options family and reqMktData against IB's own client and decoder, at every
server version 157-178 (see :mod:`.test_orders_oracle`).

Client to server: for equity options, index options, futures options and BAG
contracts, the bytes we encode are the bytes ``ibapi.client.EClient`` writes,
and they decode back to the message. Server to client: ``ibapi.decoder.Decoder``
reads every field of the frames we encode and reports the values we hold, with
"not computed" greeks as None on both sides.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import UNSET_DOUBLE, UNSET_INTEGER, decode_message, encode_message
from twsbridge.protocol.catalogue import options as OPT
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.models import ComboLeg, Contract, DeltaNeutralContract
from twsbridge.protocol.spec import Message

from .cases import AAPL, BAG, ES_FOP, SPX_P, SPY_C
from .strategies import ascii_values, messages
from .test_orders_differential import check
from .test_orders_oracle import Recorder, to_ib

pytest.importorskip("ibapi")

from ibapi.decoder import Decoder

VERSIONS = tuple(range(157, 179))
RANDOM_VERSIONS = (157, 166, 178)
RANDOM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPTIONS = {"equity-option": SPY_C, "index-option": SPX_P, "fop": ES_FOP}
#: (underlyingSymbol, futFopExchange, underlyingSecType, underlyingConId)
UNDERLYINGS = {
    "equity": ("SPY", "", "STK", 756733),
    "index": ("SPX", "", "IND", 416904),
    "future": ("ES", "CME", "FUT", 551601561),
}
BAG_DN = dataclasses.replace(BAG, deltaNeutralContract=DeltaNeutralContract(756733, 0.5, 450.25))
#: A vertical spread of SPX options with a delta-neutral SPX leg.
SPX_SPREAD = Contract(
    symbol="SPX", secType="BAG", exchange="SMART", currency="USD",
    comboLegs=[ComboLeg(653318228, 1, "BUY", "CBOE"), ComboLeg(653318229, 1, "SELL", "CBOE"),
               ComboLeg(653318230, 2, "BUY", "CBOE")],
    deltaNeutralContract=DeltaNeutralContract(416904, -0.35, 4500.0),
)
MKT_CONTRACTS = {
    **OPTIONS, "stock": AAPL, "bag": BAG, "bag-delta-neutral": BAG_DN, "spx-spread": SPX_SPREAD,
    "bag-no-legs": Contract(symbol="SPY", secType="BAG", exchange="SMART", currency="USD"),
    "bag-unset-sentinels": dataclasses.replace(BAG, comboLegs=[
        ComboLeg(UNSET_INTEGER, UNSET_INTEGER, "BUY", "SMART")],
        deltaNeutralContract=DeltaNeutralContract(UNSET_INTEGER, UNSET_DOUBLE, UNSET_DOUBLE)),
}


# ---------------------------------------------------------------- client to server


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("contract", MKT_CONTRACTS.values(), ids=MKT_CONTRACTS.keys())
def test_req_mkt_data_is_ibapis(version: int, contract: Contract) -> None:
    ticks = "100,101,106" if contract.secType != "STK" else "233"
    msg = O.ReqMktData(reqId=41, contract=contract, genericTickList=ticks, snapshot=False,
                       regulatorySnapshot=contract.secType == "OPT")
    check(msg, version, lambda c: c.reqMktData(41, to_ib(contract), ticks, False,
                                               msg.regulatorySnapshot, []))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("underlying", UNDERLYINGS.values(), ids=UNDERLYINGS.keys())
def test_req_sec_def_opt_params_is_ibapis(version: int, underlying: tuple[Any, ...]) -> None:
    msg = OPT.ReqSecDefOptParams(51, *underlying)
    check(msg, version, lambda c: c.reqSecDefOptParams(51, *underlying))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("contract", OPTIONS.values(), ids=OPTIONS.keys())
def test_option_model_requests_are_ibapis(version: int, contract: Contract) -> None:
    ib = to_ib(contract)
    check(OPT.CalculateImpliedVolatility(reqId=52, contract=contract, optionPrice=5.25,
                                         underPrice=451.5),
          version, lambda c: c.calculateImpliedVolatility(52, ib, 5.25, 451.5, []))
    check(OPT.CalculateOptionPrice(reqId=53, contract=contract, volatility=0.1875,
                                   underPrice=4499.75),
          version, lambda c: c.calculateOptionPrice(53, ib, 0.1875, 4499.75, []))


@pytest.mark.parametrize("version", VERSIONS)
def test_option_model_cancels_are_ibapis(version: int) -> None:
    check(OPT.CancelCalculateImpliedVolatility(reqId=52), version,
          lambda c: c.cancelCalculateImpliedVolatility(52))
    check(OPT.CancelCalculateOptionPrice(reqId=53), version,
          lambda c: c.cancelCalculateOptionPrice(53))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("contract", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize(("action", "override"), [(1, 0), (1, 1), (2, 0)],
                         ids=["exercise", "exercise-override", "lapse"])
def test_exercise_options_is_ibapis(version: int, contract: Contract, action: int,
                                    override: int) -> None:
    msg = OPT.ExerciseOptions(reqId=54, contract=contract, exerciseAction=action,
                              exerciseQuantity=3, account="DU1", override=override)
    check(msg, version, lambda c: c.exerciseOptions(54, to_ib(contract), action, 3, "DU1",
                                                    override, "", "", False))


def _ib_call(msg: Message) -> Any:
    """The EClient call that sends ``msg`` (its options lists empty, as IB's client sends)."""
    if isinstance(msg, O.ReqMktData):
        return lambda c: c.reqMktData(msg.reqId, to_ib(msg.contract), msg.genericTickList,
                                      msg.snapshot, msg.regulatorySnapshot, [])
    if isinstance(msg, OPT.CalculateImpliedVolatility):
        return lambda c: c.calculateImpliedVolatility(msg.reqId, to_ib(msg.contract),
                                                      msg.optionPrice, msg.underPrice, [])
    if isinstance(msg, OPT.CalculateOptionPrice):
        return lambda c: c.calculateOptionPrice(msg.reqId, to_ib(msg.contract), msg.volatility,
                                                msg.underPrice, [])
    if isinstance(msg, OPT.CancelCalculateImpliedVolatility):
        return lambda c: c.cancelCalculateImpliedVolatility(msg.reqId)
    if isinstance(msg, OPT.CancelCalculateOptionPrice):
        return lambda c: c.cancelCalculateOptionPrice(msg.reqId)
    if isinstance(msg, OPT.ExerciseOptions):
        return lambda c: c.exerciseOptions(msg.reqId, to_ib(msg.contract), msg.exerciseAction,
                                           msg.exerciseQuantity, msg.account, msg.override,
                                           "", "", False)
    assert isinstance(msg, OPT.ReqSecDefOptParams)
    return lambda c: c.reqSecDefOptParams(msg.reqId, msg.underlyingSymbol, msg.futFopExchange,
                                          msg.underlyingSecType, msg.underlyingConId)


OUT_CLASSES: list[type[Message]] = [
    O.ReqMktData, OPT.ReqSecDefOptParams, OPT.CalculateImpliedVolatility,
    OPT.CalculateOptionPrice, OPT.CancelCalculateImpliedVolatility,
    OPT.CancelCalculateOptionPrice, OPT.ExerciseOptions,
]


@pytest.mark.parametrize("version", RANDOM_VERSIONS)
@pytest.mark.parametrize("cls", OUT_CLASSES, ids=lambda c: c.NAME)
@RANDOM
@given(data=st.data())
def test_random_requests_are_ibapis(cls: type[Message], version: int,
                                    data: st.DataObject) -> None:
    msg: Any = data.draw(messages(cls, version, ascii_values))
    # what IB's client sends as constants: the legacy version, empty options texts
    if hasattr(msg, "version"):
        msg.version = getattr(cls(), "version")  # noqa: B009
    for name in ("mktDataOptions", "implVolOptions", "optPrcOptions"):
        if hasattr(msg, name):
            setattr(msg, name, "")
    check(msg, version, _ib_call(msg))


# ---------------------------------------------------------------- server to client


class OptionRecorder(Recorder):
    """A Recorder of the options family's callbacks too."""

    def tickOptionComputation(self, *args: Any) -> None:
        self._record("tickOptionComputation", *args)

    def securityDefinitionOptionParameter(self, *args: Any) -> None:
        self._record("securityDefinitionOptionParameter", *args)

    def securityDefinitionOptionParameterEnd(self, *args: Any) -> None:
        self._record("securityDefinitionOptionParameterEnd", *args)


def ib_reads(msg: Message, version: int) -> tuple[str, tuple[Any, ...]]:
    """The one callback IB's decoder makes for our frame of ``msg``; it must read
    every field of the frame."""
    fields = encode_message(msg, version)[4:].split(b"\0")[:-1]
    assert int(fields[0]) == msg.ID
    recorder = OptionRecorder()
    decoder = Decoder(recorder, version)
    rest = iter(fields[1:])
    decoder.msgId2handleInfo[msg.ID].processMeth(decoder, rest)
    assert next(rest, None) is None, f"IB's decoder left fields of {msg.NAME} unread"
    assert not recorder.errors, recorder.errors
    (call,) = recorder.calls
    return call


def _ib_int(v: int) -> int:
    return 0 if v == UNSET_INTEGER else v  # IB's decoder reads an empty int as 0


def _ib_float(v: float) -> float:
    return 0.0 if v == UNSET_DOUBLE else v  # ... and an empty float as 0.0


def expected_by_ib(msg: Message) -> tuple[Any, ...]:
    """The callback arguments IB's decoder must report for ``msg``."""
    if isinstance(msg, OPT.TickOptionComputation):
        vol = msg.impliedVol
        if vol is not None and vol < 0:
            vol = None  # IB's decoder reads every negative impliedVol as not computed
        return (_ib_int(msg.reqId), _ib_int(msg.tickType), _ib_int(msg.tickAttrib), vol,
                msg.delta, msg.optPrice, msg.pvDividend, msg.gamma, msg.vega, msg.theta,
                msg.undPrice)
    if isinstance(msg, OPT.SecurityDefinitionOptionParameter):
        return (_ib_int(msg.reqId), msg.exchange, _ib_int(msg.underlyingConId),
                msg.tradingClass, msg.multiplier, set(msg.expirations),
                {_ib_float(s) for s in msg.strikes})
    assert isinstance(msg, OPT.SecurityDefinitionOptionParameterEnd)
    return (_ib_int(msg.reqId),)


def check_read(msg: Message, version: int) -> None:
    name, args = ib_reads(msg, version)
    assert name == msg.NAME
    assert args == expected_by_ib(msg)


MODEL = OPT.TickOptionComputation(
    reqId=61, tickType=13, tickAttrib=0, impliedVol=0.1875, delta=0.5125, optPrice=5.25,
    pvDividend=1.5, gamma=0.0123, vega=0.4375, theta=-0.0625, undPrice=451.5)
#: A strip of SPX: 60 expirations, 240 strikes.
CHAIN = OPT.SecurityDefinitionOptionParameter(
    reqId=62, exchange="CBOE", underlyingConId=416904, tradingClass="SPXW", multiplier="100",
    expirations=[f"2024{m:02d}{d:02d}" for m in range(1, 13) for d in (5, 12, 19, 26, 28)],
    strikes=[2000.0 + 12.5 * k for k in range(240)])
TICKS = {
    "model": MODEL,
    "bid-price-based": dataclasses.replace(MODEL, tickType=10, tickAttrib=1),
    "delayed-ask": dataclasses.replace(MODEL, tickType=81, theta=0.0, pvDividend=0.0),
    "nothing-computed": OPT.TickOptionComputation(reqId=61, tickType=12, tickAttrib=1),
    "greeks-not-computed": dataclasses.replace(MODEL, tickType=11, delta=None, gamma=None,
                                               vega=None, theta=None),
    "prices-not-computed": dataclasses.replace(MODEL, tickType=80, impliedVol=None,
                                               optPrice=None, pvDividend=None, undPrice=None),
    "unset-underlying": dataclasses.replace(MODEL, undPrice=UNSET_DOUBLE),
    "custom-calculation": dataclasses.replace(MODEL, tickType=53),
}
SAMPLES: dict[str, Message] = {
    **TICKS, "chain": CHAIN,
    "chain-of-a-future": OPT.SecurityDefinitionOptionParameter(
        reqId=62, exchange="CME", underlyingConId=551601561, tradingClass="ES",
        multiplier="50", expirations=["20240315"], strikes=[4550.0, 4575.0]),
    "empty-chain": OPT.SecurityDefinitionOptionParameter(reqId=62, exchange="SMART"),
    "chain-end": OPT.SecurityDefinitionOptionParameterEnd(reqId=62),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("msg", SAMPLES.values(), ids=SAMPLES.keys())
def test_ibapi_reads_our_frames(msg: Message, version: int) -> None:
    check_read(msg, version)


def test_the_values_ibapi_reports() -> None:
    """The brief's values spelled out, not through :func:`expected_by_ib`."""
    assert ib_reads(MODEL, 178)[1] == (61, 13, 0, 0.1875, 0.5125, 5.25, 1.5, 0.0123, 0.4375,
                                       -0.0625, 451.5)
    none = ib_reads(TICKS["nothing-computed"], 157)[1]
    assert none == (61, 12, 1, None, None, None, None, None, None, None, None)
    _, (req_id, exchange, con_id, tc, mult, expirations, strikes) = ib_reads(CHAIN, 176)
    assert (req_id, exchange, con_id, tc, mult) == (62, "CBOE", 416904, "SPXW", "100")
    assert len(expirations) == 60 and "20241228" in expirations
    assert len(strikes) == 240 and {2000.0, 2012.5, 4987.5} <= strikes


def test_a_negative_implied_vol_other_than_minus_one_is_kept_here() -> None:
    """IB's decoder reads impliedVol -0.5 as not computed; we keep the value sent."""
    msg = dataclasses.replace(MODEL, impliedVol=-0.5)
    assert ib_reads(msg, 178)[1][3] is None
    frame = encode_message(msg, 178)
    assert frame[4:].split(b"\0")[4] == b"-0.5"
    assert decode_message(frame[4:], 178) == msg


IN_CLASSES: list[type[Message]] = [
    OPT.TickOptionComputation, OPT.SecurityDefinitionOptionParameter,
    OPT.SecurityDefinitionOptionParameterEnd,
]


@pytest.mark.parametrize("version", RANDOM_VERSIONS)
@pytest.mark.parametrize("cls", IN_CLASSES, ids=lambda c: c.NAME)
@RANDOM
@given(data=st.data())
def test_ibapi_reads_random_frames(cls: type[Message], version: int,
                                   data: st.DataObject) -> None:
    check_read(data.draw(messages(cls, version)), version)
