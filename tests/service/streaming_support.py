"""Helpers of the streaming tests: a fast simulator in a thread, the service in front of it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection

from twsbridge.service import create_app
from twsbridge.service.streaming import StreamHub
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .support import KEYS, provision_keys, sim_settings

__all__ = ["Service", "SimThread", "next_message"]


class SimThread:
    """A SimServer on its own event loop in a daemon thread."""

    def __init__(self, speed: float, poll_interval: float) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        sim = Simulator(seed=0, clock=SimClock(REPLAY_START, speed=speed))
        self.server = SimServer(sim, host="127.0.0.1", port=0, poll_interval=poll_interval)
        self._call(self.server.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def market_data(self, con_id: int) -> int:
        """reqMktData subscriptions of ``con_id`` the simulator's sessions hold now."""

        async def count() -> int:
            return sum(1 for s in self.server.sessions for m in s.mkt.values()
                       if m.inst.conId == con_id)

        return int(self._call(count()))

    def account_subscribers(self) -> int:
        """Sessions holding a reqAccountUpdates subscription now."""

        async def count() -> int:
            return sum(1 for s in self.server.sessions if s.feeds._updates is not None)

        return int(self._call(count()))

    def restart(self) -> None:
        """Stop the gateway (every connection drops) and start it again on its port."""
        self._call(self.server.stop())
        old = self.server
        self.server = SimServer(old.simulator, host="127.0.0.1", port=old.port,
                                poll_interval=old.poll_interval)
        self._call(self.server.start())

    def stop(self) -> None:
        self._call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Service:
    """``create_app`` under uvicorn in a thread; ``hub`` is its StreamHub.

    The listening socket has a small send buffer (inherited by every connection), so a
    client that stops reading blocks the service's writes after kilobytes, not after
    the 4 MB Linux lets a loopback socket buffer by default.
    """

    def __init__(self, gateway: str, journal: str, sndbuf: int = 16384,
                 **overrides: Any) -> None:
        # the gateway is a test simulator: let it trade unless told otherwise
        overrides.setdefault("trading_enabled", True)
        settings = sim_settings(gateway=gateway, journal_url=journal, **overrides)
        self.keys = provision_keys(settings.journal_url)
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_level="warning")
        self.server = uvicorn.Server(config)
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only when the socket's proto says TCP.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.bind(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.server.run, args=([sock],), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "the service exited during startup"
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"
        KEYS[self.url] = self.keys

    @property
    def headers(self) -> dict[str, str]:
        """The admin key's header."""
        return self.keys.headers("admin")

    @property
    def hub(self) -> StreamHub:
        hub: StreamHub = self.app.state.stream_hub
        return hub

    def stop(self) -> None:
        KEYS.pop(self.url, None)
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive(), "the service did not shut down within 30 s"


async def next_message(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The next graphql-transport-ws message of operation ``op`` (pings answered)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message.get("type") == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        assert message.get("id") == op, message
        return message  # type: ignore[no-any-return]
