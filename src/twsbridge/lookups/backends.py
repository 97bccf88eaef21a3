"""Where the look-ups get their answers: TWS itself, or the twsbridge service.

Both backends answer in the service's JSON shapes (``ContractDetailsPublic``,
``QuotePublic``, ``BarPublic``, ``PositionPublic``, ``AccountValuePublic`` ...,
dumped to plain dicts), so the commands render one shape whichever answers:

* :class:`ClientBackend`: a :class:`~twsbridge.client.TWSClient` connected to
  a TWS / IB Gateway (``--gateway HOST:PORT``) or to a throw-away embedded
  simulator (``--sim``);
* :class:`ServiceBackend`: the REST service (``--service URL --api-key KEY``).

Failures raise :class:`LookupFailed` with TWS's error code where there is one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, Protocol

import httpx

from twsbridge.client import TWSClient, TWSError
from twsbridge.protocol import Contract

__all__ = [
    "ORDER_FIELDS",
    "Backend",
    "ClientBackend",
    "LookupFailed",
    "ServiceBackend",
    "Target",
    "client_session",
    "no_data",
    "service_session",
]

Row = dict[str, Any]

ORDER_FIELDS = ("orderId", "permId", "clientId", "account", "symbol", "secType", "action",
                "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif", "status",
                "filled", "remaining", "avgFillPrice")
"""The columns of ``twsbridge orders`` (either backend)."""

NO_DEFINITION = "No security definition has been found for the request"


class LookupFailed(Exception):
    """A look-up failed: ``message``, TWS's ``code``, the HTTP ``status`` (service), and
    the ``candidates`` (contract details) when the description matched several."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None,
                 candidates: list[Row] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.candidates = candidates


class Target:
    """A contract as the command line describes it: a symbol (with secType, exchange,
    currency, primaryExchange) or a conId (digits)."""

    def __init__(self, symbol: str, sec_type: str = "STK", exchange: str | None = None,
                 currency: str = "USD", primary_exchange: str | None = None) -> None:
        self.symbol = symbol.strip()
        self.sec_type = sec_type
        self.exchange = exchange
        self.currency = currency
        self.primary_exchange = primary_exchange

    @property
    def con_id(self) -> int | None:
        """The conId when the symbol is one."""
        return int(self.symbol) if self.symbol.isdigit() else None

    def params(self) -> dict[str, Any]:
        """The query parameters of the service's contract routes."""
        if self.con_id is not None:
            return {"conId": self.con_id}
        values = {"symbol": self.symbol, "secType": self.sec_type, "exchange": self.exchange,
                  "currency": self.currency, "primaryExchange": self.primary_exchange}
        return {k: v for k, v in values.items() if v}

    def contract(self) -> Contract:
        """The TWS contract (the service's defaults: SMART, USD; IDEALPRO for CASH)."""
        from twsbridge.service.routes.common import ContractQuery

        if self.con_id is not None:
            return ContractQuery(conId=self.con_id).to_contract()
        return ContractQuery(symbol=self.symbol, secType=self.sec_type, exchange=self.exchange,
                             currency=self.currency,
                             primaryExchange=self.primary_exchange).to_contract()


class Backend(Protocol):
    """What every look-up needs; rows are the service's JSON shapes."""

    where: str

    async def contracts(self, target: Target) -> list[Row]: ...
    async def resolve(self, target: Target) -> Row: ...
    async def quote(self, contract: Row) -> Row: ...
    async def bars(self, contract: Row, *, end: str, duration: str, bar_size: str, what: str,
                   rth: bool) -> list[Row]: ...
    async def search(self, pattern: str) -> list[Row]: ...
    async def orders(self, status: str) -> list[Row]: ...
    async def positions(self) -> list[Row]: ...
    async def account(self, account: str | None) -> list[Row]: ...


def no_data(code: int, message: str) -> bool:
    """True for TWS's "HMDS query returned no data" (162): an empty stretch of time
    (a night, a weekend, before the first data), not a failure of a chunked download."""
    return code == 162 and "no data" in message.lower()


def _json(model: Any) -> Row:
    dumped: Row = model.model_dump(mode="json")
    return dumped


def _ambiguous(details: list[Row]) -> LookupFailed:
    return LookupFailed(f"{len(details)} contracts match; narrow it down with --exchange, "
                        "--primary-exchange, --currency or a conId", candidates=details)


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


class ClientBackend:
    """Answers from TWS through ``ib`` (a gateway, or the embedded simulator)."""

    def __init__(self, ib: TWSClient, where: str) -> None:
        self.ib = ib
        self.where = where
        self._contracts: dict[int, Contract] = {}

    async def contracts(self, target: Target) -> list[Row]:
        from twsbridge.service.schemas import ContractDetailsPublic

        details = await self.ib.reqContractDetails(target.contract())
        if not details:
            raise LookupFailed(NO_DEFINITION, code=200)
        return [_json(ContractDetailsPublic.from_tws(d)) for d in details]

    async def resolve(self, target: Target) -> Row:
        from twsbridge.service.routes.common import market_contract
        from twsbridge.service.schemas import ContractDetailsPublic, ContractPublic

        details = await self.ib.reqContractDetails(target.contract())
        if not details:
            raise LookupFailed(NO_DEFINITION, code=200)
        if len({d.contract.conId for d in details}) > 1:
            raise _ambiguous([_json(ContractDetailsPublic.from_tws(d)) for d in details])
        contract = market_contract(details[0])
        self._contracts[contract.conId] = contract
        return _json(ContractPublic.from_tws(contract))

    def _contract(self, row: Row) -> Contract:
        return self._contracts.get(int(row["conId"])) or Contract(conId=int(row["conId"]))

    async def quote(self, contract: Row) -> Row:
        from twsbridge.service.schemas import QuotePublic

        c = self._contract(contract)
        return _json(QuotePublic.from_ticker(await self.ib.reqMktDataSnapshot(c), c))

    async def bars(self, contract: Row, *, end: str, duration: str, bar_size: str, what: str,
                   rth: bool) -> list[Row]:
        from twsbridge.service.schemas import BarPublic

        try:
            got = await self.ib.reqHistoricalData(
                self._contract(contract), endDateTime=end, durationStr=duration,
                barSizeSetting=bar_size, whatToShow=what, useRTH=rth, formatDate=1)
        except TWSError as exc:
            if no_data(exc.code, exc.message):
                return []
            raise
        return [_json(BarPublic.from_tws(b)) for b in got]

    async def search(self, pattern: str) -> list[Row]:
        from twsbridge.service.schemas import ContractDescriptionPublic

        found = await self.ib.reqMatchingSymbols(pattern)
        return [_json(ContractDescriptionPublic.from_tws(d)) for d in found]

    async def orders(self, status: str) -> list[Row]:
        trades: list[Any] = []
        if status in ("open", "all"):
            trades += await self.ib.reqAllOpenOrders()
        if status in ("completed", "all"):
            trades += await self.ib.reqCompletedOrders(apiOnly=False)
        rows: dict[tuple[int, int, int], Row] = {}
        for t in trades:
            rows[(t.order.permId, t.order.clientId, t.orderId)] = _trade_row(t)
        return list(rows.values())

    async def positions(self) -> list[Row]:
        from twsbridge.service.account_schemas import PositionPublic

        return [_json(PositionPublic.from_tws(p)) for p in await self.ib.reqPositions()]

    async def account(self, account: str | None) -> list[Row]:
        from twsbridge.client.account import ALL_TAGS
        from twsbridge.service.account_schemas import AccountValuePublic

        rows = await self.ib.reqAccountSummary(groupName="All", tags=ALL_TAGS)
        values = [_json(AccountValuePublic.from_tws(v)) for v in rows]
        return [v for v in values if account is None or v["account"] == account]


def _trade_row(t: Any) -> Row:
    from twsbridge.service.schemas import price, size

    o, c = t.order, t.contract
    return {
        "orderId": t.orderId, "permId": o.permId or None, "clientId": o.clientId,
        "account": o.account or None, "symbol": c.symbol, "secType": c.secType,
        "action": o.action, "totalQuantity": _number(size(o.totalQuantity)),
        "orderType": o.orderType, "lmtPrice": price(o.lmtPrice), "auxPrice": price(o.auxPrice),
        "tif": o.tif, "status": t.status, "filled": _number(size(t.filled)),
        "remaining": _number(size(t.remaining)), "avgFillPrice": price(t.avgFillPrice) or None,
    }


def _order_row(o: Row) -> Row:
    """A service ``OrderPublic`` as a row of :data:`ORDER_FIELDS`."""
    contract = o.get("contract") or {}
    row = {name: o.get(name) for name in ORDER_FIELDS}
    row["symbol"], row["secType"] = contract.get("symbol"), contract.get("secType")
    return row


class ServiceBackend:
    """Answers from the twsbridge REST service at ``url`` with API key ``api_key``."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.where = f"service {url}"

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise LookupFailed(f"cannot reach the service: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _problem(response)
        return response.json()

    async def contracts(self, target: Target) -> list[Row]:
        if target.con_id is not None:
            return [await self._get(f"/contracts/{target.con_id}")]
        found: list[Row] = await self._get("/contracts", target.params())
        return found

    async def resolve(self, target: Target) -> Row:
        details = await self.contracts(target)
        if len({d["contract"]["conId"] for d in details}) > 1:
            raise _ambiguous(details)
        contract: Row = details[0]["contract"]
        return contract

    async def quote(self, contract: Row) -> Row:
        quote: Row = await self._get(f"/quotes/{contract['conId']}")
        return quote

    async def bars(self, contract: Row, *, end: str, duration: str, bar_size: str, what: str,
                   rth: bool) -> list[Row]:
        try:
            body = await self._get("/bars", {
                "conId": contract["conId"], "endDateTime": end, "durationStr": duration,
                "barSizeSetting": bar_size, "whatToShow": what, "useRTH": rth})
        except LookupFailed as exc:
            if exc.code is not None and no_data(exc.code, exc.message):
                return []
            raise
        bars: list[Row] = body["bars"]
        return bars

    async def search(self, pattern: str) -> list[Row]:
        found: list[Row] = await self._get("/contracts/search", {"pattern": pattern})
        return found

    async def orders(self, status: str) -> list[Row]:
        return [_order_row(o) for o in await self._get("/orders", {"status": status})]

    async def positions(self) -> list[Row]:
        found: list[Row] = await self._get("/positions")
        return found

    async def account(self, account: str | None) -> list[Row]:
        values: list[Row] = await self._get("/account/summary")
        return [v for v in values if account is None or v["account"] == account]


def _problem(response: httpx.Response) -> LookupFailed:
    """A service error (``application/problem+json``) as :class:`LookupFailed`."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail") or body.get("title") or response.reason_phrase
    code = body.get("code") if isinstance(body.get("code"), int) else None
    candidates = body.get("candidates")
    if isinstance(candidates, list):
        candidates = [{"contract": c} for c in candidates if isinstance(c, dict)]
    else:
        candidates = None
    return LookupFailed(str(detail), code=code, status=response.status_code,
                        candidates=candidates)


@contextlib.asynccontextmanager
async def client_session(gateway: str | None, use_sim: bool,
                         client_id: int | None) -> AsyncIterator[ClientBackend]:
    """A :class:`ClientBackend` on ``gateway`` (HOST:PORT) or on a throw-away simulator
    (in process: it listens on no socket)."""
    from twsbridge.service.settings import parse_gateway

    cid = client_id if client_id is not None else 1000 + os.getpid() % 30000
    if not use_sim:
        assert gateway is not None
        host, port = parse_gateway(gateway)
        async with TWSClient(host, port, cid) as ib:
            yield ClientBackend(ib, f"gateway {gateway}")
        return
    from twsbridge.sim import SimServer, Simulator
    from twsbridge.sim.market.clock import SimClock, parse_start

    start = os.environ.get("TWSBRIDGE_SIM_START", "").strip()  # as the service's sim_start
    clock = SimClock(parse_start(start) if start else None)  # default: the present
    srv = SimServer(Simulator(seed=0, clock=clock), port=None)  # in process: no socket listens
    await srv.start()
    try:
        async with TWSClient("in-process simulator", 0, cid,
                             connector=srv.connect_in_process) as ib:
            yield ClientBackend(ib, "simulator")
    finally:
        await srv.stop()


@contextlib.asynccontextmanager
async def service_session(url: str, api_key: str | None,
                          timeout: float = 120.0) -> AsyncIterator[ServiceBackend]:
    """A :class:`ServiceBackend` on the service at ``url``."""
    headers = {"X-API-Key": api_key} if api_key else {}
    async with httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers,
                                 timeout=timeout) as http:
        yield ServiceBackend(http, url)

