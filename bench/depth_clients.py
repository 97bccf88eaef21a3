"""The depth clients of ``bench/depth_load.py``: twsbridge, ib_async and ibapi.

All run in the parent process (the simulator has a process of its own). Each
client subscribes reqMktDepth to its books and consumes the row operations
as a user does, stamping ``time.time()`` when each one is applied and
visible to the user:

* twsbridge: ``book = client.reqMktDepth(contract, 10, isSmartDepth)`` and one
  task per book running ``async for update in book`` (counts the DepthUpdates);
* ib_async: ``ticker = ib.reqMktDepth(contract, 10, isSmartDepth)``, a
  ``pendingTickersEvent`` handler counting each ticker's ``domTicks``;
* ibapi: an ``EWrapper``/``EClient`` per client whose ``run()`` loop has a
  thread of its own (plus ibapi's reader thread); updateMktDepth and
  updateMktDepthL2 apply the operation to two lists (insert shifts down,
  delete shifts up, as IB's samples do).

A request is ``(contract fields, isSmartDepth)``; books are compared by conId.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from load_common import NOTICES

Row = tuple[float, float, str]
Req = tuple[dict[str, Any], bool]
ROWS = 10


class DepthClient:
    """One API client: its requests, the apply times of its updates, its errors."""

    kind = ""

    def __init__(self, cid: int, port: int, reqs: list[Req], timeout: float) -> None:
        self.cid = cid
        self.port = port
        self.reqs = reqs
        self.timeout = timeout
        self.times: list[float] = []
        self.errors: list[str] = []

    def books(self) -> dict[int, tuple[list[Row], list[Row]]]:
        """conId -> (asks, bids) as the client holds them."""
        raise NotImplementedError

    def ready(self) -> bool:
        """Every book has rows on both sides."""
        return all(a and b for a, b in self.books().values()) and len(self.books()) == len(
            self.reqs)


class TwsbridgeDepth(DepthClient):
    kind = "twsbridge"

    async def start(self) -> None:
        from twsbridge.client import TWSClient
        from twsbridge.protocol import Contract

        self.c = TWSClient("127.0.0.1", self.port, client_id=self.cid, timeout=self.timeout)
        await self.c.connect()
        self.obooks = [self.c.reqMktDepth(Contract(**f), ROWS, smart) for f, smart in self.reqs]
        self.tasks = [asyncio.create_task(self._consume(b)) for b in self.obooks]

    async def _consume(self, book: Any) -> None:
        from twsbridge.client.depth import DepthUpdate

        times, now = self.times, time.time
        try:
            async for u in book:
                if type(u) is DepthUpdate:
                    times.append(now())
        except Exception as e:
            self.errors.append(f"{book!r}: {e!r}")

    def books(self) -> dict[int, tuple[list[Row], list[Row]]]:
        return {b.contract.conId: ([(r.price, float(r.size), r.marketMaker) for r in b.asks],
                                   [(r.price, float(r.size), r.marketMaker) for r in b.bids])
                for b in getattr(self, "obooks", ())}

    async def stop(self) -> None:
        await self.c.disconnect()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class IbAsyncDepth(DepthClient):
    kind = "ib_async"

    async def start(self) -> None:
        from ib_async import IB, Contract

        self.ib = IB()
        self.ib.errorEvent += self._on_error
        await self.ib.connectAsync("127.0.0.1", self.port, clientId=self.cid,
                                   timeout=self.timeout)
        self.tickers = [self.ib.reqMktDepth(Contract(**f), ROWS, smart) for f, smart in self.reqs]
        self.mine = set(map(id, self.tickers))
        self.ib.pendingTickersEvent += self._on_tickers

    def _on_tickers(self, tickers: Any) -> None:
        n = sum(len(t.domTicks) for t in tickers if id(t) in self.mine)
        if n:
            self.times.extend([time.time()] * n)

    def _on_error(self, reqId: int, code: int, text: str, contract: Any) -> None:
        if code not in NOTICES:
            self.errors.append(f"error {code} (reqId {reqId}): {text}")

    def books(self) -> dict[int, tuple[list[Row], list[Row]]]:
        return {t.contract.conId: ([(r.price, float(r.size), r.marketMaker) for r in t.domAsks],
                                   [(r.price, float(r.size), r.marketMaker) for r in t.domBids])
                for t in getattr(self, "tickers", ())}

    async def stop(self) -> None:
        self.ib.disconnect()
        await asyncio.sleep(0)


ASYNC_KINDS: dict[str, type[Any]] = {"twsbridge": TwsbridgeDepth, "ib_async": IbAsyncDepth}


def ibapi_client_class() -> type[Any]:
    """IB's EClient/EWrapper keeping the books (imported late: a test oracle)."""
    from ibapi.client import EClient
    from ibapi.wrapper import EWrapper

    class IbapiDepth(EWrapper, EClient, DepthClient):  # type: ignore[misc]
        kind = "ibapi"

        def __init__(self, cid: int, port: int, reqs: list[Req], timeout: float) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, wrapper=self)
            DepthClient.__init__(self, cid, port, reqs, timeout)
            self.sides: dict[int, tuple[list[Row], list[Row]]] = {}
            self.conids: dict[int, int] = {}
            self.got_id = threading.Event()
            self.thread: threading.Thread | None = None

        def nextValidId(self, orderId: int) -> None:
            self.got_id.set()

        def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
                  advancedOrderRejectJson: str = "") -> None:
            if errorCode not in NOTICES:
                self.errors.append(f"error {errorCode} (reqId {reqId}): {errorString}")

        def updateMktDepth(self, reqId: int, position: int, operation: int, side: int,
                           price: float, size: Any) -> None:
            self.updateMktDepthL2(reqId, position, "", operation, side, price, size, False)

        def updateMktDepthL2(self, reqId: int, position: int, marketMaker: str,
                             operation: int, side: int, price: float, size: Any,
                             isSmartDepth: bool) -> None:
            rows = self.sides[reqId][1 if side else 0]
            row = (price, float(size), marketMaker)
            if operation == 0:
                rows.insert(position, row)
            elif operation == 1 and position < len(rows):
                rows[position] = row
            elif operation == 2 and position < len(rows):
                del rows[position]
            self.times.append(time.time())

        def start_sync(self) -> None:
            from ibapi.contract import Contract

            try:
                self.connect("127.0.0.1", self.port, clientId=self.cid)
                if not self.isConnected():
                    raise ConnectionError("EClient.connect did not connect")
                self.thread = threading.Thread(target=self.run, daemon=True,
                                               name=f"ibapi-{self.cid}")
                self.thread.start()
                if not self.got_id.wait(self.timeout):
                    raise TimeoutError(f"no nextValidId within {self.timeout} s")
                for i, (f, smart) in enumerate(self.reqs):
                    ct = Contract()
                    for k, v in f.items():
                        setattr(ct, k, v)
                    self.sides[i + 1] = ([], [])
                    self.conids[i + 1] = f["conId"]
                    self.reqMktDepth(i + 1, ct, ROWS, smart, [])
            except Exception as e:
                self.errors.append(f"could not connect and subscribe: {e!r}")

        async def start(self) -> None:
            await asyncio.get_running_loop().run_in_executor(None, self.start_sync)

        def books(self) -> dict[int, tuple[list[Row], list[Row]]]:
            return {self.conids[r]: (list(a), list(b)) for r, (a, b) in list(self.sides.items())}

        async def stop(self) -> None:
            self.disconnect()
            if self.thread is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.thread.join, 5)

    return IbapiDepth


def client_class(kind: str) -> type[Any]:
    return ibapi_client_class() if kind == "ibapi" else ASYNC_KINDS[kind]
