"""historicalSchedule (106): random round trips at server versions 165-178, and
IB's own decoder reads every field of our frames as the values we hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import IN, decode_message, encode_message, registry
from twsbridge.protocol.catalogue.schedule import HistoricalSchedule, HistoricalSession
from twsbridge.protocol.codec import INT

from .strategies import ascii_values, messages
from .test_ticks_differential import sent

pytest.importorskip("ibapi")

from ibapi.decoder import Decoder
from ibapi.wrapper import EWrapper

VERSIONS = tuple(range(165, 179))


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(HistoricalSchedule, version))
    frame = encode_message(msg, version)
    back = decode_message(frame[4:], version, IN)
    assert type(back) is HistoricalSchedule and back == msg
    assert registry(IN)[106] is HistoricalSchedule


class _Recorder(EWrapper):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def historicalSchedule(self, *args: Any) -> None:
        self.calls.append(args)


@pytest.mark.parametrize("version", (165, 178))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_ibapi_reads_our_frames(version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(HistoricalSchedule, version, ascii_values))
    assert isinstance(msg, HistoricalSchedule)
    fields = encode_message(msg, version)[4:].split(b"\0")[:-1]
    rec = _Recorder()
    rest = iter(fields[1:])
    decoder = Decoder(rec, version)
    decoder.msgId2handleInfo[int(fields[0])].processMeth(decoder, rest)
    assert next(rest, None) is None
    ((req_id, start, end, tz, sessions),) = rec.calls
    assert (req_id, start, end, tz) == (sent(msg.reqId, INT), msg.startDateTime,
                                        msg.endDateTime, msg.timeZone)
    assert [(s.startDateTime, s.endDateTime, s.refDate) for s in sessions] == [
        (s.startDateTime, s.endDateTime, s.refDate) for s in msg.sessions]


def test_a_known_frame() -> None:
    msg = HistoricalSchedule(reqId=7, startDateTime="20130301-09:30:00",
                             endDateTime="20130301-16:00:00", timeZone="US/Eastern",
                             sessions=[HistoricalSession("20130301-09:30:00",
                                                         "20130301-16:00:00", "20130301")])
    assert encode_message(msg, 178)[4:] == (
        b"106\x007\x0020130301-09:30:00\x0020130301-16:00:00\x00US/Eastern\x001\x00"
        b"20130301-09:30:00\x0020130301-16:00:00\x0020130301\x00")
