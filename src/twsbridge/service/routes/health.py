"""``GET /health`` (no key) and ``GET /health/details`` (read scope).

``/health`` tells a stranger only whether the service works: ``status``
(``up`` / ``degraded`` / ``down``, see :func:`assess`), the mode and the
version. Everything else (the gateway's address, the client id, the session,
the accounts, the journal's database and figures, the last error) is in
``/health/details``, which needs a key with the read scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ..gateway import GatewayDep, GatewayManager
from ..schemas import HealthDetailsPublic, HealthPublic, HealthStatus, JournalHealthPublic
from ..security import Principal, require_scope
from ..settings import VERSION

__all__ = ["JOURNAL_LAG_DEGRADED", "assess", "router"]

router = APIRouter(tags=["health"])

JOURNAL_LAG_DEGRADED = 5.0
"""Seconds: a last journal commit slower than this makes the status ``degraded``."""


def assess(gateway: GatewayManager) -> tuple[HealthStatus, list[str]]:
    """The service's status and why it is not ``"up"``.

    * ``"down"``: not connected to TWS (never yet, or the connection dropped and
      the background reconnect has not succeeded): routes that need TWS answer 503.
    * ``"degraded"``: connected, but a journal write failed since the last
      reconciliation (not yet recovered), the last reconciliation failed, the
      last journal commit took more than :data:`JOURNAL_LAG_DEGRADED` seconds,
      or TWS reported its connection to IB lost (error 1100, until 1101/1102).
    * ``"up"``: connected, and none of those.
    """
    if not gateway.connected:
        return "down", [f"not connected to TWS: {gateway.last_error or 'connecting'}"]
    reasons: list[str] = []
    if gateway.tws_connectivity_lost:
        reasons.append("TWS reports its connection to IB lost (error 1100)")
    journal = gateway.journal
    if journal is not None:
        if journal.needs_reconcile:
            reasons.append(f"{journal.stats.failures} journal write(s) failed; "
                           "not yet recovered by a reconciliation")
        last = journal.last_reconcile
        if last is not None and last.error is not None:
            reasons.append(f"the last reconciliation failed: {last.error}")
        lag = journal.stats.last_lag
        if lag is not None and lag > JOURNAL_LAG_DEGRADED:
            reasons.append(f"the last journal commit took {lag:.1f} s")
    return ("degraded" if reasons else "up"), reasons


@router.get("/health", summary="Service status (no key needed)")
async def health(gateway: GatewayDep) -> HealthPublic:
    """``status`` (``up``, ``degraded`` or ``down``: see the schema), the mode
    (``simulator`` or ``gateway``) and the version. Always answers 200.
    The details are in ``GET /health/details`` (read scope)."""
    status, _ = assess(gateway)
    return HealthPublic(status=status, mode=gateway.mode, version=VERSION)


@router.get("/health/details", summary="Service, TWS session and journal status")
async def health_details(
    gateway: GatewayDep, _principal: Annotated[Principal, Depends(require_scope("read"))]
) -> HealthDetailsPublic:
    """The status of ``/health`` with its reasons, the TWS session (gateway
    address, client id, server version, accounts, simulated clock, last
    connection error) and the order journal (database, lag, last
    reconciliation). Always answers 200 to a key with the read scope."""
    status, reasons = assess(gateway)
    client = gateway.current
    connected = gateway.connected
    live = client if client is not None and connected else None
    return HealthDetailsPublic(
        status=status,
        reasons=reasons,
        mode=gateway.mode,
        version=VERSION,
        simulated=gateway.mode == "simulator",
        connected=connected,
        gateway=gateway.address,
        simPort=gateway.sim_port,
        clientId=gateway.settings.client_id,
        serverVersion=live.server_version if live is not None else None,
        connectionTime=live.connection_time if live is not None else None,
        accounts=list(live.accounts) if live is not None else [],
        simulatedTime=gateway.simulated_time,
        error=None if connected else gateway.last_error,
        journal=None if gateway.journal is None else JournalHealthPublic.from_journal(
            gateway.journal
        ),
    )
