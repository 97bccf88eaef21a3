"""Everyday look-ups of the ``twsbridge`` command: quote, contract, bars, search,
orders, positions and account, against the service, a gateway or the simulator.

:func:`register_lookups` adds them to the command; :mod:`.backends` says where
they ask, :mod:`.chunks` splits long historical downloads, :mod:`.render`
prints the tables and writes the CSV.
"""

from .commands import register_lookups

__all__ = ["register_lookups"]
