"""The frames of the depth, tick-by-tick and historical-ticks workloads of bench/decode.py.

Built as twsbridge message objects (``twsbridge.protocol.catalogue.depth`` and
``.ticks``), deterministic for a seed; decode_depth.py encodes, decodes and times
them. See decode_depth.py for what each workload holds.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from twsbridge.protocol.catalogue.depth import TickByTick, UpdateMktDepth, UpdateMktDepthL2
from twsbridge.protocol.catalogue.ticks import (
    HistoricalTicks,
    HistoricalTicksBidAsk,
    HistoricalTicksLast,
)
from twsbridge.protocol.tick_models import HistoricalTick, HistoricalTickBidAsk, HistoricalTickLast

WORKLOADS = ("depth-l1", "depth-l2", "tick-by-tick", "hist-ticks")
BOOK_IDS = range(1, 7)
ROWS = 10
#: Exchanges holding SMART depth rows, and trading in tick-by-tick and historical ticks.
EXCHANGES = ("NSDQ", "ARCA", "BATS", "EDGX", "IEX", "NYSE", "MEMX", "BYX")
CONDITIONS = ("", "", "", "", "I", "T", "F T", "O X")
T0 = 1697808600  # 2023-10-20 09:30 US/Eastern
HIST_TICKS_ID0 = 300_000
TICKS_PER_FRAME = 1000


# ---------------------------------------------------------------- the streams


def build_depth(n: int, *, level2: bool, seed: int = 12) -> list[Any]:
    """``n`` depth frames (updateMktDepth, or updateMktDepthL2 of SMART depth when
    ``level2``) for books 1..6, 10 rows a side; operations 0 insert, 1 update,
    2 delete at a position, so that replaying them keeps each side in price order."""
    rnd = random.Random(seed)
    mids = {r: 10_000 + 250 * r for r in BOOK_IDS}  # cents
    # books[reqId][side]: rows [distance from mid in cents, size, exchange], best first
    books: dict[int, list[list[list[Any]]]] = {r: [[], []] for r in BOOK_IDS}
    out: list[Any] = []

    def emit(req: int, pos: int, op: int, side: int, row: list[Any]) -> None:
        cents = mids[req] + row[0] if side == 0 else mids[req] - row[0]
        price, size = cents / 100, Decimal(row[1])
        if level2:
            out.append(UpdateMktDepthL2(reqId=req, position=pos, marketMaker=row[2],
                                        operation=op, side=side, price=price, size=size,
                                        isSmartDepth=True))
        else:
            out.append(UpdateMktDepth(reqId=req, position=pos, operation=op, side=side,
                                      price=price, size=size))

    def new_row(d: int) -> list[Any]:
        return [d, rnd.randint(1, 40) * 100, rnd.choice(EXCHANGES)]

    for req in BOOK_IDS:  # the snapshot: 10 inserts a side
        for side in (0, 1):
            d = 0
            for pos in range(ROWS):
                d += rnd.randint(1, 3)
                row = new_row(d)
                books[req][side].append(row)
                emit(req, pos, 0, side, row)
    while len(out) < n:
        req = rnd.choice(BOOK_IDS)
        side = rnd.randint(0, 1)
        rows = books[req][side]
        r = rnd.random()
        insert = (r < 0.15 and len(rows) < ROWS) or (r < 0.30 and len(rows) <= 8)
        delete = not insert and r < 0.30
        if insert:
            pos = rnd.randrange(len(rows) + 1)
            low = rows[pos - 1][0] if pos > 0 else 0
            high = rows[pos][0] if pos < len(rows) else low + 4
            if high - low < 2:  # no price between: a level past the last one
                pos, low, high = len(rows), rows[-1][0], rows[-1][0] + 4
            row = new_row(rnd.randint(low + 1, high - 1))
            rows.insert(pos, row)
            emit(req, pos, 0, side, row)
        elif delete:
            pos = rnd.randrange(len(rows))
            emit(req, pos, 2, side, rows.pop(pos))
        else:
            pos = rnd.randrange(len(rows))
            rows[pos][1] = rnd.randint(1, 40) * 100
            emit(req, pos, 1, side, rows[pos])
    return out[:n]


def build_tick_by_tick(n: int, seed: int = 99) -> list[TickByTick]:
    """``n`` tickByTick frames for request ids 1..6: 45% BidAsk, 35% AllLast, 20%
    MidPoint, around a mid that moves a cent now and then."""
    rnd = random.Random(seed)
    mids = {r: 10_000 + 250 * r for r in BOOK_IDS}
    t = T0
    out: list[TickByTick] = []
    for _ in range(n):
        req = rnd.choice(BOOK_IDS)
        t += rnd.random() < 0.3
        mids[req] += rnd.choice((-1, 0, 0, 0, 0, 1))
        bid, ask = mids[req] - rnd.randint(1, 2), mids[req] + rnd.randint(1, 2)
        kind = rnd.random()
        if kind < 0.45:
            out.append(TickByTick(reqId=req, tickType=3, time=t, bidPrice=bid / 100,
                                  askPrice=ask / 100, bidSize=Decimal(rnd.randint(1, 60) * 100),
                                  askSize=Decimal(rnd.randint(1, 60) * 100),
                                  attrMask=rnd.choice((0, 0, 0, 0, 0, 1, 2, 3))))
        elif kind < 0.80:
            out.append(TickByTick(reqId=req, tickType=2, time=t,
                                  price=rnd.choice((bid, ask, mids[req])) / 100,
                                  size=Decimal(rnd.randint(1, 500)),
                                  attrMask=rnd.choice((0, 0, 0, 0, 0, 0, 1, 2)),
                                  exchange=rnd.choice(EXCHANGES),
                                  specialConditions=rnd.choice(CONDITIONS)))
        else:
            out.append(TickByTick(reqId=req, tickType=4, time=t, midPoint=(bid + ask) / 200))
    return out


def build_hist_ticks(frames: int, seed: int = 96,
                     per_frame: int = TICKS_PER_FRAME) -> list[Any]:
    """``frames`` historicalTicks / historicalTicksBidAsk / historicalTicksLast
    frames in turn, ``per_frame`` ticks each, one request id each, ``done`` set."""
    rnd = random.Random(seed)
    out: list[Any] = []
    mid = 15_000
    for k in range(frames):
        t = T0 + 60 * k
        ticks: list[Any] = []
        for _ in range(per_frame):
            t += rnd.randint(0, 2)
            mid += rnd.choice((-1, 0, 0, 1))
            bid, ask = mid - rnd.randint(1, 2), mid + rnd.randint(1, 2)
            if k % 3 == 0:
                ticks.append(HistoricalTick(time=t, price=(bid + ask) / 200, size=Decimal(0)))
            elif k % 3 == 1:
                ticks.append(HistoricalTickBidAsk(
                    time=t, mask=rnd.choice((0, 0, 0, 0, 1, 2, 3)), priceBid=bid / 100,
                    priceAsk=ask / 100, sizeBid=Decimal(rnd.randint(1, 60) * 100),
                    sizeAsk=Decimal(rnd.randint(1, 60) * 100)))
            else:
                ticks.append(HistoricalTickLast(
                    time=t, mask=rnd.choice((0, 0, 0, 0, 0, 1, 2)),
                    price=rnd.choice((bid, ask)) / 100, size=Decimal(rnd.randint(1, 500)),
                    exchange=rnd.choice(EXCHANGES), specialConditions=rnd.choice(CONDITIONS)))
        cls = (HistoricalTicks, HistoricalTicksBidAsk, HistoricalTicksLast)[k % 3]
        out.append(cls(reqId=HIST_TICKS_ID0 + k, ticks=ticks, done=True))
    return out


def build(name: str, n: int) -> list[Any]:
    """The messages of workload ``name``: ``n`` frames (``hist-ticks``: ``n`` frames of
    1000 ticks)."""
    if name == "depth-l1":
        return build_depth(n, level2=False)
    if name == "depth-l2":
        return build_depth(n, level2=True)
    if name == "tick-by-tick":
        return list(build_tick_by_tick(n))
    if name == "hist-ticks":
        return build_hist_ticks(n)
    raise ValueError(f"unknown workload {name!r}")
