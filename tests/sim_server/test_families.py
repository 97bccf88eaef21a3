"""The simulator's request families: dispatch by request type, one module per family."""

from __future__ import annotations

import datetime as dt

import pytest

from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.protocol.spec import OUT, Message, registry
from twsbridge.sim import SimSession
from twsbridge.sim.gateway.families import FAMILIES, Family, handles

from .test_session import AAPL, Wire, frozen_sim


class Depth(Family):
    """A family added by a test: it serves reqMktDepth with one row and streams."""

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.lines: dict[int, int] = {}
        self.closed = False

    @handles(outgoing.ReqMktData)
    def never(self, msg: outgoing.ReqMktData) -> None:
        raise AssertionError("MarketData, listed first, must keep reqMktData")

    def poll(self, now: dt.datetime) -> list[Message]:
        return [incoming.CurrentTime(time=int(now.timestamp()))] if self.lines else []

    def close(self) -> None:
        self.closed = True


def test_every_handled_type_is_a_request_and_handled_once() -> None:
    owners: dict[type[Message], str] = {}
    requests = set(registry(OUT).values())
    for fam in FAMILIES:
        for t in fam.HANDLES:
            assert t in requests, f"{fam.__name__} handles {t.__name__}, not a request"
            assert t not in owners, f"{t.__name__}: {owners[t]} and {fam.__name__}"
            owners[t] = fam.__name__
    assert len(owners) >= 33  # the 33 request types served before issue 10 (32 requests + cancels)


def test_two_families_handling_one_type_are_refused() -> None:
    with pytest.raises(TypeError, match="ReqMktData is handled by two families"):
        SimSession(frozen_sim(), families=(*FAMILIES, Depth))


def test_an_added_family_serves_and_polls() -> None:
    class Pnl(Family):
        """Stands in for the P&L family: reqPnL starts a stream of currentTime."""

        on = False

        @handles(outgoing.ReqPnL)
        def req_pnl(self, msg: outgoing.ReqPnL) -> None:
            self.on = True

        def poll(self, now: dt.datetime) -> list[Message]:
            return [incoming.CurrentTime(time=int(now.timestamp()))] if self.on else []

    others = tuple(f for f in FAMILIES if outgoing.ReqPnL not in f.HANDLES)
    sim = frozen_sim()
    w = Wire(sim, SimSession(sim, families=(*others, Pnl)))
    w.connect()
    assert w.poll() == []
    assert w.send(outgoing.ReqPnL(reqId=3, account=sim.account.code)) == []
    assert w.poll() == [incoming.CurrentTime(time=int(w.session.now().timestamp()))]


def test_a_request_no_family_handles_is_answered_503_naming_it() -> None:
    others = tuple(f for f in FAMILIES if outgoing.ReqMktData not in f.HANDLES)
    sim = frozen_sim()
    w = Wire(sim, SimSession(sim, families=others))
    w.connect()
    events = w.send(outgoing.ReqMktData(reqId=5, contract=AAPL))
    errors = [e for e in events if isinstance(e, incoming.ErrorMessage)]
    assert [(e.reqId, e.errorCode) for e in errors] == [(5, 503)]
    assert "reqMktData" in errors[0].errorString


def test_family_close_is_called_when_the_session_ends() -> None:
    sim = frozen_sim()
    w = Wire(sim, SimSession(sim, families=(
        *(f for f in FAMILIES if outgoing.ReqMktData not in f.HANDLES), Depth)))
    w.connect()
    depth = w.session.families[-1]
    assert isinstance(depth, Depth) and not depth.closed
    w.session.close("test")
    assert depth.closed
