"""Price profiles of the listed universe and how each instrument is priced.

:func:`profile_of` gives the seeded walk's parameters of an instrument
without its own entry in :mod:`twsbridge.sim.market.prices` (the original
18 keep theirs): its level on 2013-03-01 (the last day of the real data;
approximate, unadjusted: the model simulates no splits, so the series moves
geometrically to the 2024 level of :mod:`twsbridge.sim.market.anchors`;
for names listed later, BABA, 3690, 9988, SHOP, a notional level), its
daily volatility and typical daily volume (0 for indices and forex).

:func:`kind_of` says how an instrument is priced:

``"own"``
    its own seeded series (stocks, ETFs, indices, USD forex pairs, a CFD
    without a listed underlying);
``"cross"``
    a forex cross (neither leg USD): ``base.USD / quote.USD`` from the USD
    pairs at every second (:func:`cross_legs`);
``"cfd"``
    a CFD on a listed stock or index: its underlying's prices
    (:func:`cfd_underlying`);
``"derived"``
    FUT, CONTFUT, OPT, FOP, BAG: priced by ``sim.market.derived`` (not here).

:func:`pricing_venue` is the venue whose sessions an instrument's intraday
path follows (an index: the cash market it is computed on, SPX on NYSE
hours, DAX on Xetra's, N225 on Tokyo's with its lunch break).
"""

from __future__ import annotations

from functools import cache

from twsbridge.sim.market.synth import Profile
from twsbridge.sim.reference.calendar import venue_for
from twsbridge.sim.reference.instruments import Instrument
from twsbridge.sim.reference.universe import listed_instruments
from twsbridge.sim.reference.venues import Venue, venue

__all__ = ["DERIVED_SECTYPES", "cfd_underlying", "cross_legs", "kind_of", "pricing_venue",
           "profile_of"]

DERIVED_SECTYPES = frozenset(("FUT", "CONTFUT", "OPT", "FOP", "BAG"))
"""secTypes priced by ``sim.market.derived``, not by the PriceModel's own series."""

_US, _TECH, _ETF = (0.016, 6e6), (0.022, 8e6), (0.011, 25e6)
_EU, _HK, _JP, _CA = (0.015, 3e6), (0.022, 12e6), (0.017, 5e6), (0.013, 4e6)
_IX, _FX = (0.011, 0.0), (0.005, 0.0)

# (secType, localSymbol, currency) -> (close on 2013-03-01, (daily vol, daily volume))
_LEVELS: dict[tuple[str, str, str], tuple[float, tuple[float, float]]] = {
    ("STK", "GOOGL", "USD"): (806.19, _TECH), ("STK", "JPM", "USD"): (49.03, _US),
    ("STK", "GS", "USD"): (150.49, _US), ("STK", "MS", "USD"): (22.95, _US),
    ("STK", "XOM", "USD"): (89.54, _US), ("STK", "NFLX", "USD"): (185.71, _TECH),
    ("STK", "NKE", "USD"): (54.40, _US), ("STK", "BRK B", "USD"): (102.49, _US),
    ("STK", "BABA", "USD"): (90.00, _TECH), ("STK", "V", "USD"): (159.90, _US),
    ("STK", "MA", "USD"): (519.00, _US), ("STK", "UNH", "USD"): (54.35, _US),
    ("STK", "JNJ", "USD"): (76.45, _US), ("STK", "PG", "USD"): (76.37, _US),
    ("STK", "KO", "USD"): (38.68, _US), ("STK", "PEP", "USD"): (75.85, _US),
    ("STK", "HD", "USD"): (68.97, _US), ("STK", "DIS", "USD"): (54.98, _US),
    ("STK", "BA", "USD"): (77.42, _US), ("STK", "CSCO", "USD"): (20.89, _US),
    ("STK", "ORCL", "USD"): (34.25, _US), ("STK", "AVGO", "USD"): (34.55, _TECH),
    ("STK", "BAC", "USD"): (11.51, _US), ("STK", "CVX", "USD"): (116.74, _US),
    ("STK", "COST", "USD"): (101.39, _US), ("STK", "PFE", "USD"): (27.37, _US),
    ("STK", "IWM", "USD"): (91.49, _ETF), ("STK", "DIA", "USD"): (140.37, _ETF),
    ("STK", "TLT", "USD"): (117.13, (0.008, 8e6)), ("STK", "GLD", "USD"): (152.85, _ETF),
    ("STK", "XLF", "USD"): (17.62, (0.013, 40e6)),
    ("STK", "SAP", "EUR"): (60.48, _EU), ("STK", "SIE", "EUR"): (81.05, _EU),
    ("STK", "BMW", "EUR"): (71.39, _EU), ("STK", "ALV", "EUR"): (104.90, _EU),
    ("STK", "DTE", "EUR"): (8.26, _EU),
    ("STK", "VOD", "GBP"): (174.35, _EU), ("STK", "BP.", "GBP"): (446.80, _EU),
    ("STK", "HSBA", "GBP"): (735.60, _EU), ("STK", "AZN", "GBP"): (3052.0, _EU),
    ("STK", "SHEL", "GBP"): (2201.0, _EU),
    ("STK", "700", "HKD"): (295.00, _HK), ("STK", "3690", "HKD"): (60.00, _HK),
    ("STK", "9988", "HKD"): (80.00, _HK), ("STK", "1299", "HKD"): (34.45, _HK),
    ("STK", "7203", "JPY"): (4870.0, _JP), ("STK", "6758", "JPY"): (1553.0, _JP),
    ("STK", "9984", "JPY"): (3600.0, _JP),
    ("STK", "RY", "CAD"): (63.43, _CA), ("STK", "SHOP", "CAD"): (20.00, _CA),
    ("STK", "TD", "CAD"): (83.54, _CA), ("STK", "ENB", "CAD"): (44.49, _CA),
    ("IND", "SPX", "USD"): (1518.20, _IX), ("IND", "NDX", "USD"): (2747.95, _IX),
    ("IND", "VIX", "USD"): (15.36, (0.06, 0.0)), ("IND", "RUT", "USD"): (911.26, _IX),
    ("IND", "INDU", "USD"): (14089.66, _IX), ("IND", "DAX", "EUR"): (7708.16, _IX),
    ("IND", "ESTX50", "EUR"): (2600.29, _IX), ("IND", "N225", "JPY"): (11606.38, _IX),
    ("IND", "HSI", "HKD"): (22880.22, _IX),
    ("CASH", "NZD.USD", "USD"): (0.8256, _FX), ("CASH", "USD.CNH", "CNH"): (6.2260, (0.002, 0)),
    ("CASH", "USD.HKD", "HKD"): (7.7560, (0.0003, 0.0)),
    ("CASH", "USD.SGD", "SGD"): (1.2405, (0.003, 0.0)),
    ("CFD", "IBGB100", "GBP"): (6378.60, _IX),
}

#: index CFD -> the index it quotes
_CFD_INDEX = {"IBUS500": "SPX", "IBUST100": "NDX", "IBUS30": "INDU", "IBDE40": "DAX",
              "IBEU50": "ESTX50", "IBJP225": "N225", "IBHK50": "HSI"}

#: index -> the venue whose regular sessions it is computed in
_INDEX_VENUE = {"SPX": "NYSE", "NDX": "NYSE", "VIX": "NYSE", "RUT": "NYSE", "INDU": "NYSE",
                "DAX": "IBIS", "ESTX50": "IBIS", "N225": "TSEJ", "HSI": "SEHK"}


def _key(inst: Instrument) -> tuple[str, str, str]:
    return (inst.secType, inst.localSymbol, inst.currency)


def profile_of(inst: Instrument) -> Profile | None:
    """The walk's profile of a listed instrument of the wide universe, or None."""
    found = _LEVELS.get(_key(inst))
    if found is None:
        return None
    close, (vol, volume) = found
    return Profile(close, vol, volume)


@cache
def _listed() -> dict[tuple[str, str, str], Instrument]:
    return {(i.secType, i.localSymbol, i.currency): i for i in listed_instruments()}


def _usd_pair(ccy: str) -> tuple[Instrument, bool] | None:
    """The USD pair quoting ``ccy`` and whether it is ``ccy.USD`` (else ``USD.ccy``)."""
    direct = _listed().get(("CASH", f"{ccy}.USD", "USD"))
    if direct is not None:
        return direct, True
    inverse = _listed().get(("CASH", f"USD.{ccy}", ccy))
    return (inverse, False) if inverse is not None else None


def cross_legs(inst: Instrument) -> tuple[tuple[Instrument, bool], tuple[Instrument, bool]] | None:
    """For a cross ``B.Q``: the USD pairs of B and of Q, each with whether it
    is quoted ``X.USD``; the cross is ``usd(B) / usd(Q)`` where ``usd(X)`` is
    the pair's price (``X.USD``) or its inverse (``USD.X``). None otherwise."""
    if inst.secType != "CASH" or "USD" in (inst.symbol, inst.currency):
        return None
    base, quote = _usd_pair(inst.symbol), _usd_pair(inst.currency)
    return (base, quote) if base is not None and quote is not None else None


def cfd_underlying(inst: Instrument) -> Instrument | None:
    """The listed index or stock a CFD quotes (same currency), or None."""
    if inst.secType != "CFD":
        return None
    index = _CFD_INDEX.get(inst.symbol)
    if index is not None:
        return _listed().get(("IND", index, inst.currency))
    return _listed().get(("STK", inst.symbol, inst.currency))


def kind_of(inst: Instrument) -> str:
    """``"derived"``, ``"cross"``, ``"cfd"`` or ``"own"`` (see the module docstring)."""
    if inst.secType in DERIVED_SECTYPES:
        return "derived"
    if cross_legs(inst) is not None:
        return "cross"
    if cfd_underlying(inst) is not None:
        return "cfd"
    return "own"


def pricing_venue(inst: Instrument) -> Venue:
    """The venue whose sessions the intraday path of ``inst`` follows."""
    if inst.secType == "IND":
        return venue(_INDEX_VENUE.get(inst.symbol, "NYSE"))
    return venue_for(inst)
