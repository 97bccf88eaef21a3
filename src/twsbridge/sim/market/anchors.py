"""Real price levels the synthetic market is anchored to after the real data ends.

The real daily data (:mod:`twsbridge.sim.market.prices`) ends on 2013-03-01. So
that a simulator running at the present quotes each instrument near where it
really trades, the synthetic daily series after that date reverts not to the
2013 close but to a level that moves, geometrically in time, from the
instrument's 2013-03-01 close to its real close on :data:`ANCHOR_DATE`, and
stays at that level after it (a mean-reverting walk around it, as before). The
levels are the closes of the last trading day of 2024 as the exchanges
published them (primary listing, unadjusted for later events; forex: the
16:00 London fix region, rounded to the pair's pip). No split or dividend is
simulated between the two dates: the series between them is a seeded model,
not history.

An instrument with no level here keeps reverting to its 2013-03-01 close.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["ANCHORS", "ANCHOR_DATE", "anchor_level"]

ANCHOR_DATE = dt.date(2024, 12, 31)
"""The day of the anchor levels: the last trading day of 2024."""

ANCHORS: dict[int, float] = {
    265598: 250.42,     # AAPL
    4391: 120.79,       # AMD
    270639: 20.05,      # INTC
    272093: 421.50,     # MSFT
    8314: 219.83,       # IBM
    76792991: 403.84,   # TSLA
    208813720: 190.44,  # GOOG
    3691937: 219.39,    # AMZN
    4815747: 134.29,    # NVDA
    107113386: 585.51,  # META
    756733: 586.08,     # SPY
    320227571: 511.23,  # QQQ
    12087792: 1.0354,   # EUR.USD
    12087797: 1.2516,   # GBP.USD
    15016059: 157.20,   # USD.JPY
    14433401: 0.6188,   # AUD.USD
    15016062: 1.4382,   # USD.CAD
    12087820: 0.9074,   # USD.CHF
}
"""conId -> close on :data:`ANCHOR_DATE`, in the instrument's currency."""


def anchor_level(conId: int, start_close: float, start: dt.date, day: dt.date) -> float:
    """The level the synthetic series of ``conId`` reverts to on ``day``: from
    ``start_close`` (its close on ``start``, the last real data day) moving
    geometrically to its anchor on :data:`ANCHOR_DATE`, then that anchor; an
    instrument without an anchor, ``start_close`` throughout."""
    target = ANCHORS.get(conId)
    if target is None or day <= start:
        return start_close
    if day >= ANCHOR_DATE:
        return target
    frac = (day - start).days / (ANCHOR_DATE - start).days
    return float(start_close * (target / start_close) ** frac)
