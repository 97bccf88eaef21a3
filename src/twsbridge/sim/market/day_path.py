"""The 1-second price path of one trading day, which prices and quotes are read from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DayPath", "FloatArray", "IntArray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DayPath:
    """1-second path of one trading day.

    ``prices[k]`` is the last trade price during second ``start + k`` (epoch
    seconds), ``volumes[k]`` the shares traded in it. ``prices[rth_start]``
    is the open, ``prices[rth_end - 1]`` the close; for stocks index 0 is
    04:00 and the path ends 20:00 US/Eastern, for forex it spans the session.
    """

    day: dt.date
    start: int
    prices: FloatArray
    volumes: IntArray
    rth_start: int
    rth_end: int

    @property
    def end(self) -> int:
        """Epoch second just after the path."""
        return self.start + len(self.prices)
