"""The simulator's default book: the whole universe, the day's futures, options on demand."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.sim_server.test_session import Wire

from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.protocol.models import Contract
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.reference.book import UniverseBook
from twsbridge.sim.reference.conids import OPTION_BASE
from twsbridge.sim.reference.details import resolve
from twsbridge.sim.reference.instruments import INSTRUMENTS, InstrumentBook
from twsbridge.sim.reference.universe import listed_instruments
from twsbridge.sim.simulator import Simulator
from twsbridge.sim.world import World

DAY = dt.date(2026, 3, 2)  # a Monday
NOON = dt.datetime(2026, 3, 2, 12, 0)


@pytest.fixture(scope="module")
def world() -> World:
    return World(clock=SimClock(NOON, speed=0))


def test_the_default_book_is_the_listed_universe_and_the_days_futures(world: World) -> None:
    book = world.book
    conids = {i.conId for i in book}
    assert {i.conId for i in listed_instruments()} <= conids
    es = [i.localSymbol for i in book if i.secType == "FUT" and i.symbol == "ES"]
    assert es == ["ESH6", "ESM6", "ESU6", "ESZ6", "ESH7"]
    assert {i.tradingClass for i in book if i.secType == "CONTFUT"} == {
        "ES", "NQ", "RTY", "CL", "GC", "ZN", "6E", "FDAX", "FGBL"}
    assert not any(i.secType in ("OPT", "FOP") for i in book)  # never enumerated


def test_a_new_day_lists_new_months_and_drops_expired_ones() -> None:
    world = World(clock=SimClock(NOON, speed=0))
    before = {i.localSymbol for i in world.book.match(symbol="ES", secType="FUT")}
    world.clock.set(dt.datetime(2026, 3, 30, 12, 0))  # ESH6 expired on 2026-03-20
    after = {i.localSymbol for i in world.book.match(symbol="ES", secType="FUT")}
    assert "ESH6" in before and "ESH6" not in after
    assert "ESM7" in after and "ESM7" not in before
    assert world.book.today == dt.date(2026, 3, 30)
    assert not world.book.refresh(dt.date(2026, 3, 30))  # same day: nothing to do


def test_futures_by_month_last_day_local_symbol_and_exchange_alias(world: World) -> None:
    book = world.book
    by_month = book.match(symbol="ES", secType="FUT", lastTradeDateOrContractMonth="202606")
    assert [i.localSymbol for i in by_month] == ["ESM6"]
    last_day = by_month[0].lastTradeDateOrContractMonth
    assert len(last_day) == 8
    assert book.match(symbol="ES", secType="FUT", lastTradeDateOrContractMonth=last_day) == by_month
    assert book.match(secType="FUT", localSymbol="ESM6") == by_month
    assert book.match(symbol="ES", secType="FUT", exchange="GLOBEX",
                      lastTradeDateOrContractMonth="202606") == by_month
    assert book.match(symbol="ES", secType="FUT", lastTradeDateOrContractMonth="202605") == []
    assert book.match(symbol="ES", secType="FUT", exchange="EUREX") == []


def test_contfut_is_the_front_contract_with_its_conid(world: World) -> None:
    book = world.book
    (cont,) = book.match(symbol="ES", secType="CONTFUT")
    assert cont.secType == "CONTFUT"
    fut = book.by_conid(cont.conId)
    assert fut is not None and fut.secType == "FUT" and fut.localSymbol == cont.localSymbol


def test_option_without_strike_is_every_strike_of_the_expiry(world: World) -> None:
    book = world.book
    found = book.match(symbol="AAPL", secType="OPT", lastTradeDateOrContractMonth="20260320",
                       right="C")
    assert len(found) > 20
    assert {(o.right, o.realExpirationDate, o.tradingClass) for o in found} == {
        ("C", "20260320", "AAPL")}
    strikes = [o.strike for o in found]
    assert strikes == sorted(set(strikes))
    aapl = world.prices.price_at(265598, world.clock.now())
    assert strikes[0] < aapl < strikes[-1]
    (one,) = book.match(symbol="AAPL", secType="OPT", lastTradeDateOrContractMonth="20260320",
                        right="CALL", strike=strikes[3])
    assert one == found[3]
    both = book.match(symbol="AAPL", secType="OPT", lastTradeDateOrContractMonth="20260320",
                      strike=strikes[3])
    assert [o.right for o in both] == ["C", "P"]
    assert book.by_conid(one.conId) == one
    assert book.match(conId=one.conId) == [one]


def test_an_option_conid_decodes_only_until_it_expires() -> None:
    book = UniverseBook(DAY)
    (opt,) = book.match(symbol="SPY", secType="OPT", lastTradeDateOrContractMonth="20260320",
                        right="P", strike=600.0)
    assert opt.conId >= OPTION_BASE and book.by_conid(opt.conId) == opt
    book.refresh(dt.date(2026, 4, 1))
    assert book.by_conid(opt.conId) is None


def test_an_option_month_names_every_expiry_in_it() -> None:
    book = UniverseBook(DAY, ref_price=lambda inst: 5800.0)
    found = book.match(symbol="SPX", secType="OPT", lastTradeDateOrContractMonth="202603",
                       right="C", strike=5800.0)
    classes = {o.tradingClass for o in found}
    assert classes == {"SPX", "SPXW"}
    assert len({o.realExpirationDate for o in found}) > 5
    assert all(o.realExpirationDate.startswith("202603")
               or o.lastTradeDateOrContractMonth.startswith("202603") for o in found)


def test_small_book_still_constructible() -> None:
    small = InstrumentBook(INSTRUMENTS)
    assert len(small) == 18
    assert small.match(symbol="SAP", secType="STK") == []
    assert [i.conId for i in small.match(symbol="AAPL", secType="STK")] == [265598]


def test_symbol_alone_matches_every_sectype(world: World) -> None:
    found = world.book.match(symbol="AAPL")
    assert {i.secType for i in found} == {"STK", "CFD"}


def test_search_lists_underlyings_with_their_derivative_sectypes(world: World) -> None:
    found = world.book.search("SAP")
    assert [(i.secType, i.currency) for i in found[:2]] == [("STK", "EUR"), ("CFD", "EUR")]
    spx = world.book.search("SPX")[0]
    assert (spx.secType, spx.symbol) == ("IND", "SPX")
    assert {"OPT", "FUT"} <= set(spx.derivativeSecTypes)
    assert not any(i.secType in ("FUT", "CONTFUT") for i in world.book.search("ES"))
    assert len(world.book.search("A")) == 16  # TWS's cap


def test_contract_details_on_the_wire_for_a_future_an_option_chain_and_unknowns() -> None:
    wire = Wire(Simulator(clock=SimClock(NOON, speed=0)))
    wire.connect()
    es = Contract(symbol="ES", secType="FUT", exchange="CME", currency="USD")
    events = wire.send(outgoing.ReqContractDetails(reqId=7, contract=es))
    details = [e.contractDetails for e in events if isinstance(e, incoming.ContractData)]
    assert [d.contract.localSymbol for d in details] == ["ESH6", "ESM6", "ESU6", "ESZ6", "ESH7"]
    assert isinstance(events[-1], incoming.ContractDataEnd)
    bad = Contract(symbol="ES", secType="FUT", lastTradeDateOrContractMonth="202605")
    events = wire.send(outgoing.ReqContractDetails(reqId=8, contract=bad))
    assert [(e.reqId, e.errorCode) for e in events] == [(8, 200)]
    opt = Contract(symbol="MSFT", secType="OPT", lastTradeDateOrContractMonth="20260320",
                   right="P", exchange="SMART", currency="USD")
    insts = resolve(wire.sim.book, opt)
    events = wire.send(outgoing.ReqContractDetails(reqId=9, contract=opt))
    details = [e.contractDetails for e in events if isinstance(e, incoming.ContractData)]
    assert len(details) == len(insts) > 10
    assert {d.contract.right for d in details} == {"P"}
