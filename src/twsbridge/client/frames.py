"""Historical bars as a pandas DataFrame, and TWS's bar dates as datetimes.

pandas is imported only when :func:`bars_to_dataframe` is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twsbridge.protocol import UNSET_DECIMAL, BarData

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "bars_to_dataframe", "parse_bar_date"]

#: Columns of :func:`bars_to_dataframe`, in order.
COLUMNS = ("date", "open", "high", "low", "close", "volume", "wap", "barCount")


def parse_bar_date(text: str) -> date | datetime:
    """A bar's date as TWS sends it, parsed.

    * ``"20231020"`` (daily and longer bars) → ``date``;
    * ``"20231020 09:30:00 US/Eastern"`` (formatDate 1) → aware ``datetime``
      in that zone; without a zone (older TWS, sometimes two spaces) → naive;
    * ``"20231020-09:30:00"`` (the form of headTimestamp) → naive ``datetime``;
    * ``"1697808600"`` (formatDate 2, epoch seconds) → aware ``datetime`` in UTC.

    Raises:
        ValueError: text in none of these forms, or an unknown time zone.
    """
    t = text.strip()
    if t.isdigit():
        if len(t) == 8:
            return datetime.strptime(t, "%Y%m%d").date()
        return datetime.fromtimestamp(int(t), UTC)
    parts = t.replace("-", " ", 1).split() if len(t) > 8 and t[8] == "-" else t.split()
    if len(parts) not in (2, 3):
        raise ValueError(f"not a TWS bar date: {text!r}")
    moment = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y%m%d %H:%M:%S")
    if len(parts) == 3:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(parts[2]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {parts[2]!r} in bar date {text!r}") from exc
    return moment


def _number(value: Decimal) -> float:
    return float("nan") if value == UNSET_DECIMAL else float(value)


def bars_to_dataframe(bars: Iterable[BarData]) -> pd.DataFrame:
    """A DataFrame of ``bars`` with the columns of :data:`COLUMNS`.

    ``date`` is a pandas datetime column parsed by :func:`parse_bar_date`:
    midnight-naive for daily bars, tz-aware in TWS's zone for intraday bars
    (converted to UTC if bars disagree on the zone), UTC for epoch dates.
    ``open``/``high``/``low``/``close`` are float prices, ``volume`` and
    ``wap`` floats (nan where TWS left them empty; -1 as TWS sends it for
    whatToShow without volume), ``barCount`` int.

    Raises:
        ValueError: a date TWS would not send (see :func:`parse_bar_date`).
    """
    import pandas as pd

    rows = list(bars)
    dates = [parse_bar_date(b.date) for b in rows]
    zones = {d.tzinfo for d in dates if isinstance(d, datetime)}
    if len(zones) > 1:
        dates = [d.astimezone(UTC) if isinstance(d, datetime) and d.tzinfo else d for d in dates]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series(dates, dtype=object)),
            "open": pd.Series([b.open for b in rows], dtype="float64"),
            "high": pd.Series([b.high for b in rows], dtype="float64"),
            "low": pd.Series([b.low for b in rows], dtype="float64"),
            "close": pd.Series([b.close for b in rows], dtype="float64"),
            "volume": pd.Series([_number(b.volume) for b in rows], dtype="float64"),
            "wap": pd.Series([_number(b.wap) for b in rows], dtype="float64"),
            "barCount": pd.Series([b.barCount for b in rows], dtype="int64"),
        },
        columns=list(COLUMNS),
    )
