"""The request families the simulated TWS serves (see :mod:`.base`).

:data:`FAMILIES` is the list a :class:`~twsbridge.sim.gateway.session.SimSession`
instantiates, in this order (which is also the order of their streaming output
within one poll). A request type handled by no family is answered with 503.
"""

from twsbridge.sim.gateway.families.account import Account
from twsbridge.sim.gateway.families.base import Family, SessionContext, handles
from twsbridge.sim.gateway.families.connection import Connection
from twsbridge.sim.gateway.families.contracts import Contracts
from twsbridge.sim.gateway.families.depth import Depth
from twsbridge.sim.gateway.families.historical_ticks import HistoricalTicks
from twsbridge.sim.gateway.families.history import History
from twsbridge.sim.gateway.families.market_data import MarketData
from twsbridge.sim.gateway.families.orders import Orders
from twsbridge.sim.gateway.families.pnl import PnL
from twsbridge.sim.gateway.families.rules import Rules
from twsbridge.sim.gateway.families.tick_by_tick import TickByTick

__all__ = ["FAMILIES", "Family", "SessionContext", "handles"]

FAMILIES: tuple[type[Family], ...] = (
    Connection, Contracts, MarketData, History, Account, Orders, PnL, HistoricalTicks, Rules,
    TickByTick, Depth,
)
"""Every family, in dispatch and polling order."""
