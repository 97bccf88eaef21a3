"""twsbridge.sim: a simulated TWS gateway speaking the real TWS API wire protocol.

Unmodified clients (ib_async, IB's ibapi, twsbridge's own) connect to it as to
TWS: handshake, startApi, contract details, market data, historical bars and a
paper account. It builds on :mod:`twsbridge.protocol` only.

* :class:`Simulator`: the shared state (instruments, prices, clock, account,
  and the simulated broker: orders, executions, commissions).
* :class:`SimSession`: one connection's protocol logic, without I/O.
* :class:`SimServer`: the asyncio TCP server; :func:`run_sim` runs one.
* :class:`SimStore`: a file where the paper account persists across restarts
  (``Simulator(store=SimStore.open(path))``, :mod:`twsbridge.sim.state`).
* :class:`FaultInjector` (``Simulator.faults``): faults on demand and TWS's
  limits; :class:`FaultScript`: timed, seeded faults (:mod:`twsbridge.sim.faults`).
"""

from twsbridge.sim.fault_script import FaultScript, FaultStep
from twsbridge.sim.faults import FaultInjector, FaultRecord
from twsbridge.sim.server import SimServer, Simulator, run_sim
from twsbridge.sim.session import SimSession
from twsbridge.sim.state import SimStore, StateError

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
