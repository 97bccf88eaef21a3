"""Order actions over a streaming WebSocket: ``placeOrder``, ``previewOrder``, ``cancelOrder``.

They need the ``trade`` scope of the key that opened the socket and run the
operations REST, GraphQL and MCP run (:mod:`twsbridge.service.operations.orders`),
guardrails included. Actions and answers (``id`` is the client's, echoed back)::

    {"action": "placeOrder", "id": "c1", "order": {...OrderCreate...}}
      -> {"type": "order", "id": "c1", "order": {...OrderPublic...}}
    {"action": "previewOrder", "id": "c2", "order": {...}}
      -> {"type": "preview", "id": "c2", "preview": {...OrderPreviewPublic...}}
    {"action": "cancelOrder", "id": "c3", "orderId": 12}
      -> {"type": "order", "id": "c3", "order": {...}}

A refusal is ``{"type": "error", "id", "action", "status", "code", "message",
"problem"}`` as the REST problem would be (``code``: TWS's; ``problem``: the
problem type URN), plus ``rule`` when a guardrail refused (403 without the
``trade`` scope: nothing is sent to TWS).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from twsbridge.client import TWSError

from ..gateway import GatewayManager
from ..operations import orders as ops
from ..order_schemas import OrderCreate
from ..problems import ProblemError, tws_problem
from ..security import Principal
from ..security.auth import forbidden
from .hub import Sink

__all__ = ["ORDER_ACTIONS", "order_action"]

ORDER_ACTIONS = frozenset({"placeOrder", "previewOrder", "cancelOrder"})
_RUNNING: set[asyncio.Task[Any]] = set()  # actions outlive a socket closed meanwhile


def _validation(exc: ValidationError) -> ProblemError:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or "order"
    return ProblemError("validation-error", f"{where}: {first['msg']}", errors=errors)


async def _run(ws: WebSocket, gateway: GatewayManager, principal: Principal, action: str,
               msg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Do ``action``; the answer's type and members. Raises :class:`ProblemError`."""
    if not principal.allows("trade"):
        raise forbidden(principal, "trade")
    journal = ws.app.state.journal
    settings = gateway.settings
    if action == "cancelOrder":
        order_id = msg.get("orderId")
        if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
            raise ProblemError("validation-error", "orderId must be a positive integer")
        ib = await gateway.client()
        order = await ops.cancel_order(ib, journal, settings, order_id)
        return "order", {"order": order.model_dump(mode="json")}
    raw = msg.get("order")
    if not isinstance(raw, dict):
        raise ProblemError("validation-error", "order must be an object (OrderCreate)")
    try:
        body = OrderCreate.model_validate(raw)
    except ValidationError as exc:
        raise _validation(exc) from exc
    ib = await gateway.client()
    if action == "previewOrder":
        preview = await ops.preview_order(ib, body, guard=ws, principal=principal)
        return "preview", {"preview": preview.model_dump(mode="json")}
    order = await ops.place_order(ib, journal, settings, body, guard=ws, principal=principal)
    return "order", {"order": order.model_dump(mode="json")}


def _error(exc: ProblemError) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": exc.status, "code": exc.code,
                              "message": exc.detail or exc.title, "problem": exc.type}
    rule = exc.extensions.get("rule")
    if rule is not None:
        fields["rule"] = rule
    return fields


async def order_action(ws: WebSocket, gateway: GatewayManager, principal: Principal,
                       sink: Sink, msg: dict[str, Any]) -> None:
    """Run one order action of ``msg`` and queue its answer (or error) on ``sink``."""
    action = str(msg.get("action"))
    ident = {"id": msg.get("id"), "action": action}

    async def run() -> None:
        try:
            type_, fields = await _run(ws, gateway, principal, action, msg)
            sink.control(type_, id=ident["id"], **fields)
            return
        except ProblemError as exc:
            problem = exc
        except TWSError as exc:
            problem = tws_problem(exc)
        except ConnectionError as exc:
            problem = ProblemError("gateway-unavailable", f"TWS unavailable: {exc}")
        except TimeoutError:
            problem = ProblemError("gateway-timeout", "TWS did not answer in time")
        sink.control("error", **ident, **_error(problem))

    # shielded: a client leaving mid-order must not cut the operation (journal) short
    task = asyncio.create_task(run(), name=f"ws {action}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    await asyncio.shield(task)
