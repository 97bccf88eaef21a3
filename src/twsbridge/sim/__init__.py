"""twsbridge.sim: a simulated TWS gateway speaking the real TWS API wire protocol.

Unmodified clients (ib_async, IB's ibapi, twsbridge's own) connect to it as to
TWS: handshake, startApi, contract details, market data, historical bars and a
paper account. It builds on :mod:`twsbridge.protocol` only.

* :class:`Simulator`: the shared state (instruments, prices, clock, account,
  and the simulated broker: orders, executions, commissions).
* :class:`SimSession`: one connection's protocol logic, without I/O.
* :class:`SimServer`: the asyncio TCP server; :func:`run_sim` runs one.
* :class:`SimStore`: a file where the paper account persists across restarts
  (``Simulator(store=SimStore.open(path))``, :mod:`twsbridge.sim.store.sqlite`).
* :class:`FaultInjector` (``Simulator.faults``): faults on demand and TWS's
  limits; :class:`FaultScript`: timed, seeded faults (:mod:`twsbridge.sim.faults.injector`).
"""

from twsbridge.sim.faults.injector import FaultInjector, FaultRecord
from twsbridge.sim.faults.script import FaultScript, FaultStep
from twsbridge.sim.gateway.server import SimServer, run_sim
from twsbridge.sim.gateway.session import SimSession
from twsbridge.sim.simulator import Simulator
from twsbridge.sim.store.sqlite import SimStore, StateError

__all__ = [
    "FaultInjector",
    "FaultRecord",
    "FaultScript",
    "FaultStep",
    "SimServer",
    "SimSession",
    "SimStore",
    "Simulator",
    "StateError",
    "run_sim",
]
