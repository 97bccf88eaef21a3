"""The simulator's paper account persists (SimStore): a Simulator opened again on
the same file continues it, as IB's paper account outlives a TWS restart.

Real parts: a TWSClient over a real SimServer socket places and fills orders;
the server is stopped, a new Simulator is opened on the same file, and a new
client compares what TWS answers: reqOpenOrders,
reqCompletedOrders, reqExecutions, reqPositions, reqAccountUpdates, reqPnL,
and the ids it hands out next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from twsbridge.client import Contract, Order, TWSClient
from twsbridge.sim import SimServer, SimStore, Simulator, StateError
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

pytestmark = pytest.mark.timeout(120)

TIMEOUT = 15.0
START = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)
AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
IBM = Contract(symbol="IBM", secType="STK", exchange="SMART", currency="USD")
AAPL_ID = 265598


def frozen_sim(store: SimStore | None, at: dt.datetime = START) -> Simulator:
    return Simulator(clock=SimClock(at, speed=0), store=store)


def mkt(action: str, qty: int) -> Order:
    return Order(action=action, orderType="MKT", totalQuantity=Decimal(qty))


def lmt(action: str, qty: int, price: float, **kw: Any) -> Order:
    return Order(action=action, orderType="LMT", totalQuantity=Decimal(qty), lmtPrice=price,
                 **kw)


def exec_key(exec_id: str) -> tuple[int, int]:
    """(epoch second, sequence) of a TWS execId ``prefix.epoch.seq.01``."""
    _, epoch, seq, _ = exec_id.split(".")
    return int(epoch, 16), int(seq, 16)


async def submitted(trade: Any) -> None:
    async with asyncio.timeout(TIMEOUT):
        while trade.status != "Submitted":
            await asyncio.sleep(0.02)


async def snapshot(ib: TWSClient) -> dict[str, Any]:
    """Everything a client can ask of the account, in comparable form."""
    opened = await ib.reqOpenOrders()
    done = await ib.reqCompletedOrders()
    fills = await ib.reqExecutions()
    positions = await ib.reqPositions()
    account = await ib.reqAccountUpdates(ib.accounts[0])
    async with ib.reqPnL(ib.accounts[0]) as sub:
        async with asyncio.timeout(TIMEOUT):
            pnl = await anext(aiter(sub))
    return {
        "open": sorted((t.order.orderId, t.order.permId, t.order.action, t.order.orderType,
                        t.order.lmtPrice, t.order.totalQuantity, t.orderState.status)
                       for t in opened),
        "completed": sorted((t.order.permId, t.order.action, t.order.totalQuantity,
                             t.order.filledQuantity, t.orderState.status,
                             t.orderState.completedStatus, t.orderState.completedTime)
                            for t in done),
        "executions": sorted((f.execution.execId, f.execution.permId, f.execution.orderId,
                              f.execution.shares, f.execution.price, f.execution.time,
                              f.execution.cumQty, f.execution.avgPrice,
                              f.commissionReport.commission if f.commissionReport else None,
                              f.commissionReport.realizedPNL if f.commissionReport else None)
                             for f in fills),
        "positions": sorted((p.contract.conId, p.position, p.avgCost) for p in positions),
        "account": sorted((v.tag, v.value, v.currency) for v in account.values),
        "portfolio": sorted((p.contract.conId, p.position, p.averageCost, p.realizedPNL)
                            for p in account.portfolio),
        "pnl": (round(pnl.dailyPnL, 6), round(pnl.unrealizedPnL, 6), round(pnl.realizedPnL, 6)),
    }


async def first_run(sim: Simulator) -> tuple[dict[str, Any], int, Any]:
    """Trades on ``sim`` through a real socket: a filled buy, a partly closing
    sell (realized P&L), a cancelled limit and a resting limit; returns the
    snapshot, nextValidId and the resting order."""
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            await ib.placeOrder(AAPL, mkt("BUY", 100)).done(timeout=TIMEOUT)
            sim.clock.advance(60)
            await ib.placeOrder(AAPL, mkt("SELL", 40)).done(timeout=TIMEOUT)
            gone = ib.placeOrder(IBM, lmt("BUY", 10, 150.0))
            await submitted(gone)
            sim.clock.advance(60)
            ib.cancelOrder(gone.order)
            await gone.done(timeout=TIMEOUT)
            resting = ib.placeOrder(AAPL, lmt("BUY", 20, 300.0, tif="GTC"))
            await submitted(resting)
            sim.clock.advance(120)  # the account's last change is at 10:04
            await ib.placeOrder(IBM, mkt("BUY", 5)).done(timeout=TIMEOUT)
            before = await snapshot(ib)
            next_id = await ib.reqIds()
    return before, next_id, resting


async def test_a_new_simulator_on_the_same_file_continues_the_account(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    store = SimStore.open(path)
    sim = frozen_sim(store)
    before, next_id, resting = await first_run(sim)
    assert len(before["executions"]) >= 3 and before["open"] and before["completed"]
    assert any(r is not None and r < 1e300 for *_, r in before["executions"])  # realized
    store.close()

    again = SimStore.open(path)
    sim2 = frozen_sim(again)  # its clock would start at 10:00: resumes at 10:04
    assert again.continued
    assert sim2.clock.now() == sim.clock.now() == START + dt.timedelta(minutes=4)
    async with SimServer(sim2, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            after = await snapshot(ib)
            assert after == before
            assert await ib.reqIds() >= next_id
            trade = ib.placeOrder(AAPL, mkt("BUY", 10))
            await trade.done(timeout=TIMEOUT)
            new_fill = trade.fills[-1].execution
    old_perm = max([p for _, p, *_ in before["open"]] + [p for p, *_ in before["completed"]])
    assert trade.order.orderId >= next_id
    assert trade.order.permId > old_perm
    assert new_fill.execId not in {e[0] for e in before["executions"]}
    assert exec_key(new_fill.execId) > max(exec_key(e[0]) for e in before["executions"])
    assert resting.order.permId in {p for _, p, *_ in after["open"]}
    again.close()


async def test_a_resting_limit_order_fills_after_the_restart(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    probe = frozen_sim(None)
    now_ask = probe.prices.quote(AAPL_ID, START).ask
    # a limit below the ask now that the market reaches within the next hour
    later = [probe.prices.quote(AAPL_ID, START + dt.timedelta(minutes=m)).ask
             for m in range(1, 61)]
    low = min(later)
    assert now_ask - low > 0.05, "AAPL does not fall in the hour: choose another start"
    limit = round((now_ask + low) / 2, 2)

    store = SimStore.open(path)
    sim = frozen_sim(store)
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            trade = ib.placeOrder(AAPL, lmt("BUY", 50, limit, tif="GTC"))
            await submitted(trade)
            perm_id, order_id = trade.order.permId, trade.order.orderId
    assert not sim.broker.executions()
    assert sim.store is not None
    sim.store.close()

    sim2 = frozen_sim(SimStore.open(path))
    async with SimServer(sim2, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            (resting,) = await ib.reqOpenOrders()
            assert (resting.order.permId, resting.order.orderId) == (perm_id, order_id)
            assert resting.orderState.status == "Submitted"
            async with asyncio.timeout(TIMEOUT):
                while resting.status != "Filled":
                    sim2.clock.advance(30)
                    await asyncio.sleep(0.05)
            assert sum(f.execution.shares for f in resting.fills) == 50
            assert all(f.execution.price <= limit for f in resting.fills)
            (position,) = await ib.reqPositions()
            assert position.position == 50
    assert sim2.store is not None
    sim2.store.close()


async def test_what_a_client_was_told_is_already_in_the_file(tmp_path: Path) -> None:
    """The change is written before the message reporting it goes out: the
    moment the client has the fill, another reader of the file sees it."""
    path = tmp_path / "account.sqlite3"
    sim = frozen_sim(SimStore.open(path))
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            for qty in (10, 20, 30):
                trade = ib.placeOrder(AAPL, mkt("BUY", qty))
                async with asyncio.timeout(TIMEOUT):
                    while not trade.fills:
                        await asyncio.sleep(0)
                exec_id = trade.fills[0].execution.execId
                with sqlite3.connect(path) as reader:
                    found = reader.execute("SELECT count(*) FROM executions WHERE exec_id = ?",
                                           (exec_id,)).fetchone()[0]
                assert found == 1, f"{exec_id} reached the client before the file"


def test_reset_starts_a_fresh_account_whose_ids_go_on(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    store = SimStore.open(path)
    sim = frozen_sim(store)
    sim.broker.place(1, 1, AAPL, mkt("BUY", 100))
    sim.broker.place(1, 2, AAPL, lmt("BUY", 100, 300.0))
    assert len(sim.broker.executions()) == 1
    old_perm = sim.broker.orders()[-1].perm_id
    old_exec = sim.broker.executions()[0][0].execId
    store.close()
    fresh = SimStore.open(path, reset=True)
    assert fresh.backup is not None and fresh.backup.exists() and fresh.backup != path
    sim2 = frozen_sim(fresh)
    assert not fresh.continued
    assert (sim2.broker.orders(), sim2.broker.executions(), sim2.account.holdings) == ([], [], {})
    assert sim2.account.cash == {"USD": 1_000_000.0}
    # TWS's id sequences are not the account's: they go on, so no id comes twice
    assert sim2.next_order_id == 3
    sim2.broker.place(1, 1, AAPL, mkt("BUY", 1))  # an id client 1 used: 103
    assert not sim2.broker.orders()
    sim2.broker.place(1, 3, AAPL, mkt("BUY", 1))
    (rec,) = sim2.broker.orders()
    assert rec.perm_id > old_perm
    assert exec_key(sim2.broker.executions()[0][0].execId) > exec_key(old_exec)
    fresh.close()
    old = frozen_sim(SimStore.open(fresh.backup))
    assert [r.order_id for r in old.broker.orders()] == [1, 2]
    assert old.account.holdings[AAPL_ID].position == 100


def test_one_simulator_at_a_time_holds_an_account(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    store = SimStore.open(path)
    with pytest.raises(StateError, match=r"in use by another simulator \(process \d+\)"):
        SimStore.open(path)
    with pytest.raises(StateError, match="in use"):
        SimStore.open(path, reset=True)  # and no backup of a file in use
    assert not list(tmp_path.glob("*.bak"))
    store.close()
    SimStore.open(path).close()


def test_a_file_of_another_account_or_not_a_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    Simulator(store=SimStore.open(path)).store.close()  # type: ignore[union-attr]
    other = SimStore.open(path)
    with pytest.raises(StateError, match="holds account DU1234567, not DU7654321"):
        Simulator(account="DU7654321", store=other)
    other.close()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all, just bytes " * 100)
    with pytest.raises(StateError, match="not a simulator state file"):
        SimStore.open(junk)


def test_a_damaged_account_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    sim = frozen_sim(SimStore.open(path))
    sim.broker.place(1, 1, AAPL, mkt("BUY", 100))
    assert sim.store is not None
    sim.store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE orders SET data = replace(data, '\"con_id\":265598', '\"con_id\":1')")
        before = list(db.iterdump())
    store = SimStore.open(path)
    with pytest.raises(StateError, match="no instrument conId 1"):
        frozen_sim(store, START + dt.timedelta(hours=1))
    store.close()
    with sqlite3.connect(path) as db:
        assert list(db.iterdump()) == before
