"""The ticks family on its own: random round trips at every server version 157-178,
1000-tick frames, the per-direction registry, the tick masks, and malformed frames
(a ProtocolError naming the message id and the field at fault)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge import protocol
from twsbridge.protocol import IN, OUT, ProtocolError, decode_message, encode_message, registry
from twsbridge.protocol.catalogue import ticks as T
from twsbridge.protocol.spec import Message
from twsbridge.protocol.tick_models import (
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    PriceIncrement,
    SmartComponent,
)

from .cases import AAPL_F, w
from .strategies import messages

VERSIONS = tuple(range(157, 179))
CLASSES: list[type[Message]] = [
    T.ReqSmartComponents, T.ReqHistogramData, T.CancelHistogramData, T.ReqMarketRule,
    T.ReqHistoricalTicks, T.SmartComponents, T.HistogramData, T.MarketRule, T.HistoricalTicks,
    T.HistoricalTicksBidAsk, T.HistoricalTicksLast,
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.DIRECTION}-{c.NAME}")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(cls: type[Message], version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version))
    frame = encode_message(msg, version)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    back = decode_message(frame[4:], version, cls.DIRECTION)
    assert type(back) is cls
    assert back == msg
    assert encode_message(back, version) == frame


@pytest.mark.parametrize("version", (157, 178))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_thousand_random_ticks_round_trip(version: int, data: st.DataObject) -> None:
    """The list decoder's fast path (one strided slice per attribute) on full-size lists."""
    base = data.draw(messages(T.HistoricalTicksLast, version))
    assert isinstance(base, T.HistoricalTicksLast)
    ticks = [HistoricalTickLast(1697808600 + k, k % 4, 171.0 + k / 1000, Decimal(k),
                                "ISLAND" if k % 2 else "NYSE", "T" * (k % 3))
             for k in range(1000)]
    msg = T.HistoricalTicksLast(reqId=base.reqId, ticks=ticks + base.ticks, done=base.done)
    frame = encode_message(msg, version)
    assert len(frame[4:].split(b"\0")) == 1 + 1 + 1 + 6 * len(msg.ticks) + 1 + 1
    back = decode_message(frame[4:], version, IN)
    assert back == msg
    assert isinstance(back, T.HistoricalTicksLast)
    assert back.ticks[999] == HistoricalTickLast(1697809599, 3, 171.999, Decimal(999),
                                                 "ISLAND", "")


def test_empty_lists_travel_as_a_zero_count() -> None:
    empty = T.HistoricalTicks(reqId=7, done=True)
    assert encode_message(empty, 178)[4:] == w("96", "7", "0", "1").encode()
    assert decode_message(w("93", "26", "0").encode(), 157, IN) == T.MarketRule(marketRuleId=26)
    assert decode_message(w("82", "5", "0").encode(), 157, IN) == T.SmartComponents(reqId=5)
    assert decode_message(w("89", "5", "0").encode(), 178, IN) == T.HistogramData(reqId=5)


def test_the_directions_share_ids_but_not_classes() -> None:
    assert registry(OUT)[96] is T.ReqHistoricalTicks
    assert registry(IN)[96] is T.HistoricalTicks
    assert registry(OUT)[89] is T.CancelHistogramData
    assert registry(IN)[89] is T.HistogramData
    assert [(c.DIRECTION, c.ID, c.NAME) for c in CLASSES] == [
        (OUT, 83, "reqSmartComponents"), (OUT, 88, "reqHistogramData"),
        (OUT, 89, "cancelHistogramData"), (OUT, 91, "reqMarketRule"),
        (OUT, 96, "reqHistoricalTicks"), (IN, 82, "smartComponents"), (IN, 89, "histogramData"),
        (IN, 93, "marketRule"), (IN, 96, "historicalTicks"), (IN, 97, "historicalTicksBidAsk"),
        (IN, 98, "historicalTicksLast"),
    ]
    for cls in CLASSES:
        assert registry(cls.DIRECTION)[cls.ID] is cls
    assert protocol.catalogue.ticks is T
    # the same payload "96, 7, 0, 1" is a different message in each direction
    assert type(decode_message(w("96", "7", "0", "1").encode(), 178, IN)) is T.HistoricalTicks
    with pytest.raises(ProtocolError) as e:
        decode_message(w("96", "7", "0", "1").encode(), 178, OUT)
    assert e.value.msg_id == "96"


def test_mask_bits() -> None:
    ba = [HistoricalTickBidAsk(mask=m) for m in range(4)]
    assert [(t.askPastHigh, t.bidPastLow) for t in ba] == [
        (False, False), (True, False), (False, True), (True, True)]
    last = [HistoricalTickLast(mask=m) for m in range(4)]
    assert [(t.pastLimit, t.unreported) for t in last] == [
        (False, False), (True, False), (False, True), (True, True)]
    assert HistoricalTickBidAsk.ASK_PAST_HIGH | HistoricalTickBidAsk.BID_PAST_LOW == 3
    assert HistoricalTickLast.PAST_LIMIT | HistoricalTickLast.UNREPORTED == 3
    # a bit TWS may add later survives a round trip
    msg = T.HistoricalTicksLast(reqId=1, ticks=[HistoricalTickLast(mask=4 | 1)], done=True)
    back = decode_message(encode_message(msg, 178)[4:], 178, IN)
    assert isinstance(back, T.HistoricalTicksLast)
    assert back.ticks[0].mask == 5 and back.ticks[0].pastLimit and not back.ticks[0].unreported


def test_midpoint_ticks_keep_the_field_no_client_reads() -> None:
    got = decode_message(w("96", "7", "1", "1697808600", "0", "171.255", "0", "0").encode(),
                         178, IN)
    assert got == T.HistoricalTicks(reqId=7, ticks=[HistoricalTick(1697808600, 171.255,
                                                                   Decimal(0))])
    odd = decode_message(w("96", "7", "1", "1697808600", "9", "171.255", "0", "0").encode(),
                         178, IN)
    assert isinstance(odd, T.HistoricalTicks)
    assert odd.ticks[0].unused == 9
    assert encode_message(odd, 178)[4:] == w("96", "7", "1", "1697808600", "9", "171.255", "0",
                                             "0").encode()


LAST_TICK = ["1697808600", "2", "171.25", "10", "ISLAND", "T I"]
REQ_TICKS = ["23", *AAPL_F, "0", "20231020 09:30:00", "", "1000", "TRADES", "1", "0", ""]

MALFORMED = [
    # (direction, fields, the field named)
    (IN, ["98", "33", "1", "1697808600", "2", "x", "10", "ISLAND", "", "1"], "price"),
    (IN, ["98", "33", "1", "12:00", *LAST_TICK[1:], "1"], "time"),
    (IN, ["98", "33", "1", *LAST_TICK, "maybe"], "done"),
    (IN, ["98", "33", "1", *LAST_TICK], "done"),  # ends early: no done flag
    # 2 ticks announced, 1 sent: the second one's time reads the done flag, then its mask
    # is the first field missing
    (IN, ["98", "33", "2", *LAST_TICK, "1"], "mask"),
    (IN, ["98", "33", "99999", *LAST_TICK, "1"], "ticks.count"),
    (IN, ["98", "33", "-1", "1"], "ticks.count"),
    (IN, ["98", "33", "1", *LAST_TICK, "1", "extra"], "#10"),
    (IN, ["97", "32", "1", "1697808600", "a", "1.5", "1.6", "1", "2", "1"], "mask"),
    (IN, ["97", "32", "1", "1697808600", "0", "1.5", "1.6", "lots", "2", "1"], "sizeBid"),
    (IN, ["96", "31", "1", "1697808600", "0", "1.5", "sNaN", "1"], "size"),
    (IN, ["96", "31", "x", "1"], "ticks.count"),
    (IN, ["89", "34", "1", "171.25", "1E+999999999"], "size"),
    (IN, ["89", "?", "0"], "reqId"),
    (IN, ["93", "26", "2", "0", "0.01", "1000", "tick"], "increment"),
    (IN, ["82", "35", "1", "one", "NYSE", "N"], "bitNumber"),
    (IN, ["82", "35", "1", "1", "NYSE"], "exchangeLetter"),
    (OUT, ["96", *REQ_TICKS[:16], "all", *REQ_TICKS[17:]], "numberOfTicks"),
    (OUT, ["96", *REQ_TICKS[:-1]], "miscOptions"),
    (OUT, ["88", "22", *AAPL_F, "0", "yes", "3 days"], "useRTH"),
    (OUT, ["91", "rule"], "marketRuleId"),
    (OUT, ["83", "21"], "bboExchange"),
    (OUT, ["89", "1", "2"], "#2"),
]


@pytest.mark.parametrize("version", (157, 178))
@pytest.mark.parametrize(("direction", "fields", "named"), MALFORMED,
                         ids=[f"{d}-{f[0]}-{n}-{k}" for k, (d, f, n) in enumerate(MALFORMED)])
def test_malformed_frame_names_message_and_field(direction: str, fields: list[str],
                                                 named: str, version: int) -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(w(*fields).encode(), version, direction)
    assert e.value.msg_id == fields[0]
    assert e.value.field == named
    assert f"message id {fields[0]}" in str(e.value)
    assert e.value.fields is not None and e.value.fields[0] == fields[0]


def test_the_malformed_frames_are_one_field_from_good_ones() -> None:
    """Guards the table: the good frames the bad ones are made from decode."""
    assert isinstance(decode_message(w("98", "33", "1", *LAST_TICK, "1").encode(), 178, IN),
                      T.HistoricalTicksLast)
    req = decode_message(w("96", *REQ_TICKS).encode(), 178, OUT)
    assert isinstance(req, T.ReqHistoricalTicks)
    assert (req.numberOfTicks, req.whatToShow, req.useRth) == (1000, "TRADES", True)
    assert decode_message(w("82", "35", "1", "1", "NYSE", "N").encode(), 178, IN) == (
        T.SmartComponents(reqId=35, smartComponentMap=[SmartComponent(1, "NYSE", "N")]))
    assert decode_message(w("93", "26", "2", "0", "0.01", "1000", "0.05").encode(), 178, IN) == (
        T.MarketRule(marketRuleId=26, priceIncrements=[PriceIncrement(0.0, 0.01),
                                                       PriceIncrement(1000.0, 0.05)]))


def test_a_nul_inside_a_value_is_not_encoded() -> None:
    msg = T.HistoricalTicksLast(reqId=1, ticks=[HistoricalTickLast(exchange="IS\0LAND")])
    with pytest.raises(ProtocolError) as e:
        encode_message(msg, 178)
    assert e.value.msg_id == "98"
