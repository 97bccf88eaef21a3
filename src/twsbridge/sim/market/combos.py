"""Combo (BAG) quotes from their legs, and the option generic ticks of an underlying.

Combos
    TWS prices a combo as the sum over its legs of ``ratio * leg price``, BUY legs
    added and SELL legs subtracted (a credit spread has a negative price). Buying the
    combo buys the BUY legs at their asks and sells the SELL legs at their bids, so
    ``ask = sum(BUY ratio * ask) - sum(SELL ratio * bid)`` and
    ``bid = sum(BUY ratio * bid) - sum(SELL ratio * ask)``; the sizes are the combo
    units the legs' sizes carry (``min(leg size // ratio)`` over the sides used).

Option generic ticks of an underlying (reqMktData genericTickList, TWS doc
"Generic Tick Types")
    * 100 option volume -> ticks 29/30 (call/put volume): :func:`option_volume`;
    * 101 open interest -> ticks 27/28 (call/put open interest): :func:`open_interest`;
    * 104 historical vol -> tick 23: :func:`historical_volatility` (30 trading days of
      daily closes, annualised with sqrt(252));
    * 106 implied vol -> tick 24: :func:`underlying_implied_vol`, the surface's ATM
      vol at 30 calendar days, the level the underlying's options are priced from.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from twsbridge.protocol.models import ComboLeg
from twsbridge.sim.market import derived_params as params
from twsbridge.sim.market.derived import DerivedPricer
from twsbridge.sim.market.prices import Quote
from twsbridge.sim.reference.instruments import Instrument
from twsbridge.sim.reference.option_classes import OPTION_CLASSES

__all__ = [
    "combo_quote",
    "historical_volatility",
    "open_interest",
    "option_volume",
    "underlying_implied_vol",
]

_NEW_YORK = ZoneInfo("America/New_York")


def combo_quote(legs: Sequence[tuple[ComboLeg, Quote]], t: dt.datetime) -> Quote:
    """The quote of a BAG from its legs' quotes at ``t`` (module docstring).

    ``legs``: (ComboLeg, that leg's Quote) pairs; ``ratio`` > 0, ``action`` ``BUY`` or
    ``SELL``. ``last``/``open``/``close`` are the signed sums of the legs' figures,
    ``high``/``low`` the signed sums of the legs' highs and lows on the side that
    raises (lowers) the combo (bounds: the legs' extremes need not coincide);
    ``volume`` and ``lastSize`` 0 (the legs trade, not the combo). Raises ValueError
    for no legs, a non-positive ratio or another action.
    """
    if not legs:
        raise ValueError("a combo needs at least one leg")
    bid = ask = last = open_ = close = high = low = 0.0
    bid_size: int | None = None
    ask_size: int | None = None
    for leg, q in legs:
        if leg.ratio <= 0:
            raise ValueError(f"leg {leg.conId}: ratio must be positive, not {leg.ratio}")
        action = leg.action.upper()
        if action not in ("BUY", "SELL"):
            raise ValueError(f"leg {leg.conId}: action must be BUY or SELL, not {leg.action!r}")
        n = leg.ratio
        buy = action == "BUY"
        sign = 1.0 if buy else -1.0
        bid += n * (q.bid if buy else -q.ask)
        ask += n * (q.ask if buy else -q.bid)
        high += n * (q.high if buy else -q.low)
        low += n * (q.low if buy else -q.high)
        last += sign * n * q.last
        open_ += sign * n * q.open
        close += sign * n * q.close
        b = int((q.bidSize if buy else q.askSize) // n)
        a = int((q.askSize if buy else q.bidSize) // n)
        bid_size = b if bid_size is None else min(bid_size, b)
        ask_size = a if ask_size is None else min(ask_size, a)
    return Quote(bid=round(bid, 10), ask=round(ask, 10), last=round(last, 10),
                 bidSize=Decimal(bid_size or 0), askSize=Decimal(ask_size or 0),
                 lastSize=Decimal(0), volume=Decimal(0), high=round(high, 10),
                 low=round(low, 10), open=round(open_, 10), close=round(close, 10), time=t)


def historical_volatility(closes: Sequence[float], window: int = 30) -> float | None:
    """Tick 23 (generic tick 104): annualised standard deviation of the daily log
    returns of the last ``window`` + 1 ``closes`` (oldest first), times sqrt(252);
    None with fewer than 3 positive closes."""
    tail = [c for c in closes[-(window + 1):] if c > 0]
    if len(tail) < 3:
        return None
    r = [math.log(b / a) for a, b in itertools.pairwise(tail)]
    mean = math.fsum(r) / len(r)
    var = math.fsum((x - mean) ** 2 for x in r) / (len(r) - 1)
    return math.sqrt(var * 252.0)


def _surface_key(under: Instrument) -> tuple[str, str]:
    return (under.tradingClass if under.secType in ("FUT", "CONTFUT") else under.symbol,
            "FUT" if under.secType in ("FUT", "CONTFUT") else under.secType)


def underlying_implied_vol(pricer: DerivedPricer, under: Instrument, t: dt.datetime) -> float:
    """Tick 24 (generic tick 106): the 30-day ATM implied vol of ``under``'s options at
    ``t`` (annualised decimal), the surface :class:`DerivedPricer` prices them from."""
    key, sec = _surface_key(under)
    return pricer.atm_vol(key, sec, under.conId, t)


def _classes(under: Instrument) -> list[str]:
    if under.secType in ("FUT", "CONTFUT"):
        return [c.tradingClass for c in OPTION_CLASSES.values()
                if c.secType == "FOP" and c.future == under.tradingClass]
    return [c.tradingClass for c in OPTION_CLASSES.values()
            if c.secType == "OPT" and c.symbol == under.symbol
            and c.underSecType == under.secType]


def _put_share(under: Instrument) -> float:
    return 0.6 if under.secType == "IND" or under.symbol in ("SPY", "QQQ", "IWM") else 0.42


def option_volume(pricer: DerivedPricer, under: Instrument, t: dt.datetime) -> tuple[int, int]:
    """Ticks 29/30 (generic tick 100): (call volume, put volume) in contracts traded
    so far today over every option class on ``under``; (0, 0) for none. Grows through
    the session (:meth:`DerivedPricer.session_fraction`), seeded per day."""
    classes = _classes(under)
    if not classes:
        return 0, 0
    probe = Instrument(conId=0, symbol=under.symbol, secType=OPTION_CLASSES[classes[0]].secType,
                       exchange=OPTION_CLASSES[classes[0]].exchange, primaryExchange="",
                       currency=under.currency, localSymbol="", tradingClass=classes[0],
                       longName="", minTick=0.01)
    frac, day = pricer.session_fraction(probe, t)
    daily = sum(params.option_liquidity(c).daily for c in classes)
    total = daily * (1.0 + 0.3 * pricer.day_noise(under.conId, day, 41)) * frac
    puts = int(total * _put_share(under))
    return int(total) - puts, puts


def open_interest(pricer: DerivedPricer, under: Instrument, t: dt.datetime) -> tuple[int, int]:
    """Ticks 27/28 (generic tick 101): (call open interest, put open interest) in
    contracts over every option class on ``under`` (OCC publishes it once a day: the
    figure is constant through a New York calendar day, seeded per day)."""
    classes = _classes(under)
    if not classes:
        return 0, 0
    day = t.astimezone(_NEW_YORK).date().toordinal()
    base = sum(params.option_liquidity(c).open_interest for c in classes)
    total = base * (1.0 + 0.05 * pricer.day_noise(under.conId, day, 51))
    puts = int(total * _put_share(under))
    return int(total) - puts, puts
