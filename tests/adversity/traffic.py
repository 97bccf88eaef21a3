"""The service's users during the adversity run: traders and readers over REST.

Each :class:`Trader` makes one request at a time, chosen by its seeded RNG:
market and far limit orders, cancels, modifications, quotes, bars, positions,
orders, executions, health. Every response is recorded with its latency; a
request that gets no answer within ``hang_after`` seconds is a hang (the
client gives up then and records it).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

SYMBOLS = ("AAPL", "MSFT", "IBM", "AMD", "GOOG")


@dataclass(frozen=True)
class Exchange:
    """One request and its outcome (status 0: no answer in time)."""

    at: float
    action: str
    status: int
    latency: float
    code: int | None = None


@dataclass
class Traffic:
    """Every request of every trader."""

    exchanges: list[Exchange] = field(default_factory=list)
    placed: list[int] = field(default_factory=list)

    def by_status(self) -> Counter[int]:
        return Counter(x.status for x in self.exchanges)

    def by_code(self) -> Counter[int | None]:
        return Counter(x.code for x in self.exchanges if x.status >= 400)

    def latencies(self) -> list[float]:
        return sorted(x.latency for x in self.exchanges)

    def percentile(self, p: float) -> float:
        lat = self.latencies()
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0


class Trader:
    """One user of the service (see the module doc)."""

    def __init__(self, http: httpx.AsyncClient, seed: int, traffic: Traffic,
                 hang_after: float, pause: float = 0.25) -> None:
        self.http = http
        self.rng = random.Random(seed)
        self.traffic = traffic
        self.hang_after = hang_after
        self.pause = pause
        self.working: list[int] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.one()
            await asyncio.sleep(self.rng.uniform(0, 2 * self.pause))

    async def one(self) -> None:
        rng = self.rng
        roll = rng.random()
        symbol = rng.choice(SYMBOLS)
        if roll < 0.06:  # larger than the quotes: fills over seconds, through outages
            body = {"symbol": rng.choice(("AMD", "MSFT")), "action": rng.choice(("BUY", "SELL")),
                    "totalQuantity": rng.randint(5_000, 30_000), "orderType": "MKT"}
            await self._place(body)
        elif roll < 0.30:
            body = {"symbol": symbol, "action": rng.choice(("BUY", "SELL")),
                    "totalQuantity": rng.randint(1, 300), "orderType": "MKT"}
            await self._place(body)
        elif roll < 0.45:  # a buy limit far below the market: it rests
            body = {"symbol": symbol, "action": "BUY", "totalQuantity": rng.randint(1, 50),
                    "orderType": "LMT", "lmtPrice": round(rng.uniform(1, 5), 2)}
            await self._place(body)
        elif roll < 0.55 and self.working:
            order_id = self.working.pop(rng.randrange(len(self.working)))
            await self._call("cancel", "DELETE", f"/orders/{order_id}")
        elif roll < 0.62 and self.working:
            order_id = rng.choice(self.working)
            await self._call("modify", "PUT", f"/orders/{order_id}",
                             json={"totalQuantity": rng.randint(1, 50)})
        elif roll < 0.72:
            await self._call("quote", "GET", "/quotes", params={"symbol": symbol})
        elif roll < 0.77:
            await self._call("bars", "GET", "/bars", params={
                "symbol": symbol, "durationStr": "300 S", "barSizeSetting": "5 secs",
                "whatToShow": "MIDPOINT", "useRTH": "false"})
        else:
            path = rng.choice(("/positions", "/orders", "/executions", "/health", "/pnl"))
            await self._call(path.strip("/"), "GET", path)

    async def _place(self, body: dict[str, Any]) -> None:
        r = await self._call("place", "POST", "/orders", json=body)
        if r is not None and r.status_code == 201:
            order_id = int(r.json()["orderId"])
            self.traffic.placed.append(order_id)
            if body["orderType"] == "LMT":
                self.working.append(order_id)

    async def _call(self, action: str, method: str, path: str,
                    **kwargs: Any) -> httpx.Response | None:
        start = time.monotonic()
        try:
            r = await self.http.request(method, path, timeout=self.hang_after, **kwargs)
        except httpx.TimeoutException:
            self.traffic.exchanges.append(Exchange(start, action, 0, time.monotonic() - start))
            return None
        except httpx.TransportError:  # the service itself is always up: not expected
            self.traffic.exchanges.append(Exchange(start, action, -1, time.monotonic() - start))
            return None
        code = None
        if r.status_code >= 400 and r.headers.get("content-type", "").startswith(
                "application/problem+json"):
            code = r.json().get("code")
        self.traffic.exchanges.append(
            Exchange(start, action, r.status_code, time.monotonic() - start, code))
        return r
