"""twsbridge.client: an asyncio client of the TWS API over the sans-I/O core.

``TWSClient`` connects, sends requests and awaits their answers, places
orders and tracks them as ``Trade`` objects; handlers (``register``/
``registerAll``) see every message as IbPy showed it, intercept hooks see
order messages before anything acts on them. The modules: ``connection``
(socket, handshake, reader, paced writer), ``core`` (the connection and the
message pipeline), ``requests`` (the request patterns), ``ids`` (order and
request ids), ``client`` (the public facade), ``market`` (contracts, market
data, history), ``trading``/``orders``/``trade`` (orders, the order book,
trades), ``account`` (positions, account values, P&L), ``ticker`` (market
data), ``callbacks`` (handlers), ``reconnect`` (reconnecting with backoff),
``resume`` (subscriptions across reconnects and TWS's 1100-1102), ``pacing``
(message rate and historical-data pacing), ``events`` (gaps and connection
events), ``errors`` and ``frames``.
"""

from twsbridge.protocol import (
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
    ExecutionFilter,
    ProtocolError,
)
from twsbridge.protocol.order_models import CommissionReport, Execution, Order, OrderState

from .account import ALL_TAGS, AccountSnapshot, AccountValue, PortfolioItem, PositionsStream
from .broadcast import ErrorStream
from .callbacks import Dispatcher, Handler
from .client import INTERCEPTED, TWSClient
from .connection import Connector, TokenBucket
from .depth import DepthRow, DepthUpdate, OrderBook
from .errors import (
    ConnectionLost,
    HandlerError,
    InterceptError,
    NotConnected,
    TWSConnectError,
    TWSError,
    TWSTimeoutError,
    is_notice,
)
from .events import ConnectionEvent, Gap
from .frames import bars_to_dataframe, parse_bar_date
from .historical_ticks import (
    HistoricalBidAsk,
    HistoricalLast,
    HistoricalMidPoint,
    HistoricalTickList,
    historicalTicksDf,
)
from .ids import IdAllocator
from .pacing import HistoricalLimits, Pacing, PacingWait
from .reconnect import ReconnectPolicy
from .requests import (
    HistoricalDataStream,
    MarketDataSubscription,
    Request,
    Subscription,
)
from .tick_by_tick import (
    TickByTickBidAsk,
    TickByTickEvent,
    TickByTickMidPoint,
    TickByTickTrade,
)
from .ticker import TICK_TYPE_NAMES, Dividends, Tick, Ticker, tick_type_name
from .trade import DONE_STATES, Fill, Trade, TradeLogEntry

__all__ = [
    "ALL_TAGS",
    "DONE_STATES",
    "INTERCEPTED",
    "TICK_TYPE_NAMES",
    "AccountSnapshot",
    "AccountValue",
    "BarData",
    "CommissionReport",
    "ConnectionEvent",
    "ConnectionLost",
    "Connector",
    "Contract",
    "ContractDescription",
    "ContractDetails",
    "DepthRow",
    "DepthUpdate",
    "Dispatcher",
    "Dividends",
    "ErrorStream",
    "Execution",
    "ExecutionFilter",
    "Fill",
    "Gap",
    "Handler",
    "HandlerError",
    "HistoricalBidAsk",
    "HistoricalDataStream",
    "HistoricalLast",
    "HistoricalLimits",
    "HistoricalMidPoint",
    "HistoricalTickList",
    "IdAllocator",
    "InterceptError",
    "MarketDataSubscription",
    "NotConnected",
    "Order",
    "OrderBook",
    "OrderState",
    "Pacing",
    "PacingWait",
    "PortfolioItem",
    "PositionsStream",
    "ProtocolError",
    "ReconnectPolicy",
    "Request",
    "Subscription",
    "TWSClient",
    "TWSConnectError",
    "TWSError",
    "TWSTimeoutError",
    "Tick",
    "TickByTickBidAsk",
    "TickByTickEvent",
    "TickByTickMidPoint",
    "TickByTickTrade",
    "Ticker",
    "TokenBucket",
    "Trade",
    "TradeLogEntry",
    "bars_to_dataframe",
    "historicalTicksDf",
    "is_notice",
    "parse_bar_date",
    "tick_type_name",
]
