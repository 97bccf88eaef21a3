"""The embedded simulator's paper account file (settings ``sim_state``, ``sim_reset``).

:func:`open_sim_account` opens the :class:`~twsbridge.sim.SimStore` the
embedded simulator continues at each start (beside the journal by default,
see :attr:`ServiceSettings.sim_state_path`), so a restarted service goes on
with the same orders, executions, positions, cash and id sequences, as a
restarted TWS does with an IB paper account.
"""

from __future__ import annotations

import logging

from twsbridge.sim import SimStore

from .settings import ServiceSettings

__all__ = ["open_sim_account"]

log = logging.getLogger("twsbridge.service")


def open_sim_account(settings: ServiceSettings) -> SimStore:
    """The simulator account file of ``settings``; with ``sim_reset`` the
    previous account is moved to a timestamped backup first (logged).

    Raises:
        StateError: the file is not a simulator account (start with --sim-reset).
        OSError: its folder cannot be created.
    """
    path = settings.sim_state_path
    store = SimStore.open(path, reset=settings.sim_reset)
    if store.backup is not None:
        log.warning("simulator account reset (--sim-reset): a fresh account in %s; the "
                    "previous one is kept in %s", path, store.backup)
    else:
        log.info("simulator account file: %s", path)
    return store
