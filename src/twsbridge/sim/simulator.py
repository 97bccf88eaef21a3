"""The simulator: the shared :class:`~twsbridge.sim.world.World` with the parts
that act on it attached — the broker, the fault injector and, optionally, the
file its paper account persists in.

A connection's protocol logic is a :class:`~twsbridge.sim.gateway.session.SimSession`
on a simulator (``SimSession(sim)``); the asyncio server
(:class:`~twsbridge.sim.gateway.server.SimServer`) runs one per socket.
"""

from __future__ import annotations

from twsbridge.sim.broker.broker import Broker
from twsbridge.sim.faults.injector import FaultInjector
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.reference.instruments import InstrumentBook
from twsbridge.sim.store.sqlite import SimStore
from twsbridge.sim.world import World

__all__ = ["Simulator"]


class Simulator(World):
    """State shared by every connection of one simulated TWS.

    Args:
        seed: selects the synthetic market (real daily data is the same for every seed).
        clock: the simulated clock (default: 2013-03-01 10:00 US/Eastern, real-time speed).
        account: the paper account code reported in managedAccounts.
        cash: the account's starting cash, USD.
        book: the instruments served (default: the whole universe on the clock's
            day, :class:`~twsbridge.sim.reference.book.UniverseBook`).
        store: where the account persists (:class:`~twsbridge.sim.store.sqlite.SimStore`):
            an account found there is continued (orders, executions, positions,
            cash, id counters; the clock resumes at its last change if it would
            start earlier), and every change is written before it is reported.
            None (the default): the account lives in memory only.

    Raises:
        StateError: ``store`` holds another account or is damaged.

    Attributes:
        broker: the simulated broker (orders, executions, commissions); it
            survives client reconnects.
        faults: the fault injector (:mod:`twsbridge.sim.faults.injector`): faults on
            demand or by script, and TWS's limits (message rate, historical
            pacing, market data lines).
        store: the account's file (None: in memory only); close it when done.
        (and the :class:`~twsbridge.sim.world.World` attributes: seed, book,
        prices, clock, account, master_client_id).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: SimClock | None = None,
        account: str = "DU1234567",
        cash: float = 1_000_000.0,
        store: SimStore | None = None,
        book: InstrumentBook | None = None,
    ) -> None:
        super().__init__(seed=seed, clock=clock, account=account, cash=cash, book=book)
        self._clients: dict[int, object] = {}
        self.broker = Broker(self)
        self.faults = FaultInjector(self.clock)
        self.store = store
        if store is not None:
            store.bind(self)
            self.broker.attach_store(store)

    @property
    def client_ids(self) -> frozenset[int]:
        """Client ids of the sessions connected now."""
        return frozenset(self._clients)

    def claim_client_id(self, client_id: int, owner: object) -> bool:
        """Register ``owner`` under ``client_id``; False when another session holds it."""
        holder = self._clients.get(client_id)
        if (holder is not None and holder is not owner) or self.faults.holds_client_id(client_id):
            return False
        self._clients[client_id] = owner
        return True

    def release_client_id(self, client_id: int, owner: object) -> None:
        """Free ``client_id`` if ``owner`` holds it."""
        if self._clients.get(client_id) is owner:
            del self._clients[client_id]
