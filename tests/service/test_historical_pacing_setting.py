"""``historical_pacing``: the service's client queues historical requests under TWS's
rules (the default), or sends them at once."""

from __future__ import annotations

import pytest

from twsbridge.client.pacing import TWS_HISTORICAL_LIMITS
from twsbridge.service.gateway import GatewayManager

from .support import sim_settings


@pytest.mark.parametrize(("pacing", "limits"), [(True, TWS_HISTORICAL_LIMITS), (False, None)])
def test_the_service_client_paces_history_as_set(pacing: bool, limits: object) -> None:
    manager = GatewayManager(sim_settings(historical_pacing=pacing))
    client = manager._new_client()
    assert client._core.pacing.limits is limits


def test_pacing_is_on_by_default() -> None:
    assert sim_settings().historical_pacing is True
