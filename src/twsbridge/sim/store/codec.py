"""JSON forms of the simulator's persistent records (for :mod:`twsbridge.sim.store.sqlite`).

The protocol's dataclasses (Contract, Order, Execution, CommissionReport and
what they hold: combo legs, tag values, order conditions, soft-dollar tiers)
are written as JSON objects tagged with their class name, with only the fields
that differ from the class's defaults; Decimals as text (``{"$dec": "100"}``),
so quantities keep their exact value. Only the classes listed here are read
back (no code from the file is ever run, unlike pickle). SimOrder, Holding and
ExecutionRecord rows are flat JSON objects (datetimes as ISO 8601 text with
their offset); instruments are referred to by conId.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from twsbridge.protocol import order_models as om
from twsbridge.protocol.models import ComboLeg, Contract, DeltaNeutralContract, TagValue
from twsbridge.sim.broker.account import Holding
from twsbridge.sim.broker.orders import SimOrder
from twsbridge.sim.reference.instruments import InstrumentBook

__all__ = [
    "StateError",
    "decode",
    "dumps",
    "encode",
    "holding_from_row",
    "holding_row",
    "loads",
    "order_from_row",
    "order_row",
    "parse_time",
]

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Contract, ComboLeg, DeltaNeutralContract, TagValue, om.Order, om.SoftDollarTier,
        om.OrderComboLeg, om.OrderCondition, om.PriceCondition, om.TimeCondition,
        om.MarginCondition, om.ExecutionCondition, om.VolumeCondition,
        om.PercentChangeCondition, om.Execution, om.CommissionReport,
    )
}
_DEFAULTS: dict[type[Any], dict[str, Any]] = {}


class StateError(ValueError):
    """The state file cannot be read as a simulator account (damaged, from
    another account, or naming an instrument the simulator does not know)."""


def _defaults(cls: type[Any]) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        blank = cls()
        found = _DEFAULTS[cls] = {f.name: getattr(blank, f.name) for f in dataclasses.fields(cls)}
    return found


def encode(value: Any) -> Any:
    """``value`` as JSON-able data (see the module doc).

    Raises:
        TypeError: a value of a type this codec does not write.
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    cls = type(value)
    if _CLASSES.get(cls.__name__) is cls:
        defaults = _defaults(cls)
        out: dict[str, Any] = {"$type": cls.__name__}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            d = defaults[f.name]
            if type(v) is type(d) and v == d:
                continue
            out[f.name] = encode(v)
        return out
    raise TypeError(f"cannot store a {cls.__name__} in the simulator's state")


def decode(data: Any) -> Any:
    """The value :func:`encode` wrote.

    Raises:
        StateError: an unknown class tag or field.
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$dec" in data:
        return Decimal(data["$dec"])
    name = data.get("$type")
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise StateError(f"unknown record type {name!r} in the simulator's state")
    try:
        return cls(**{k: decode(v) for k, v in data.items() if k != "$type"})
    except TypeError as exc:
        raise StateError(f"bad {name} record in the simulator's state: {exc}") from None


def dumps(data: Any) -> str:
    """Compact JSON text of already encoded ``data``."""
    return json.dumps(data, separators=(",", ":"))


def loads(text: str) -> Any:
    """The JSON data of ``text``.

    Raises:
        StateError: not JSON.
    """
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StateError(f"damaged record in the simulator's state: {exc}") from None


def _time(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def parse_time(text: str | None) -> dt.datetime | None:
    """A datetime written by this module (None stays None)."""
    return None if text is None else dt.datetime.fromisoformat(text)


def order_row(rec: SimOrder) -> dict[str, Any]:
    """``rec`` as one JSON object (its parent by permId, its instrument by conId)."""
    return {
        "client_id": rec.client_id, "order_id": rec.order_id, "perm_id": rec.perm_id,
        "contract": encode(rec.contract), "con_id": rec.inst.conId, "order": encode(rec.order),
        "account": rec.account, "placed": _time(rec.placed), "status": rec.status,
        "transmitted": rec.transmitted, "filled": str(rec.filled), "avg_price": rec.avg_price,
        "last_price": rec.last_price, "why_held": rec.why_held, "triggered": rec.triggered,
        "trail_stop": rec.trail_stop, "trail_extreme": rec.trail_extreme,
        "commission": rec.commission, "done_at": _time(rec.done_at),
        "completed_status": rec.completed_status, "manual": rec.manual,
        "parent": rec.parent.perm_id if rec.parent is not None else None,
        "expires": _time(rec.expires),
    }


def order_from_row(row: dict[str, Any], book: InstrumentBook,
                   by_perm: dict[int, SimOrder]) -> SimOrder:
    """The SimOrder of :func:`order_row`; its parent must be in ``by_perm``
    (orders are read in placement order, a parent before its children).

    Raises:
        StateError: an unknown instrument or parent, or a damaged row.
    """
    try:
        inst = book.by_conid(int(row["con_id"]))
        if inst is None:
            raise StateError(f"order {row['perm_id']}: the simulator has no instrument "
                             f"conId {row['con_id']}")
        placed = parse_time(row["placed"])
        assert placed is not None
        rec = SimOrder(
            int(row["client_id"]), int(row["order_id"]), int(row["perm_id"]),
            decode(row["contract"]), inst, decode(row["order"]), str(row["account"]), placed,
            status=str(row["status"]), transmitted=bool(row["transmitted"]),
            filled=Decimal(row["filled"]), avg_price=float(row["avg_price"]),
            last_price=float(row["last_price"]), why_held=str(row["why_held"]),
            triggered=bool(row["triggered"]), trail_stop=row["trail_stop"],
            trail_extreme=row["trail_extreme"], commission=float(row["commission"]),
            done_at=parse_time(row["done_at"]), completed_status=str(row["completed_status"]),
            manual=bool(row["manual"]), expires=parse_time(row["expires"]))
    except (KeyError, TypeError, ValueError, ArithmeticError, AssertionError) as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(f"damaged order record in the simulator's state: {exc!r}") from None
    parent = row.get("parent")
    if parent is not None:
        found = by_perm.get(int(parent))
        if found is None:
            raise StateError(f"order {rec.perm_id}: parent permId {parent} is not in the state")
        rec.parent = found
        found.children.append(rec)
    return rec


def holding_row(h: Holding) -> dict[str, Any]:
    """A position as one JSON object."""
    return {"contract": encode(h.contract), "position": str(h.position), "avgCost": h.avgCost,
            "realizedPnL": h.realizedPnL}


def holding_from_row(row: dict[str, Any]) -> Holding:
    """The Holding of :func:`holding_row`.

    Raises:
        StateError: a damaged row.
    """
    try:
        return Holding(decode(row["contract"]), Decimal(row["position"]), float(row["avgCost"]),
                       float(row["realizedPnL"]))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(f"damaged position record in the simulator's state: {exc!r}") from None
