"""twsbridge.sim: a simulated TWS gateway speaking the real TWS API wire protocol.

Unmodified clients (ib_async, IB's ibapi, twsbridge's own) connect to it as to
TWS: handshake, startApi, contract details, market data, historical bars and a
paper account. It builds on :mod:`twsbridge.protocol` only.

* :class:`Simulator`: the shared state (instruments, prices, clock, account,
  and the simulated broker: orders, executions, commissions).
* :class:`SimSession`: one connection's protocol logic, without I/O.
* :class:`SimServer`: the asyncio TCP server; :func:`run_sim` runs one.
* :class:`FaultInjector` (``Simulator.faults``): faults on demand and TWS's
  limits; :class:`FaultScript`: timed, seeded faults (:mod:`twsbridge.sim.faults`).
"""

from twsbridge.sim.fault_script import FaultScript, FaultStep
from twsbridge.sim.faults import FaultInjector, FaultRecord
from twsbridge.sim.server import SimServer, Simulator, run_sim
from twsbridge.sim.session import SimSession

__all__ = [
    "FaultInjector",
    "FaultRecord",
    "FaultScript",
    "FaultStep",
    "SimServer",
    "SimSession",
    "Simulator",
    "run_sim",
]
