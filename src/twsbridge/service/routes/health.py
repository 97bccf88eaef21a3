"""``GET /health``: always 200, naming the mode, connected or not."""

from __future__ import annotations

from fastapi import APIRouter

from ..gateway import GatewayDep
from ..schemas import HealthPublic, JournalHealthPublic
from ..settings import VERSION

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service and TWS connection status")
async def health(gateway: GatewayDep) -> HealthPublic:
    """Mode (``simulator`` or ``gateway``), connection state and TWS session facts.

    Always answers 200: ``status`` is ``"disconnected"`` while TWS is unreachable.
    """
    client = gateway.current
    connected = gateway.connected
    return HealthPublic(
        status="ok" if connected else "disconnected",
        mode=gateway.mode,
        simulated=gateway.mode == "simulator",
        connected=connected,
        gateway=gateway.address,
        clientId=gateway.settings.client_id,
        serverVersion=client.server_version if client is not None and connected else None,
        connectionTime=client.connection_time if client is not None and connected else None,
        accounts=list(client.accounts) if client is not None and connected else [],
        simulatedTime=gateway.simulated_time,
        error=None if connected else gateway.last_error,
        version=VERSION,
        journal=None if gateway.journal is None else JournalHealthPublic.from_journal(
            gateway.journal
        ),
    )
