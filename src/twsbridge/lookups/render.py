"""Rich tables of the look-ups' rows (the service's JSON shapes) and the bar CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from .backends import ORDER_FIELDS

__all__ = [
    "BAR_FIELDS",
    "Col",
    "bars_table",
    "details_table",
    "orders_table",
    "positions_table",
    "quote_table",
    "search_table",
    "text",
    "values_table",
    "write_bars_csv",
]

Row = dict[str, Any]

BAR_FIELDS = ("date", "open", "high", "low", "close", "volume", "wap", "barCount")
"""The columns of the bar table and CSV."""

_QUOTE_FIELDS = ("bid", "ask", "last", "bidSize", "askSize", "lastSize", "volume", "open",
                 "high", "low", "close", "lastTimestamp", "marketDataType")


def text(value: object) -> str:
    """A cell: ``''`` for null, short floats."""
    if isinstance(value, float):
        return str(round(value, 6 if abs(value) < 10 else 4))
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Col:
    """A column: its ``header``, right-aligned or not, and its ``drop`` rank: 0 is always
    shown; when the terminal is too narrow the highest rank goes first (the rightmost
    of a rank first). A ``wrap`` column may fold its long texts; the others never split
    a cell (a symbol, a status, a number) across lines."""

    header: str
    right: bool = False
    drop: int = 0
    wrap: bool = False


def _fitted(out: Console, title: str, cols: Sequence[Col], rows: Iterable[Sequence[str]],
            ) -> Table:
    """The table of ``rows`` with as many of ``cols`` as fit ``out``'s width.

    Columns are dropped by rank (:class:`Col`) until the table's natural width fits;
    the caption names what was left out. Only ``wrap`` columns ever fold; when even
    the rank-0 columns do not fit, Rich shortens the widest with an ellipsis, never
    splitting a cell across lines.
    """
    rows = [list(r) for r in rows]
    shown = list(range(len(cols)))
    while True:
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        for i in shown:
            col = cols[i]
            longest = max([len(col.header), *(len(r[i]) for r in rows)])
            table.add_column(
                col.header, justify="right" if col.right else "left",
                no_wrap=not col.wrap, overflow="fold" if col.wrap else "ellipsis",
                min_width=None if col.wrap else min(longest, 16),
            )
        for row in rows:
            table.add_row(*(row[i] for i in shown))
        hidden = [cols[i].header for i in range(len(cols)) if i not in shown]
        if hidden:
            table.caption = f"(hidden to fit the terminal: {', '.join(hidden)})"
            table.caption_justify = "left"
        natural = Measurement.get(out, out.options.update_width(10_000), table).maximum
        if natural <= out.width:
            return table
        droppable = [i for i in shown if cols[i].drop > 0]
        if not droppable:
            return table
        shown.remove(max(reversed(droppable), key=lambda i: cols[i].drop))


def _name(contract: Row) -> str:
    return f"{contract.get('symbol')} ({contract.get('conId')}) {contract.get('exchange') or ''}"


def quote_table(out: Console, quote: Row) -> None:
    """One snapshot quote as field / value rows."""
    rows = [(name, text(quote.get(name))) for name in _QUOTE_FIELDS]
    out.print(_fitted(out, _name(quote).strip(), (Col("field"), Col("value", right=True)),
                      rows))


def details_table(out: Console, details: list[Row], title: str) -> None:
    """Contract details: every field of one, or one line per contract of several."""
    if len(details) == 1:
        d = details[0]
        c = d["contract"]
        title = f"{c['symbol']} ({c['conId']}) {d.get('longName', '')}".strip()
        fields = {
            "conId": c["conId"], "symbol": c["symbol"], "secType": c["secType"],
            "exchange": c.get("exchange"), "primaryExchange": c.get("primaryExchange"),
            "currency": c.get("currency"), "localSymbol": c.get("localSymbol"),
            "tradingClass": c.get("tradingClass"), "longName": d.get("longName"),
            "minTick": d.get("minTick"), "timeZoneId": d.get("timeZoneId"),
            "industry": d.get("industry"), "category": d.get("category"),
            "stockType": d.get("stockType"),
            "secIdList": ", ".join(f"{t['tag']}={t['value']}" for t in d.get("secIdList", [])),
        }
        out.print(_fitted(out, title, (Col("field"), Col("value", wrap=True)),
                          [(name, text(value)) for name, value in fields.items()]))
        return
    names = ("conId", "symbol", "secType", "exchange", "primaryExchange", "currency")
    cols = (Col("conId", right=True, drop=1), Col("symbol"), Col("secType"),
            Col("exchange", drop=2), Col("primaryExchange", drop=3), Col("currency", drop=2),
            Col("longName", wrap=True))
    rows = [[*(text(d["contract"].get(n)) for n in names), text(d.get("longName"))]
            for d in details]
    out.print(_fitted(out, title, cols, rows))


def search_table(out: Console, pattern: str, found: list[Row]) -> None:
    """reqMatchingSymbols answers."""
    names = ("conId", "symbol", "secType", "primaryExchange", "currency")
    cols = (Col("conId", right=True, drop=1), Col("symbol"), Col("secType"),
            Col("primaryExchange", drop=2), Col("currency", drop=2),
            Col("derivatives", wrap=True, drop=3))
    rows = [[*(text(d["contract"].get(n)) for n in names),
             ",".join(d.get("derivativeSecTypes", []))] for d in found]
    out.print(_fitted(out, f"matching {pattern!r}", cols, rows))


def bars_table(out: Console, title: str, bars: list[Row]) -> None:
    """Bars, one line each."""
    drops = {"volume": 1, "wap": 2, "barCount": 3}
    cols = [Col(n, right=n != "date", drop=drops.get(n, 0), wrap=n == "date")
            for n in BAR_FIELDS]  # a date may break at its spaces, a price never
    rows = [[text(bar.get(n)) for n in BAR_FIELDS] for bar in bars]
    out.print(_fitted(out, title, cols, rows))


def write_bars_csv(path: Path, bars: list[Row]) -> None:
    """``bars`` as CSV with a header of :data:`BAR_FIELDS` (nulls as empty cells)."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(BAR_FIELDS)
        for bar in bars:
            writer.writerow(["" if bar.get(n) is None else bar.get(n) for n in BAR_FIELDS])


_ORDER_COLUMNS = {  # field: its column (short headers, so that more fit a terminal)
    "orderId": Col("orderId", right=True), "clientId": Col("client", right=True, drop=5),
    "account": Col("account", drop=4), "symbol": Col("symbol"), "action": Col("action"),
    "totalQuantity": Col("qty", right=True), "orderType": Col("type"),
    "lmtPrice": Col("lmt", right=True, drop=1), "auxPrice": Col("aux", right=True, drop=3),
    "tif": Col("tif", drop=3), "status": Col("status"),
    "filled": Col("filled", right=True, drop=1), "avgFillPrice": Col("avgPrice", right=True,
                                                                       drop=2),
    "permId": Col("permId", right=True, drop=5),
}


def orders_table(out: Console, title: str, orders: list[Row]) -> None:
    """Orders, one line each: the fields of :data:`~.backends.ORDER_FIELDS` that fit the
    terminal (orderId, symbol, action, qty, type and status always)."""
    fields = [f for f in _ORDER_COLUMNS if f in ORDER_FIELDS]
    rows = [[text(row.get(f)) for f in fields] for row in orders]
    out.print(_fitted(out, title, [_ORDER_COLUMNS[f] for f in fields], rows))


def positions_table(out: Console, positions: list[Row]) -> None:
    """Positions, one line each (symbol, position and avgCost always)."""
    cols = (Col("account", drop=3), Col("symbol"), Col("secType", drop=2),
            Col("conId", right=True, drop=4), Col("currency", drop=1),
            Col("position", right=True), Col("avgCost", right=True))
    rows = []
    for p in positions:
        c = p.get("contract") or {}
        rows.append([text(p.get("account")), text(c.get("symbol")), text(c.get("secType")),
                     text(c.get("conId")), text(c.get("currency")), text(p.get("position")),
                     text(p.get("avgCost"))])
    out.print(_fitted(out, "positions", cols, rows))


def values_table(out: Console, title: str, values: list[Row]) -> None:
    """Account values (tag, value, currency) per account."""
    cols = (Col("account", drop=2), Col("tag"), Col("value", right=True, wrap=True),
            Col("currency", drop=1))
    ordered = sorted(values, key=lambda r: (r.get("account", ""), r.get("tag", ""),
                                            r.get("currency", "")))
    rows = [[text(v.get(n)) for n in ("account", "tag", "value", "currency")] for v in ordered]
    out.print(_fitted(out, title, cols, rows))
