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

:data:`LISTED_ANCHORS` gives the same levels for the rest of the listed
universe (:mod:`twsbridge.sim.reference.universe`: more US names, Xetra,
LSE, SEHK, TSEJ and TSE stocks, indices, USD forex pairs, the FTSE CFD),
keyed by the same conIds. They are the 2024-12-31 closes (30 December
where the exchange was closed: Xetra, Tokyo) as remembered, rounded to a
few significant figures: approximate, good to a percent or two, not a
data feed. LSE stocks are in pence, as IB quotes them. Forex crosses and
CFDs on a listed underlying have no level of their own: they are derived
from their legs or underlying (:mod:`twsbridge.sim.market.profiles`).
"""

from __future__ import annotations

import datetime as dt

from twsbridge.sim.reference.universe import listed_instruments

__all__ = ["ANCHORS", "ANCHOR_DATE", "LISTED_ANCHORS", "anchor_level", "anchor_of"]

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

# (secType, localSymbol, currency) -> approximate close on ANCHOR_DATE
_LISTED_CLOSES: dict[tuple[str, str, str], float] = {
    ("STK", "GOOGL", "USD"): 189.30, ("STK", "JPM", "USD"): 239.71,
    ("STK", "GS", "USD"): 572.62, ("STK", "MS", "USD"): 125.72,
    ("STK", "XOM", "USD"): 107.57, ("STK", "NFLX", "USD"): 891.32,
    ("STK", "NKE", "USD"): 75.67, ("STK", "BRK B", "USD"): 453.28,
    ("STK", "BABA", "USD"): 84.79, ("STK", "V", "USD"): 316.04,
    ("STK", "MA", "USD"): 526.57, ("STK", "UNH", "USD"): 505.86,
    ("STK", "JNJ", "USD"): 144.62, ("STK", "PG", "USD"): 167.65,
    ("STK", "KO", "USD"): 62.26, ("STK", "PEP", "USD"): 152.06,
    ("STK", "HD", "USD"): 388.99, ("STK", "DIS", "USD"): 111.35,
    ("STK", "BA", "USD"): 177.00, ("STK", "CSCO", "USD"): 59.20,
    ("STK", "ORCL", "USD"): 166.64, ("STK", "AVGO", "USD"): 231.84,
    ("STK", "BAC", "USD"): 43.95, ("STK", "CVX", "USD"): 144.84,
    ("STK", "COST", "USD"): 916.27, ("STK", "PFE", "USD"): 26.53,
    ("STK", "IWM", "USD"): 220.96, ("STK", "DIA", "USD"): 425.48,
    ("STK", "TLT", "USD"): 87.33, ("STK", "GLD", "USD"): 242.13,
    ("STK", "XLF", "USD"): 48.33,
    ("STK", "SAP", "EUR"): 236.30, ("STK", "SIE", "EUR"): 188.56,
    ("STK", "BMW", "EUR"): 78.96, ("STK", "ALV", "EUR"): 295.90,
    ("STK", "DTE", "EUR"): 28.89,
    ("STK", "VOD", "GBP"): 68.28, ("STK", "BP.", "GBP"): 393.35,
    ("STK", "HSBA", "GBP"): 785.80, ("STK", "AZN", "GBP"): 10466.0,
    ("STK", "SHEL", "GBP"): 2480.0,
    ("STK", "700", "HKD"): 417.00, ("STK", "3690", "HKD"): 151.70,
    ("STK", "9988", "HKD"): 65.90, ("STK", "1299", "HKD"): 56.30,
    ("STK", "7203", "JPY"): 3146.0, ("STK", "6758", "JPY"): 3369.0,
    ("STK", "9984", "JPY"): 9193.0,
    ("STK", "RY", "CAD"): 173.35, ("STK", "SHOP", "CAD"): 152.93,
    ("STK", "TD", "CAD"): 76.54, ("STK", "ENB", "CAD"): 61.02,
    ("IND", "SPX", "USD"): 5881.63, ("IND", "NDX", "USD"): 21012.17,
    ("IND", "VIX", "USD"): 17.35, ("IND", "RUT", "USD"): 2230.16,
    ("IND", "INDU", "USD"): 42544.22, ("IND", "DAX", "EUR"): 19909.14,
    ("IND", "ESTX50", "EUR"): 4895.98, ("IND", "N225", "JPY"): 39894.54,
    ("IND", "HSI", "HKD"): 20059.95,
    ("CASH", "NZD.USD", "USD"): 0.5595, ("CASH", "USD.CNH", "CNH"): 7.3400,
    ("CASH", "USD.HKD", "HKD"): 7.7680, ("CASH", "USD.SGD", "SGD"): 1.3650,
    ("CFD", "IBGB100", "GBP"): 8173.0,
}

LISTED_ANCHORS: dict[int, float] = {
    i.conId: _LISTED_CLOSES[(i.secType, i.localSymbol, i.currency)]
    for i in listed_instruments() if (i.secType, i.localSymbol, i.currency) in _LISTED_CLOSES
}
"""conId -> approximate close on :data:`ANCHOR_DATE` of the other listed instruments."""


def anchor_of(conId: int) -> float | None:
    """The anchor close of ``conId`` (:data:`ANCHORS`, then :data:`LISTED_ANCHORS`), or None."""
    found = ANCHORS.get(conId)
    return found if found is not None else LISTED_ANCHORS.get(conId)


def anchor_level(conId: int, start_close: float, start: dt.date, day: dt.date) -> float:
    """The level the synthetic series of ``conId`` reverts to on ``day``: from
    ``start_close`` (its close on ``start``, the last real data day) moving
    geometrically to its anchor on :data:`ANCHOR_DATE`, then that anchor; an
    instrument without an anchor, ``start_close`` throughout."""
    target = anchor_of(conId)
    if target is None or day <= start:
        return start_close
    if day >= ANCHOR_DATE:
        return target
    frac = (day - start).days / (ANCHOR_DATE - start).days
    return float(start_close * (target / start_close) ** frac)
