"""Generated conIds of the simulated universe: the scheme.

Real Interactive Brokers conIds are kept wherever they are known (the 18
instruments of :data:`~twsbridge.sim.reference.instruments.INSTRUMENTS` and
the verified ones in :mod:`twsbridge.sim.reference.universe`). Every other
contract gets a generated conId in ``[1_000_000_000, 2^31)``: IB's conIds are
32-bit and, as of 2026, all below 900 million, so the two never meet. The
range is cut in three, and each part is collision-free by construction:

``1_000_000_000 + blake2b(key) mod 1_000_000`` (:func:`listed_conid`)
    Listed instruments without a known real conId (stocks, ETFs, indices,
    CFDs, forex crosses). ``key`` is ``"secType:symbol:primaryExchange:currency"``
    (``"STK:SAP:IBIS:EUR"``); the hash is BLAKE2b with an 8-byte digest,
    read big-endian. The table is finite, and
    :func:`twsbridge.sim.reference.universe.listed_instruments` raises
    ``ValueError`` at build time if two of them ever shared a conId.

``1_001_000_000 + product * 2400 + month`` (:func:`future_conid`)
    Futures. ``product`` is the product's fixed slot (0..255, never reused),
    ``month = ((year - 1900) * 12 + month - 1) mod 2400``: unique for 200
    years of contract months.

``1_002_000_000 + ((product * 1625 + expiry) * 4096 + strike) * 2 + right`` (:func:`option_conid`)
    Options (OPT) and futures options (FOP). ``product`` is the option
    class's fixed slot (0..79), ``expiry`` the number of weekdays from
    2000-01-03 to the expiry date mod 1625 (6.2 years), ``strike`` the
    strike in the class's strike unit mod 4096, ``right`` 0 for calls, 1 for
    puts. Two contracts of a class can only share a conId if their expiries
    are 1625 weekdays apart or their strikes 4096 units apart; no listing
    comes near either (the farthest LEAPS, SPX's, reach about 800 weekdays;
    strike grids span a few hundred units, and every class's unit keeps
    4096 of them above any plausible price: SPX 5 points, stocks $0.50), so
    any one day's universe, and any two within about three years of each
    other, are free of duplicates. The largest value is 2_066_959_999 < 2^31.
"""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = [
    "FUTURE_BASE",
    "LISTED_BASE",
    "OPTION_BASE",
    "future_conid",
    "listed_conid",
    "option_conid",
    "weekday_number",
]

LISTED_BASE = 1_000_000_000
FUTURE_BASE = 1_001_000_000
OPTION_BASE = 1_002_000_000
_LISTED_SLOTS = 1_000_000
_FUTURE_PRODUCTS, _FUTURE_MONTHS = 256, 2400
_OPTION_PRODUCTS, _EXPIRY_SLOTS, _STRIKE_SLOTS = 80, 1625, 4096
_EPOCH = dt.date(2000, 1, 3)  # a Monday


def listed_conid(secType: str, symbol: str, primaryExchange: str, currency: str) -> int:
    """Generated conId of a listed instrument (see the module docstring)."""
    key = f"{secType}:{symbol}:{primaryExchange}:{currency}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return LISTED_BASE + int.from_bytes(digest, "big") % _LISTED_SLOTS


def future_conid(product: int, year: int, month: int) -> int:
    """Generated conId of the future of product slot ``product`` for the
    contract month ``year``-``month``. Raises ValueError for a slot out of range."""
    if not 0 <= product < _FUTURE_PRODUCTS:
        raise ValueError(f"future product slot {product} out of range")
    months = ((year - 1900) * 12 + month - 1) % _FUTURE_MONTHS
    return FUTURE_BASE + product * _FUTURE_MONTHS + months


def weekday_number(day: dt.date) -> int:
    """Weekdays (Mon-Fri) from 2000-01-03 to ``day``; a weekend day counts as
    the Friday before."""
    weeks, rem = divmod((day - _EPOCH).days, 7)
    return weeks * 5 + min(rem, 4)


def option_conid(product: int, expiry: dt.date, strike_units: int, right: str) -> int:
    """Generated conId of an option of class slot ``product`` expiring on
    ``expiry`` with strike ``strike_units`` (strike / the class's strike
    unit, an integer) and ``right`` ``"C"`` or ``"P"``. Raises ValueError
    for a slot out of range or another right."""
    if not 0 <= product < _OPTION_PRODUCTS:
        raise ValueError(f"option product slot {product} out of range")
    if right not in ("C", "P"):
        raise ValueError(f"right must be C or P, not {right!r}")
    slot = product * _EXPIRY_SLOTS + weekday_number(expiry) % _EXPIRY_SLOTS
    return OPTION_BASE + (slot * _STRIKE_SLOTS + strike_units % _STRIKE_SLOTS) * 2 + (
        right == "P"
    )
