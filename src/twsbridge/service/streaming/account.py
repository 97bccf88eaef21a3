"""The ``account`` topic of the hub: account values and portfolio (reqAccountUpdates).

One upstream for every subscriber (the topic has no parameters): it subscribes
the service's client to reqAccountUpdates of the first managed account, sends
what that download holds, then every ``updateAccountValue`` (6) and
``updatePortfolio`` (7) TWS sends. When the connection ends, the upstream
subscribes again once the gateway manager has reconnected (after TWS's 1101
the client sends it again itself, :mod:`twsbridge.client.resume`); its
handlers live across reconnects. Items:

* ``{"kind": "value", "account", "tag", "value", "currency"}`` (``value`` is TWS's
  text, as ``GET /account/values`` serves it);
* ``{"kind": "portfolio", "account", "contract": {...}, "position", "marketPrice",
  "marketValue", "averageCost", "unrealizedPNL", "realizedPNL"}`` (``position`` 0:
  the position was closed; prices to 8 decimals, amounts to the contract currency's
  minor unit).

The snapshot keeps the latest item per (account, tag, currency) and per
(account, conId).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from ..gateway import GatewayManager
from ..operations.account import managed_account
from ..problems import ProblemError
from ..schemas import ContractPublic, money, price_rounded
from .hub import Emit, Item, StreamHub, TopicKind, TopicSpec, Upstream, UpstreamFactory

__all__ = ["ACCOUNT", "account_spec", "portfolio_item", "register_account_upstream",
           "value_item"]

log = logging.getLogger("twsbridge.service.streaming")

ACCOUNT = "account"
_MESSAGES = ("updateAccountValue", "updatePortfolio")
_RETRY = 0.5


def account_spec() -> TopicSpec:
    """The one topic of account updates (every subscriber shares it)."""
    return TopicSpec(ACCOUNT, ())


def _account(v: Any) -> str:
    return str(getattr(v, "account", None) or getattr(v, "accountName", ""))


def value_item(v: Any) -> Item:
    """An account value (the client's ``AccountValue`` or an ``updateAccountValue``)."""
    return {"kind": "value", "account": _account(v),
            "tag": getattr(v, "tag", None) or getattr(v, "key", ""),
            "value": str(getattr(v, "value", None) or getattr(v, "val", "")),
            "currency": v.currency or ""}


def _number(value: Decimal | float | int) -> float | int:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def portfolio_item(p: Any) -> Item:
    """A position (the client's ``PortfolioItem`` or an ``updatePortfolio``)."""
    return {"kind": "portfolio", "account": _account(p),
            "contract": ContractPublic.from_tws(p.contract).model_dump(mode="json"),
            "position": _number(p.position), "marketPrice": price_rounded(p.marketPrice),
            "marketValue": money(p.marketValue, p.contract.currency),
            "averageCost": price_rounded(p.averageCost),
            "unrealizedPNL": money(p.unrealizedPNL, p.contract.currency),
            "realizedPNL": money(p.realizedPNL, p.contract.currency)}


def _key(item: Item) -> Hashable:
    if item["kind"] == "value":
        return ("value", item["account"], item["tag"], item["currency"])
    return ("portfolio", item["account"], item["contract"]["conId"])


def _account_factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        async def run(emit: Emit) -> None:
            def handler(msg: Any) -> None:
                if msg.NAME == "updateAccountValue":
                    emit((value_item(msg),))
                elif msg.NAME == "updatePortfolio":
                    emit((portfolio_item(msg),))

            registered: Any = None
            try:
                while True:
                    try:
                        ib = await gateway.client()
                        if registered is not ib:
                            ib.register(handler, *_MESSAGES)
                            registered = ib
                        snapshot = await ib.reqAccountUpdates(managed_account(ib, None))
                    except (ProblemError, ConnectionError, TimeoutError) as exc:
                        log.debug("account upstream waits for TWS: %s", exc)
                        await asyncio.sleep(_RETRY)
                        continue
                    emit([value_item(v) for v in snapshot.values]
                         + [portfolio_item(p) for p in snapshot.portfolio])
                    # the subscription lasts as long as this connection: after the
                    # gateway manager reconnected, subscribe again (1101 is the
                    # client's business: it sends the subscription again itself)
                    await ib.wait_closed()
                    log.info("account upstream: TWS connection ended; subscribing again")
                    await asyncio.sleep(_RETRY)
            finally:
                if registered is not None:
                    registered.unregister(handler, *_MESSAGES)
        return run
    return factory


def register_account_upstream(hub: StreamHub, gateway: GatewayManager) -> None:
    """Register the ``account`` kind on ``hub``, fed by ``gateway``'s client."""
    hub.register(TopicKind(ACCOUNT, _account_factory(gateway), message="account",
                           field="updates", key=_key, max_state=5_000))
