"""TWS values as journal values: unset sentinels to ``None``, times to UTC, messages to JSON.

Pure functions over the protocol's dataclasses (``Contract``, ``Order``,
``OrderState``, ``Execution``, ``CommissionReport`` and the messages carrying
them), read by attribute name so every TWS message of the same shape works.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twsbridge.protocol import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG

__all__ = [
    "TERMINAL",
    "WORKING",
    "execution_values",
    "jsonable",
    "opt_decimal",
    "opt_float",
    "opt_int",
    "opt_str",
    "order_terms",
    "parse_tws_time",
    "raw",
]

#: Statuses after which an order can neither fill nor be cancelled. ``Rejected``
#: and ``Lost`` are the journal's own: TWS refused the order (its error code is
#: kept); the order was sent but TWS never received it (the connection dropped
#: under it: after reconnecting TWS has it neither open nor completed).
TERMINAL = frozenset({"Filled", "Cancelled", "ApiCancelled", "Rejected", "Lost"})
#: Statuses of an order that may still fill (``Inactive`` can be reactivated).
WORKING = frozenset(
    {"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel", "Inactive"}
)

# Time zone abbreviations TWS may print, as IANA zones.
_ZONES = {
    "EST": "America/New_York", "EDT": "America/New_York", "CST": "America/Chicago",
    "CDT": "America/Chicago", "MST": "America/Denver", "MDT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "GMT": "UTC", "UTC": "UTC",
    "BST": "Europe/London", "CET": "Europe/Berlin", "CEST": "Europe/Berlin",
    "MET": "Europe/Berlin", "HKT": "Asia/Hong_Kong", "JST": "Asia/Tokyo",
}
_TWS_TIME = re.compile(r"^\s*(\d{8})(\s+|-)(\d{1,2}:\d{2}:\d{2})(?:\s+(\S+))?\s*$")


def opt_float(value: float | None) -> float | None:
    """A TWS price, or ``None`` for unset, NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value == UNSET_DOUBLE:
        return None
    return value


def opt_decimal(value: Decimal | float | int | None) -> Decimal | None:
    """A TWS size, or ``None`` when unset or not finite."""
    if value is None:
        return None
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    if not dec.is_finite() or dec == UNSET_DECIMAL:
        return None
    return dec


def opt_int(value: int | None) -> int | None:
    """A TWS int, or ``None`` for ``UNSET_INTEGER`` / ``UNSET_LONG``."""
    if value is None or value in (UNSET_INTEGER, UNSET_LONG):
        return None
    return int(value)


def opt_str(value: str | None) -> str | None:
    """A TWS string, or ``None`` when empty."""
    return value if value else None


def parse_tws_time(text: str, default_zone: dt.tzinfo | None = None) -> dt.datetime | None:
    """TWS's execution time as an aware UTC datetime; ``None`` when unreadable.

    Forms: ``"20130301 10:05:03 US/Eastern"`` (zone named), ``"20130301-15:05:03"``
    (UTC), ``"20130301 10:05:03"`` (TWS's local zone: ``default_zone``, else the
    service machine's local zone), and epoch seconds.
    """
    text = (text or "").strip()
    if text.isdigit() and len(text) >= 9:
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    m = _TWS_TIME.match(text)
    if m is None:
        return None
    date, sep, clock, zone_name = m.groups()
    try:
        naive = dt.datetime.strptime(f"{date} {clock}", "%Y%m%d %H:%M:%S")
    except ValueError:
        return None
    zone: dt.tzinfo | None
    if sep == "-":
        zone = dt.UTC
    elif zone_name:
        try:
            zone = ZoneInfo(_ZONES.get(zone_name.upper(), zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    else:
        zone = default_zone
    if zone is None:
        return naive.astimezone().astimezone(dt.UTC)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses to dicts, Decimals to exact text,
    TWS's unset sentinels, NaN and infinities to ``None``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return None if value in (UNSET_INTEGER, UNSET_LONG) else value
    if isinstance(value, float):
        return opt_float(value)
    if isinstance(value, Decimal):
        dec = opt_decimal(value)
        return None if dec is None else format(dec, "f")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def raw(msg: Any) -> dict[str, Any]:
    """A message as a JSON object, with its TWS name under ``"NAME"``."""
    body = jsonable(msg)
    if not isinstance(body, dict):
        body = {"value": body}
    return {"NAME": getattr(msg, "NAME", type(msg).__name__), **body}


def order_terms(contract: Any, order: Any) -> dict[str, Any]:
    """Column values of ``orders`` describing the contract and the order's terms."""
    return {
        "con_id": contract.conId or None,
        "symbol": opt_str(contract.symbol),
        "sec_type": opt_str(contract.secType),
        "exchange": opt_str(contract.exchange),
        "currency": opt_str(contract.currency),
        "action": opt_str(order.action),
        "total_quantity": opt_decimal(order.totalQuantity),
        "order_type": opt_str(order.orderType),
        "lmt_price": opt_float(order.lmtPrice),
        "aux_price": opt_float(order.auxPrice),
        "tif": opt_str(order.tif),
        "outside_rth": bool(order.outsideRth),
        "account": opt_str(order.account),
        "oca_group": opt_str(order.ocaGroup),
        "order_ref": opt_str(order.orderRef),
        "transmit": bool(order.transmit),
        "what_if": bool(order.whatIf),
        "parent_id": order.parentId or None,
    }


def execution_values(contract: Any, execution: Any) -> dict[str, Any]:
    """Column values of ``executions`` for one execDetails (without source and times)."""
    return {
        "exec_id": execution.execId,
        "order_id": execution.orderId,
        "perm_id": execution.permId or None,
        "client_id": execution.clientId,
        "account": execution.acctNumber,
        "con_id": contract.conId,
        "symbol": contract.symbol,
        "sec_type": contract.secType,
        "currency": contract.currency,
        "side": execution.side,
        "shares": opt_decimal(execution.shares) or Decimal(0),
        "price": float(execution.price),
        "cum_qty": opt_decimal(execution.cumQty),
        "avg_price": opt_float(execution.avgPrice),
        "exchange": execution.exchange,
        "order_ref": opt_str(execution.orderRef),
        "time_text": execution.time,
        "time": parse_tws_time(execution.time),
    }
