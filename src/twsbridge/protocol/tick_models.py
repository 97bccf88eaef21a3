"""Data objects of historical ticks, histograms, market rules and SMART components.

Items of the lists that historicalTicks (96), historicalTicksBidAsk (97),
historicalTicksLast (98), histogramData (89), marketRule (93) and
smartComponents (82) carry (TWS API reference, "EWrapper"). Attribute names are
TWS's; prices are ``float``, sizes :class:`decimal.Decimal`, times epoch seconds.

The bid/ask and last ticks keep TWS's attribute ``mask`` as the int it travels
as (so a decoded tick encodes back to the same bytes, unknown bits included);
their properties read its bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from .codec import UNSET_DECIMAL

__all__ = [
    "HistogramEntry",
    "HistoricalTick",
    "HistoricalTickBidAsk",
    "HistoricalTickLast",
    "PriceIncrement",
    "SmartComponent",
]


@dataclass(slots=True)
class HistoricalTick:
    """One MIDPOINT tick of reqHistoricalTicks (in historicalTicks, id 96).

    ``time`` epoch seconds; ``price`` the midpoint; ``size`` TWS sends 0.
    ``unused`` is a field TWS sends between time and price that no client
    reads (0); it is kept so a decoded frame encodes back to the same bytes.
    """

    time: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    unused: int = 0


@dataclass(slots=True)
class HistoricalTickBidAsk:
    """One BID_ASK tick of reqHistoricalTicks (in historicalTicksBidAsk, id 97).

    ``time`` epoch seconds; ``mask`` the tick's attributes: bit 1
    (:attr:`ASK_PAST_HIGH`) the ask is above the day's high, bit 2
    (:attr:`BID_PAST_LOW`) the bid is below the day's low.
    """

    ASK_PAST_HIGH: ClassVar[int] = 1
    BID_PAST_LOW: ClassVar[int] = 2

    time: int = 0
    mask: int = 0
    priceBid: float = 0.0
    priceAsk: float = 0.0
    sizeBid: Decimal = UNSET_DECIMAL
    sizeAsk: Decimal = UNSET_DECIMAL

    @property
    def askPastHigh(self) -> bool:
        """Bit 1 of ``mask``: the ask price is above the day's high."""
        return bool(self.mask & self.ASK_PAST_HIGH)

    @property
    def bidPastLow(self) -> bool:
        """Bit 2 of ``mask``: the bid price is below the day's low."""
        return bool(self.mask & self.BID_PAST_LOW)


@dataclass(slots=True)
class HistoricalTickLast:
    """One TRADES tick of reqHistoricalTicks (in historicalTicksLast, id 98).

    ``time`` epoch seconds; ``mask`` the tick's attributes: bit 1
    (:attr:`PAST_LIMIT`) the trade is past the price limit, bit 2
    (:attr:`UNREPORTED`) an unreported trade; ``exchange`` where it traded;
    ``specialConditions`` TWS's trade condition codes (text).
    """

    PAST_LIMIT: ClassVar[int] = 1
    UNREPORTED: ClassVar[int] = 2

    time: int = 0
    mask: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    exchange: str = ""
    specialConditions: str = ""

    @property
    def pastLimit(self) -> bool:
        """Bit 1 of ``mask``: the trade is past the price limit."""
        return bool(self.mask & self.PAST_LIMIT)

    @property
    def unreported(self) -> bool:
        """Bit 2 of ``mask``: the trade was not reported."""
        return bool(self.mask & self.UNREPORTED)


@dataclass(slots=True)
class HistogramEntry:
    """One bar of reqHistogramData (in histogramData, id 89): the volume
    (``size``) traded at ``price`` over the requested period."""

    price: float = 0.0
    size: Decimal = UNSET_DECIMAL


@dataclass(slots=True)
class PriceIncrement:
    """One step of a market rule (in marketRule, id 93): from ``lowEdge`` up
    (to the next step's ``lowEdge``) prices move by ``increment``."""

    lowEdge: float = 0.0
    increment: float = 0.0


@dataclass(slots=True)
class SmartComponent:
    """One exchange SMART routes to for a BBO exchange (in smartComponents,
    id 82): ``bitNumber`` its bit in TWS's exchange mask, ``exchange`` its name
    ("ISLAND"), ``exchangeLetter`` its one-letter code ("Q") as in tick data."""

    bitNumber: int = 0
    exchange: str = ""
    exchangeLetter: str = ""
