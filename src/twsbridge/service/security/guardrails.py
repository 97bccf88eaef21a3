"""The order guardrails: :func:`check_order`, run by every face before placing or
modifying an order (REST ``POST /orders`` and ``PUT /orders/{id}``, GraphQL, MCP).

Rules, in the order checked (each refusal is a problem naming its ``rule``):

==========================  ======  ===============================================
rule                        status  refused when
==========================  ======  ===============================================
``trading_enabled``         403     the gateway is not the embedded simulator and
                                    trading was not enabled
``symbol_denylist``         403     the symbol is on the deny list
``symbol_allowlist``        403     an allow list is set and the symbol is not on it
``max_order_quantity``      422     totalQuantity is above the limit
``max_order_notional``      422     quantity x price (x multiplier) is above the limit
``require_preview``         403     the same key did not preview the same order lately
``orders_per_minute``       403     the key placed / modified too many orders in 60 s
==========================  ======  ===============================================

Rate counts and previews are kept in memory, per service process and per key.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..problems import ProblemError
from .auth import app_state
from .principal import Principal

__all__ = ["GuardrailError", "check_order", "order_fingerprint", "record_preview"]

ENABLE_HINT = "start with --enable-trading or TWSBRIDGE_TRADING_ENABLED=true"
_UNSET_DOUBLE = 1.7976931348623157e308


class GuardrailError(ProblemError):
    """An order refused by a guardrail: 403 or 422, with the ``rule`` that refused it."""

    def __init__(self, rule: str, detail: str, *, status: int = 403, **extensions: Any) -> None:
        super().__init__("guardrail", detail, status=status, rule=rule, **extensions)
        self.rule = rule


@dataclass
class _GuardState:
    """Per-process memory of the guardrails: recent orders and previews per key."""

    recent: dict[str, deque[float]] = field(default_factory=dict)
    previews: dict[tuple[str, tuple[Any, ...]], float] = field(default_factory=dict)


def _guard_state(source: Any) -> _GuardState:
    state = app_state(source)
    guard: _GuardState | None = getattr(state, "guardrails", None)
    if guard is None:
        guard = _GuardState()
        state.guardrails = guard
    return guard


def _price(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")) or number >= _UNSET_DOUBLE:
        return None
    return number


def _decimal(value: Any) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _contract(contract_details: Any) -> Any:
    return getattr(contract_details, "contract", contract_details)


def _symbol(order: Any, contract_details: Any) -> str:
    contract = _contract(contract_details)
    symbol = getattr(contract, "symbol", None) or getattr(order, "symbol", None) or ""
    return str(symbol).strip().upper()


def order_fingerprint(order: Any, contract_details: Any) -> tuple[Any, ...]:
    """What makes two orders "the same order" for ``require_preview``."""
    contract = _contract(contract_details)
    con_id = getattr(contract, "conId", None) or getattr(order, "conId", None) or 0
    return (
        int(con_id), _symbol(order, contract_details),
        str(getattr(order, "action", "")).upper(),
        _decimal(getattr(order, "totalQuantity", 0)).normalize(),
        str(getattr(order, "orderType", "")).upper(),
        _price(getattr(order, "lmtPrice", None)), _price(getattr(order, "auxPrice", None)),
    )


def record_preview(source: Any, principal: Principal, order: Any, contract_details: Any) -> None:
    """Remember that ``principal`` previewed ``order`` (what-if): ``require_preview``
    then lets the same key place the same order. Every face's preview calls this."""
    guard = _guard_state(source)
    guard.previews[(principal.key_id, order_fingerprint(order, contract_details))] = (
        time.monotonic()
    )


async def _market_price(source: Any, order: Any, contract_details: Any) -> float | None:
    """The price to value a non-limit order at: the side's quote, else last / close."""
    from ..routes.common import market_contract  # routes import this module

    state = app_state(source)
    try:
        ib = await state.gateway.client()
        details = contract_details if hasattr(contract_details, "contract") else None
        contract = market_contract(details) if details is not None else contract_details
        ticker = await ib.reqMktDataSnapshot(contract, "")
    except Exception:  # no quote: the caller refuses (cannot value the order)
        return None
    buy = str(getattr(order, "action", "")).upper() == "BUY"
    side = [ticker.ask, ticker.bid] if buy else [ticker.bid, ticker.ask]
    for value in (side[0], ticker.last, side[1], ticker.close):
        if (p := _price(value)) is not None and p > 0:
            return p
    return None


def _multiplier(contract_details: Any) -> Decimal:
    text = str(getattr(_contract(contract_details), "multiplier", "") or "").strip()
    value = _decimal(text) if text else Decimal(1)
    return value if value > 0 else Decimal(1)


async def _check_notional(source: Any, limit: float, order: Any, details: Any,
                          quantity: Decimal) -> None:
    reference = _price(getattr(order, "lmtPrice", None))
    basis = "lmtPrice"
    if reference is None:
        reference = await _market_price(source, order, details)
        basis = "the current quote"
    if reference is None and not str(getattr(order, "orderType", "")).startswith("TRAIL"):
        reference = _price(getattr(order, "auxPrice", None))
        basis = "auxPrice"
    if reference is None:
        raise GuardrailError(
            "max_order_notional",
            "cannot value the order to check max_order_notional: no lmtPrice and no quote",
            status=422, limit=limit)
    notional = float(quantity * _multiplier(details)) * reference
    if notional > limit:
        raise GuardrailError(
            "max_order_notional",
            f"order notional {notional:,.2f} ({quantity} x {reference:g} from {basis}) is above "
            f"max_order_notional {limit:,.2f}",
            status=422, limit=limit, notional=round(notional, 2))


async def check_order(source: Any, principal: Principal, order: Any,
                      contract_details: Any) -> None:
    """Run the guardrails on ``order`` (about to be placed, or a modification's new terms).

    Args:
        source: the request (or WebSocket, application, ``app.state``).
        principal: who places it (rate limits and previews are per key).
        order: an :class:`~twsbridge.service.order_schemas.OrderCreate` or a TWS
            :class:`Order` (``action``, ``totalQuantity``, ``orderType``, ``lmtPrice`` ...).
        contract_details: the resolved ``ContractDetails`` (or ``Contract``).

    Raises:
        GuardrailError: the first rule that refuses (403 or 422; ``rule`` names it).
    """
    state = app_state(source)
    settings = state.settings
    if not settings.simulated and not settings.trading_enabled:
        raise GuardrailError(
            "trading_enabled",
            f"trading is disabled against a live gateway: {ENABLE_HINT}",
            gateway=settings.gateway)
    symbol = _symbol(order, contract_details)
    if symbol in settings.symbol_denylist:
        raise GuardrailError("symbol_denylist", f"{symbol} is on the symbol deny list",
                             symbol=symbol)
    allow = settings.symbol_allowlist
    if allow is not None and symbol not in allow:
        raise GuardrailError(
            "symbol_allowlist", f"{symbol or 'this contract'} is not on the symbol allow list "
            f"({', '.join(allow) or 'empty'})", symbol=symbol)
    quantity = _decimal(getattr(order, "totalQuantity", 0))
    if settings.max_order_quantity is not None and quantity > settings.max_order_quantity:
        raise GuardrailError(
            "max_order_quantity",
            f"totalQuantity {quantity} is above max_order_quantity {settings.max_order_quantity}",
            status=422, limit=str(settings.max_order_quantity))
    if settings.max_order_notional is not None:
        await _check_notional(source, settings.max_order_notional, order, contract_details,
                              quantity)
    guard = _guard_state(source)
    now = time.monotonic()
    if settings.require_preview:
        key = (principal.key_id, order_fingerprint(order, contract_details))
        seen = guard.previews.get(key)
        if seen is None or now - seen > settings.preview_valid_minutes * 60:
            raise GuardrailError(
                "require_preview",
                "preview this exact order first (POST /orders/preview with the same terms, "
                f"with the same API key) within {settings.preview_valid_minutes:g} minutes")
    if settings.orders_per_minute is not None:
        recent = guard.recent.setdefault(principal.key_id, deque())
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= settings.orders_per_minute:
            wait = max(1, int(60 - (now - recent[0])) + 1)
            raise GuardrailError(
                "orders_per_minute",
                f"API key {principal.key_id} placed or modified {len(recent)} orders in the "
                f"last 60 s (orders_per_minute {settings.orders_per_minute}); retry in {wait} s",
                retryAfter=wait)
        recent.append(now)
