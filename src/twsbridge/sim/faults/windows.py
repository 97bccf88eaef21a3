"""Limit windows: a while during which one of TWS's limits bites (I/O-free but for a sleep).

The fault kinds ``message_rate``, ``historical_pacing`` and
``market_data_lines`` (:mod:`twsbridge.sim.faults.injector`) each open a window on
one :class:`LimitWindow` of the injector's :class:`LimitWindows` for some
seconds. Windows of one kind may overlap: the limit in force is the
tightest (smallest) value of the open windows, and the normal limit
returns when the last one closes. The sessions read the limit in force
through the injector (``rate_limit_in_force`` ...).
"""

from __future__ import annotations

import asyncio

__all__ = ["LimitWindow", "LimitWindows"]


class LimitWindow:
    """The open windows of one limit, each holding a value (a count, >= 0)."""

    def __init__(self) -> None:
        self._open: list[int] = []

    @property
    def active(self) -> bool:
        """True while at least one window is open."""
        return bool(self._open)

    @property
    def value(self) -> int | None:
        """The tightest value of the open windows (None: no window open)."""
        return min(self._open) if self._open else None

    def in_force(self, normal: int | None) -> int | None:
        """The limit in force: the tightest open window's value, instead of
        ``normal`` (None: no limit) while any window is open."""
        value = self.value
        return normal if value is None else value

    def open(self, value: int) -> None:
        """Open a window holding ``value`` (close it with :meth:`close`)."""
        self._open.append(value)

    def close(self, value: int) -> None:
        """Close one open window holding ``value`` (no-op if none is)."""
        if value in self._open:
            self._open.remove(value)

    async def hold(self, value: int, seconds: float) -> None:
        """Keep a window holding ``value`` open for ``seconds`` (also closed
        when cancelled)."""
        self.open(value)
        try:
            await asyncio.sleep(max(0.0, seconds))
        finally:
            self.close(value)


class LimitWindows:
    """The limit windows of one simulated TWS.

    Attributes:
        message_rate: messages per second per client (error 100, then disconnect).
        historical_pacing: every historical data request is a pacing
            violation (162, 420) while open; its values do not matter.
        market_data_lines: concurrent reqMktData lines per client (error 101).
    """

    def __init__(self) -> None:
        self.message_rate = LimitWindow()
        self.historical_pacing = LimitWindow()
        self.market_data_lines = LimitWindow()
