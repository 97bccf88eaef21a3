"""Data objects and constants of market depth and tick-by-tick data.

Names are TWS's (TWS API reference: "DepthMktDataDescription", "Tick-By-Tick
Data"); the messages that carry them are in :mod:`.catalogue.depth`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import UNSET_INTEGER

__all__ = [
    "ASK_PAST_HIGH",
    "BID_PAST_LOW",
    "PAST_LIMIT",
    "TICK_BY_TICK_TYPES",
    "UNREPORTED",
    "DepthMktDataDescription",
]


@dataclass(slots=True)
class DepthMktDataDescription:
    """One exchange that offers market depth (mktDepthExchanges, message 80).

    ``exchange`` and ``secType`` as in a Contract (``"NASDAQ"``, ``"STK"``);
    ``listingExch`` the listing exchange; ``serviceDataType`` the depth service
    TWS offers there (``"Deep"``, ``"Deep2"``); ``aggGroup`` the exchange's
    aggregation group, ``UNSET_INTEGER`` when TWS sends none (an empty field).
    """

    exchange: str = ""
    secType: str = ""
    listingExch: str = ""
    serviceDataType: str = ""
    aggGroup: int = UNSET_INTEGER


#: reqTickByTickData's ``tickType`` texts and the ids tickByTick (99) reports them by
#: (0 is "None": a tick carrying no data).
TICK_BY_TICK_TYPES: dict[str, int] = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}

#: Bits of a Last/AllLast tick's attribute mask (TWS doc: TickAttribLast).
PAST_LIMIT = 1  #: the trade is past the price limit
UNREPORTED = 2  #: the trade is an unreported one

#: Bits of a BidAsk tick's attribute mask (TWS doc: TickAttribBidAsk).
BID_PAST_LOW = 1  #: the bid is below the day's low
ASK_PAST_HIGH = 2  #: the ask is above the day's high
