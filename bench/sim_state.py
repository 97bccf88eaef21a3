"""What the simulator's persistent account (SimStore) costs, against the same simulator in memory.

Usage::

    .venv/bin/python bench/sim_state.py [--orders 1000] [--steps 200]

Two simulators on a frozen clock (2013-03-01 10:00, cash 1e9) take the same
requests straight on their broker (no socket): ``--orders`` placeOrders, every
other one a MKT BUY that fills at once, the rest GTC LMT BUYs that rest; then
``--steps`` steps of the broker with the resting orders working and nothing
changing (what the server's stepper does every 50 ms). One of them writes its
account to a SimStore (SQLite, WAL, synchronous=FULL: an fsync per request
that changed something). Printed: ms per placeOrder (all, first tenth, last
tenth: the write must not grow with the account's history), ms per idle step,
each with the ratio to the in-memory simulator; then the time to continue the
account in a new Simulator (load) and the file's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from twsbridge.protocol.models import Contract
from twsbridge.protocol.order_models import Order
from twsbridge.sim import SimStore, Simulator
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
START = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)


def _order(i: int) -> Order:
    if i % 2:
        return Order(action="BUY", orderType="LMT", totalQuantity=Decimal(10),
                     lmtPrice=300.0 + (i % 50) / 100, tif="GTC")
    return Order(action="BUY", orderType="MKT", totalQuantity=Decimal(10))


def measure(store: SimStore | None, orders: int, steps: int) -> dict[str, Any]:
    """Place ``orders`` and step ``steps`` times; timings in ms."""
    sim = Simulator(clock=SimClock(START, speed=0), cash=1e9, store=store)
    each = []
    for i in range(1, orders + 1):
        t0 = time.perf_counter()
        sim.broker.place(1, i, AAPL, _order(i))
        each.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.broker.step()
    step = (time.perf_counter() - t0) / steps
    tenth = max(1, orders // 10)
    return {
        "place": sum(each) / orders * 1e3, "first": sum(each[:tenth]) / tenth * 1e3,
        "last": sum(each[-tenth:]) / tenth * 1e3, "step": step * 1e3,
        "executions": len(sim.broker.executions()),
        "working": len(sim.broker.open_orders()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both runs and the reload; the figures."""
    memory = measure(None, args.orders, args.steps)
    with tempfile.TemporaryDirectory(prefix="twsbridge-simstate-") as tmp:
        path = Path(tmp) / "account.sqlite3"
        store = SimStore.open(path)
        stored = measure(store, args.orders, args.steps)
        store.close()
        t0 = time.perf_counter()
        again = SimStore.open(path)
        sim = Simulator(clock=SimClock(START, speed=0), cash=1e9, store=again)
        load = (time.perf_counter() - t0) * 1e3
        assert len(sim.broker.orders()) == args.orders
        assert len(sim.broker.executions()) == stored["executions"]
        again.close()
        size = path.stat().st_size
    return {"memory": memory, "stored": stored, "load_ms": load, "size": size}


def report(args: argparse.Namespace, f: dict[str, Any]) -> None:
    m, s = f["memory"], f["stored"]
    print(f"{args.orders} placeOrders ({s['executions']} fills, {s['working']} resting), "
          f"{args.steps} idle steps")
    for key, what in (("place", "placeOrder, all"), ("first", "placeOrder, first tenth"),
                      ("last", "placeOrder, last tenth"), ("step", "idle step")):
        print(f"  {what:<24} in memory {m[key]:8.3f} ms   with store {s[key]:8.3f} ms   "
              f"ratio {s[key] / m[key]:5.2f}x")
    print(f"  continue the account (open + load): {f['load_ms']:.1f} ms; "
          f"file {f['size'] / 1024:.0f} KiB")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=200)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report(args, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
