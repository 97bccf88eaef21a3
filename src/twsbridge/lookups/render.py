"""Rich tables of the look-ups' rows (the service's JSON shapes) and the bar CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from .backends import ORDER_FIELDS

__all__ = [
    "BAR_FIELDS",
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


def _table(title: str, columns: Iterable[str] = (), right: Iterable[str] = ()) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    aligned = set(right)
    for name in columns:
        table.add_column(name, justify="right" if name in aligned else "left", overflow="fold")
    return table


def _name(contract: Row) -> str:
    return f"{contract.get('symbol')} ({contract.get('conId')}) {contract.get('exchange') or ''}"


def quote_table(out: Console, quote: Row) -> None:
    """One snapshot quote as field / value rows."""
    table = _table(_name(quote).strip(), ("field", "value"), right=("value",))
    for name in _QUOTE_FIELDS:
        table.add_row(name, text(quote.get(name)))
    out.print(table)


def details_table(out: Console, details: list[Row], title: str) -> None:
    """Contract details: every field of one, or one line per contract of several."""
    if len(details) == 1:
        d = details[0]
        c = d["contract"]
        table = _table(f"{c['symbol']} ({c['conId']}) {d.get('longName', '')}".strip(),
                       ("field", "value"))
        rows = {
            "conId": c["conId"], "symbol": c["symbol"], "secType": c["secType"],
            "exchange": c.get("exchange"), "primaryExchange": c.get("primaryExchange"),
            "currency": c.get("currency"), "localSymbol": c.get("localSymbol"),
            "tradingClass": c.get("tradingClass"), "longName": d.get("longName"),
            "minTick": d.get("minTick"), "timeZoneId": d.get("timeZoneId"),
            "industry": d.get("industry"), "category": d.get("category"),
            "stockType": d.get("stockType"),
            "secIdList": ", ".join(f"{t['tag']}={t['value']}" for t in d.get("secIdList", [])),
        }
        for name, value in rows.items():
            table.add_row(name, text(value))
        out.print(table)
        return
    cols = ("conId", "symbol", "secType", "exchange", "primaryExchange", "currency", "longName")
    table = _table(title, cols)
    for d in details:
        c = d["contract"]
        table.add_row(*(text(c.get(n)) for n in cols[:-1]), text(d.get("longName")))
    out.print(table)


def search_table(out: Console, pattern: str, found: list[Row]) -> None:
    """reqMatchingSymbols answers."""
    cols = ("conId", "symbol", "secType", "primaryExchange", "currency", "derivatives")
    table = _table(f"matching {pattern!r}", cols)
    for d in found:
        c = d["contract"]
        table.add_row(*(text(c.get(n)) for n in cols[:-1]),
                      ",".join(d.get("derivativeSecTypes", [])))
    out.print(table)


def bars_table(out: Console, title: str, bars: list[Row]) -> None:
    """Bars, one line each."""
    table = _table(title, BAR_FIELDS, right=BAR_FIELDS[1:])
    for bar in bars:
        table.add_row(*(text(bar.get(n)) for n in BAR_FIELDS))
    out.print(table)


def write_bars_csv(path: Path, bars: list[Row]) -> None:
    """``bars`` as CSV with a header of :data:`BAR_FIELDS` (nulls as empty cells)."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(BAR_FIELDS)
        for bar in bars:
            writer.writerow(["" if bar.get(n) is None else bar.get(n) for n in BAR_FIELDS])


_ORDER_COLUMNS = {  # field: header (short, so that the table fits a terminal)
    "orderId": "orderId", "clientId": "client", "account": "account", "symbol": "symbol",
    "action": "action", "totalQuantity": "qty", "orderType": "type", "lmtPrice": "lmt",
    "auxPrice": "aux", "tif": "tif", "status": "status", "filled": "filled",
    "avgFillPrice": "avgPrice", "permId": "permId",
}


def orders_table(out: Console, title: str, orders: list[Row]) -> None:
    """Orders, one line each (the fields of :data:`~.backends.ORDER_FIELDS` that fit)."""
    fields = [f for f in _ORDER_COLUMNS if f in ORDER_FIELDS]
    numbers = {"orderId", "client", "qty", "lmt", "aux", "filled", "avgPrice", "permId"}
    headers = [_ORDER_COLUMNS[f] for f in fields]
    table = _table(title, headers, right=[h for h in headers if h in numbers])
    for row in orders:
        table.add_row(*(text(row.get(f)) for f in fields))
    out.print(table)


def positions_table(out: Console, positions: list[Row]) -> None:
    """Positions, one line each."""
    cols = ("account", "symbol", "secType", "conId", "currency", "position", "avgCost")
    table = _table("positions", cols, right=("conId", "position", "avgCost"))
    for p in positions:
        c = p.get("contract") or {}
        table.add_row(text(p.get("account")), text(c.get("symbol")), text(c.get("secType")),
                      text(c.get("conId")), text(c.get("currency")), text(p.get("position")),
                      text(p.get("avgCost")))
    out.print(table)


def values_table(out: Console, title: str, values: list[Row]) -> None:
    """Account values (tag, value, currency) per account."""
    table = _table(title, ("account", "tag", "value", "currency"), right=("value",))
    for v in sorted(values, key=lambda r: (r.get("account", ""), r.get("tag", ""),
                                           r.get("currency", ""))):
        table.add_row(text(v.get("account")), text(v.get("tag")), text(v.get("value")),
                      text(v.get("currency")))
    out.print(table)
