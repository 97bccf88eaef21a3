"""twsbridge.client: an asyncio client of the TWS API over the sans-I/O core.

``TWSClient`` connects, sends requests and awaits their answers; handlers
(``register``/``registerAll``) see every message as IbPy showed it. The
modules: ``connection`` (socket, handshake, reader, paced writer),
``requests`` (the request patterns), ``client`` (the public methods),
``ticker`` (market data), ``callbacks`` (handlers), ``errors`` and ``frames``.
"""

from twsbridge.protocol import (
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
    ProtocolError,
)

from .callbacks import Dispatcher, Handler
from .client import TWSClient
from .connection import TokenBucket
from .errors import (
    ConnectionLost,
    HandlerError,
    NotConnected,
    TWSConnectError,
    TWSError,
    TWSTimeoutError,
    is_notice,
)
from .frames import bars_to_dataframe, parse_bar_date
from .requests import ErrorStream, HistoricalDataStream, MarketDataSubscription, Request
from .ticker import TICK_TYPE_NAMES, Tick, Ticker, tick_type_name

__all__ = [
    "TICK_TYPE_NAMES",
    "BarData",
    "ConnectionLost",
    "Contract",
    "ContractDescription",
    "ContractDetails",
    "Dispatcher",
    "ErrorStream",
    "Handler",
    "HandlerError",
    "HistoricalDataStream",
    "MarketDataSubscription",
    "NotConnected",
    "ProtocolError",
    "Request",
    "TWSClient",
    "TWSConnectError",
    "TWSError",
    "TWSTimeoutError",
    "Tick",
    "Ticker",
    "TokenBucket",
    "bars_to_dataframe",
    "is_notice",
    "parse_bar_date",
    "tick_type_name",
]
