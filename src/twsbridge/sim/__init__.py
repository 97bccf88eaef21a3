"""twsbridge.sim: a simulated TWS gateway speaking the real TWS API wire protocol.

Unmodified clients (ib_async, IB's ibapi, twsbridge's own) connect to it as to
TWS: handshake, startApi, contract details, market data, historical bars and a
paper account. It builds on :mod:`twsbridge.protocol` only.

* :class:`Simulator`: the shared state (instruments, prices, clock, account,
  and the simulated broker: orders, executions, commissions).
* :class:`SimSession`: one connection's protocol logic, without I/O.
* :class:`SimServer`: the asyncio TCP server; :func:`run_sim` runs one.
"""

from twsbridge.sim.server import SimServer, Simulator, run_sim
from twsbridge.sim.session import SimSession

__all__ = ["SimServer", "SimSession", "Simulator", "run_sim"]
