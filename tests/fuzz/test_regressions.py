"""The bugs the fuzzers found in the simulator's handlers and in the size codec,
one test each (fixed at their cause), and the session's last line of defence
against the ones still unknown."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from decimal import Decimal

import pytest

from twsbridge.protocol import Contract, Order, encode_message, incoming, outgoing
from twsbridge.protocol.codec import UNSET_DOUBLE, encode_decimal
from twsbridge.protocol.spec import Message
from twsbridge.sim.broker.matching import round_to_tick

from .corpus import frame
from .harness import SimTarget

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
_next_id = [5000]


@pytest.fixture(scope="module")
def target() -> Iterator[SimTarget]:
    t = SimTarget(178, stateful=True)
    yield t
    t.close()


def answer(target: SimTarget, msg: Message) -> dict[int, int]:
    """The error codes answering ``msg`` (the session must stay open, and no
    handler may fail: :class:`SimTarget` raises then)."""
    result = target.run([encode_message(msg, 178)])
    assert result.outcome in ("served", "tws_error"), result
    return dict(result.codes)


def place(target: SimTarget, **order: object) -> dict[int, int]:
    _next_id[0] += 1
    fields = {"action": "BUY", "orderType": "LMT", "totalQuantity": Decimal(100),
              "lmtPrice": 440.0, "tif": "DAY", **order}
    return answer(target, outgoing.PlaceOrder(orderId=_next_id[0], contract=AAPL,
                                              order=Order(**fields)))  # type: ignore[arg-type]


@pytest.mark.parametrize("qty", ["NaN", "Infinity", "-Infinity"])
def test_a_size_that_is_not_a_number_is_refused_with_321(target: SimTarget, qty: str) -> None:
    """Was: decimal.InvalidOperation comparing NaN with 0 (order_validation._quantity)."""
    assert place(target, totalQuantity=Decimal(qty)) == {321: 1}


def place_text(target: SimTarget, qty: str) -> tuple[str, dict[int, int]]:
    """A placeOrder whose size field is ``qty`` as written (the encoder would refuse
    some of these): the outcome and the error codes."""
    _next_id[0] += 1
    order = Order(action="BUY", orderType="LMT", totalQuantity=Decimal(777), lmtPrice=440.0)
    data = encode_message(outgoing.PlaceOrder(orderId=_next_id[0], contract=AAPL, order=order),
                          178)
    result = target.run([frame(data[4:].replace(b"\x00777\x00", f"\0{qty}\0".encode(), 1))])
    return result.outcome, dict(result.codes)


@pytest.mark.parametrize("qty", ["1E+15", "-1E+15", "1E+1000"])
def test_an_enormous_size_is_refused_with_321(target: SimTarget, qty: str) -> None:
    """Was: decimal.Overflow in the margin check (size times side), found by
    ``fuzz/million.py --seed 1`` (frame #677298: placeOrder of 1E+999999999 IBM)."""
    assert place_text(target, qty) == ("tws_error", {321: 1})
    assert place(target, totalQuantity=Decimal("1E+14")) == {201: 1}  # margin, as before


@pytest.mark.parametrize("qty", ["1E+999999999", "-1E+999999999", "1E+1001", "1E-1001"])
def test_a_size_beyond_1e1000_is_a_malformed_frame(target: SimTarget, qty: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The decoder refuses sizes whose arithmetic or plain text would explode."""
    assert place_text(target, qty) == ("closed_320", {320: 1})
    assert "field 'order.totalQuantity'" in caplog.text


@pytest.mark.parametrize("text", ["1E+1001", "1E-1001", "0E-999999999", "sNaN"])
def test_the_encoder_refuses_sizes_it_cannot_write(text: str) -> None:
    """Was: plain notation of 1E+999999999 built a gigabyte string (and sNaN
    raised decimal.InvalidOperation); now a ValueError, at once."""
    with pytest.raises(ValueError):
        encode_decimal(Decimal(text))
    assert encode_decimal(Decimal("1E+1000")) == "1" + "0" * 1000
    assert encode_decimal(Decimal("-0.5")) == "-0.5"


def test_a_signaling_nan_size_is_a_malformed_frame(target: SimTarget,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Was: decoded to Decimal('sNaN'), which raises on ``==`` in any handler (and in
    the encoder that echoes it): now the decoder refuses it, naming the field."""
    order = Order(action="BUY", orderType="LMT", totalQuantity=Decimal("NaN"), lmtPrice=1.0)
    data = encode_message(outgoing.PlaceOrder(orderId=1, contract=AAPL, order=order), 178)
    sneaky = data[4:].replace(b"\x00NaN\x00", b"\x00sNaN\x00", 1)
    result = target.run([frame(sneaky)])
    assert result.outcome == "closed_320" and dict(result.codes) == {320: 1}
    assert "field 'order.totalQuantity'" in caplog.text


@pytest.mark.parametrize(("name", "value"), [
    ("lmtPrice", math.inf), ("lmtPrice", -math.inf), ("auxPrice", math.inf),
    ("trailStopPrice", math.inf),
])
def test_an_infinite_price_is_refused_with_110(target: SimTarget, name: str,
                                               value: float) -> None:
    """Was: OverflowError in round_to_tick (int(inf)) checking the tick grid."""
    order_type = "STP LMT" if name == "auxPrice" else "LMT"
    fields = {"orderType": order_type, "auxPrice": 430.0, name: value}
    assert place(target, **fields) == {110: 1}


def test_nan_prices_stay_unset_and_huge_ones_are_off_the_grid(target: SimTarget) -> None:
    assert place(target, lmtPrice=math.nan) == {107: 1}  # NaN is "no price": incomplete
    # beyond MAX_PRICE: refused as off the grid (was served, or refused for margin)
    assert place(target, lmtPrice=1e308) == {110: 1}
    assert place(target, lmtPrice=1e-300) == {110: 1}  # rounds to zero ticks
    assert round_to_tick(math.inf, 0.01) == math.inf
    assert math.isnan(round_to_tick(math.nan, 0.01))
    assert round_to_tick(1e308, 5e-5) == 1e308
    assert round_to_tick(440.004, 0.01) == 440.0
    assert UNSET_DOUBLE != math.inf


def history(target: SimTarget, **fields: object) -> dict[int, int]:
    request = {"reqId": 9, "contract": AAPL, "durationStr": "1 D", "barSizeSetting": "1 hour",
               "whatToShow": "TRADES", **fields}
    return answer(target, outgoing.ReqHistoricalData(**request))  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "code"), [
    ({"durationStr": "9" * 5000 + " D"}, 321),  # was: ValueError, int() of 5000 digits
    ({"durationStr": "99999999999999999999 Y"}, 321),  # was: OverflowError (C long)
    ({"durationStr": "9999 Y", "barSizeSetting": "1 day"}, 321),  # was: ValueError, year < 1
    ({"endDateTime": "00010101 00:00:00"}, 10314),  # was: OverflowError, date out of range
    ({"endDateTime": "20130228 16:00:00 " + "Z" * 300}, 10314),  # was: OSError, name too long
])
def test_absurd_history_requests_get_tws_codes(target: SimTarget, fields: dict[str, object],
                                               code: int) -> None:
    assert history(target, **fields) == {code: 1}


def test_long_histories_are_still_served(target: SimTarget) -> None:
    assert history(target, durationStr="1 Y", barSizeSetting="1 day") == {}
    assert history(target, endDateTime="20130228 16:00:00", durationStr="2 D") == {}


def test_an_exception_in_the_decoder_ends_only_that_session(
        target: SimTarget, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The last line of defence: an exception that is not a ProtocolError (a
    bug) is logged and answered with 320; that session closes, others go on."""
    good, good_client = target._open()
    bad_target = SimTarget(178, sim=target.sim)
    bad, bad_client = bad_target._open()

    def broken(data: bytes) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(bad.conn, "receive_data", broken)
    with caplog.at_level(logging.ERROR, logger="twsbridge.sim"):
        out = bad.receive_data(frame(b"49\x001\x00"))
    bad_target.failures.records.clear()
    bad_client.receive_data(out)
    (err,) = bad_client.events()
    assert isinstance(err, incoming.ErrorMessage) and err.errorCode == 320
    assert "internal error" in err.errorString and bad.closed
    assert any(r.exc_info and "internal error" in r.getMessage() for r in caplog.records)
    assert bad.receive_data(b"more") == b"" and bad.poll() == b""
    good_client.receive_data(good.receive_data(good_client.send(outgoing.ReqCurrentTime())))
    assert [type(e) for e in good_client.events()] == [incoming.CurrentTime]


def test_an_exception_while_polling_ends_only_that_session(
        target: SimTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    session, client = target._open()
    monkeypatch.setattr(session.pnl, "poll", lambda t: 1 / 0)
    out = session.poll()
    target.failures.records.clear()
    client.receive_data(out)
    assert [(e.reqId, e.errorCode) for e in client.events()
            if isinstance(e, incoming.ErrorMessage)] == [(-1, 320)]
    assert session.closed and session.close_reason is not None
    assert "ZeroDivisionError" in session.close_reason
