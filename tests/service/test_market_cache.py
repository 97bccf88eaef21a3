"""Contract resolutions cached, identical requests coalesced, quotes from the hub's live
subscription (issue 9, item 12), on the real service (uvicorn, embedded simulator) and on a
real client against a real simulator. TWS messages are counted by what the service's
client sent (``twsbridge_tws_messages_sent_total`` of ``GET /metrics``) or, for the direct
client, by the answers TWS sent back (one ``contractDetailsEnd`` per reqContractDetails ...).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect as ws_connect

from twsbridge.client import Contract, TWSClient, TWSError
from twsbridge.service.market_cache import MarketCache, MarketCacheSettings, contract_key
from twsbridge.service.operations import market_data
from twsbridge.service.routes.common import resolve_contract
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .support import auth, running_service, sim_settings

pytestmark = pytest.mark.timeout(120)

CONTRACT_TTL = 3.0
NEGATIVE_TTL = 1.5
_ENV = {"TWSBRIDGE_CACHE_CONTRACT_TTL": str(CONTRACT_TTL),
        "TWSBRIDGE_CACHE_NEGATIVE_TTL": str(NEGATIVE_TTL)}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A service of its own, its caches made with short TTLs (read on their first use)."""
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(_ENV)
    try:
        with running_service(sim_settings()) as base:
            r = httpx.get(f"{base}/contracts", params={"symbol": "SPY"}, headers=auth(base),
                          timeout=30)
            assert r.status_code in (200, 404), r.text  # the caches exist now
            yield base
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest_asyncio.fixture
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30.0) as client:
        yield client


async def sent(http: httpx.AsyncClient) -> Counter[str]:
    """TWS messages the service's client has sent, by name."""
    text = (await http.get("/metrics")).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("twsbridge_tws_messages_sent_total{"):
            name = line.split('name="', 1)[1].split('"', 1)[0]
            counts[name] = int(float(line.rsplit(" ", 1)[1]))
    return counts


async def test_a_second_resolution_sends_no_reqContractDetails(
        http: httpx.AsyncClient) -> None:
    before = await sent(http)
    first = await http.get("/quotes", params={"symbol": "IBM"})
    assert first.status_code == 200, first.text
    middle = await sent(http)
    assert middle["reqContractDetails"] - before["reqContractDetails"] == 1
    for path in ("/quotes", "/bars", "/head-timestamp", "/contracts"):
        r = await http.get(path, params={"symbol": "IBM"})
        assert r.status_code == 200, (path, r.text)
    after = await sent(http)
    assert after["reqContractDetails"] == middle["reqContractDetails"]
    assert after["reqMktData"] - middle["reqMktData"] == 1  # the quote itself is fresh


async def test_a_resolution_expires_after_its_ttl(http: httpx.AsyncClient) -> None:
    before = await sent(http)
    assert (await http.get("/contracts", params={"symbol": "MSFT"})).status_code == 200
    assert (await http.get("/contracts", params={"symbol": "MSFT"})).status_code == 200
    cached = await sent(http)
    assert cached["reqContractDetails"] - before["reqContractDetails"] == 1
    await asyncio.sleep(CONTRACT_TTL + 0.5)
    again = await http.get("/contracts", params={"symbol": "MSFT"})
    assert again.status_code == 200 and again.json()[0]["contract"]["conId"] == 272093
    expired = await sent(http)
    assert expired["reqContractDetails"] - cached["reqContractDetails"] == 1


async def test_an_unknown_symbol_is_a_404_briefly_remembered_never_a_success(
        http: httpx.AsyncClient) -> None:
    before = await sent(http)
    answers = [await http.get("/quotes", params={"symbol": "NOSUCHSYM"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 404], answers[-1].text
    assert all(a.json()["code"] == 200 for a in answers)
    remembered = await sent(http)
    assert remembered["reqContractDetails"] - before["reqContractDetails"] == 1
    assert remembered["reqMktData"] == before["reqMktData"]
    await asyncio.sleep(NEGATIVE_TTL + 0.5)  # far shorter than a success's TTL
    later = await http.get("/contracts", params={"symbol": "NOSUCHSYM"})
    assert later.status_code == 404, later.text
    asked = await sent(http)
    assert asked["reqContractDetails"] - remembered["reqContractDetails"] == 1


async def test_different_contracts_never_share_an_entry(http: httpx.AsyncClient) -> None:
    before = await sent(http)
    usd = {"symbol": "GOOG"}
    eur = {"symbol": "GOOG", "currency": "EUR"}
    by_id = {"conId": "208813720"}  # GOOG's conId, without a symbol: another description
    answers = []
    for params in (usd, eur, by_id, usd, eur, by_id):
        answers.append(await http.get("/contracts", params=params))
    assert [a.status_code for a in answers] == [200, 404, 200, 200, 404, 200]
    assert answers[0].json() == answers[3].json()
    assert answers[0].json()[0]["contract"]["currency"] == "USD"
    after = await sent(http)
    assert after["reqContractDetails"] - before["reqContractDetails"] == 3
    assert contract_key(Contract(symbol="GOOG", currency="USD")) != contract_key(
        Contract(symbol="GOOG", currency="EUR"))
    assert contract_key(Contract(conId=1, strike=1.0)) != contract_key(
        Contract(conId=1, strike=2.0))


async def test_a_quote_of_a_streamed_contract_sends_no_new_reqMktData(
        url: str, http: httpx.AsyncClient) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/quotes?symbol=AAPL"
    assert (await http.get("/quotes/265598")).status_code == 200  # conId 265598 resolved
    async with ws_connect(ws_url, additional_headers=auth(url)) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert snapshot["type"] == "snapshot", snapshot
        streamed = {t["name"]: t["value"] for t in snapshot["ticks"]}
        before = await sent(http)
        quotes = [await http.get("/quotes", params={"symbol": "AAPL"}) for _ in range(5)]
        quotes.append(await http.get("/quotes/265598"))
        gql = await http.post("/graphql", json={"query": '{ quote(symbol: "AAPL") { bid ask } }'})
        after = await sent(http)
    assert all(q.status_code == 200 for q in quotes), quotes[-1].text
    assert gql.status_code == 200 and gql.json()["data"]["quote"]["bid"] is not None, gql.text
    assert after["reqMktData"] == before["reqMktData"]
    assert after["reqContractDetails"] == before["reqContractDetails"]
    body = quotes[0].json()
    assert body["conId"] == 265598 and body["marketDataType"] == 1
    assert body["bid"] is not None and body["ask"] is not None and body["bid"] <= body["ask"]
    assert abs(body["bid"] - streamed["bid"]) < 5  # the same instrument's stream
    assert body["time"] is not None
    # with the stream gone, a quote is a snapshot again
    await asyncio.sleep(0.5)
    later_before = await sent(http)
    assert (await http.get("/quotes", params={"symbol": "AAPL"})).status_code == 200
    assert (await sent(http))["reqMktData"] - later_before["reqMktData"] == 1


# -- a real client on a real simulator: N identical concurrent requests, one TWS request --


@pytest_asyncio.fixture
async def ib() -> AsyncIterator[tuple[TWSClient, Counter[str]]]:
    server = SimServer(Simulator(seed=0, clock=SimClock(REPLAY_START)), host="127.0.0.1", port=0)
    await server.start()
    client = TWSClient("127.0.0.1", server.port, 31, timeout=20.0)
    answers: Counter[str] = Counter()

    def count(msg: Any) -> None:
        name = getattr(msg, "NAME", "")
        if name == "error":
            name = f"error {getattr(msg, 'errorCode', '')}"
        answers[name] += 1

    client.registerAll(count)
    await client.connect()
    try:
        yield client, answers
    finally:
        await client.disconnect()
        await server.stop()


async def test_identical_concurrent_requests_are_one_tws_request(
        ib: tuple[TWSClient, Counter[str]]) -> None:
    client, answers = ib
    n = 12
    amd = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
    resolved = await asyncio.gather(*(resolve_contract(client, amd) for _ in range(n)))
    assert {d.contract.conId for d in resolved} == {4391}
    assert answers["contractDetailsEnd"] == 1
    assert len({id(d) for d in resolved}) == n  # each caller its own copy

    quotes = await asyncio.gather(*(market_data.quote(client, amd) for _ in range(n)))
    assert answers["tickSnapshotEnd"] == 1
    assert len({q.model_dump_json() for q in quotes}) == 1

    got = await asyncio.gather(*(market_data.bars(client, amd, durationStr="2 D",
                                                  barSizeSetting="1 hour")
                                 for _ in range(n)))
    assert answers["historicalData"] == 1
    assert got[0].count > 0 and all(b == got[0] for b in got)
    again = await market_data.bars(client, amd, durationStr="2 D", barSizeSetting="1 hour")
    assert again == got[0] and answers["historicalData"] == 1  # within seconds: once
    other = await market_data.bars(client, amd, durationStr="3 D", barSizeSetting="1 hour")
    assert other.count > got[0].count and answers["historicalData"] == 2

    unknown = Contract(symbol="NOSUCHSYM", secType="STK", exchange="SMART", currency="USD")
    failed = await asyncio.gather(*(resolve_contract(client, unknown) for _ in range(n)),
                                  return_exceptions=True)
    assert all(isinstance(e, TWSError) and e.code == 200 for e in failed), failed
    assert answers["error 200"] == 1
    assert answers["contractDetailsEnd"] == 1


async def test_a_caller_that_leaves_does_not_cancel_the_others(
        ib: tuple[TWSClient, Counter[str]]) -> None:
    client, answers = ib
    cache = MarketCache(MarketCacheSettings(contract_ttl=60, negative_ttl=1))
    intc = Contract(symbol="INTC", secType="STK", exchange="SMART", currency="USD")
    leaving = asyncio.ensure_future(cache.contract_details(client, intc))
    staying = asyncio.ensure_future(cache.contract_details(client, intc))
    await asyncio.sleep(0)
    leaving.cancel()
    [details] = await staying
    assert details.contract.conId == 270639 and leaving.cancelled()
    assert answers["contractDetailsEnd"] == 1
    t0 = time.monotonic()
    assert (await cache.contract_details(client, intc))[0].contract.conId == 270639
    assert time.monotonic() - t0 < 0.05 and answers["contractDetailsEnd"] == 1


async def test_a_refused_bars_request_is_not_kept(ib: tuple[TWSClient, Counter[str]]) -> None:
    client, answers = ib
    amd = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
    codes = []
    for _ in range(2):
        with pytest.raises(TWSError) as refused:
            await market_data.bars(client, amd, whatToShow="NONSENSE")
        codes.append(refused.value.code)
    assert codes[0] == codes[1] and answers[f"error {codes[0]}"] == 2  # asked twice
    assert answers["historicalData"] == 0


async def test_bars_are_kept_for_a_few_seconds_within_a_total_of_bars(
        ib: tuple[TWSClient, Counter[str]]) -> None:
    client, answers = ib
    cache = MarketCache(MarketCacheSettings(bars_ttl=1.0, bars_max=60))
    [details] = await client.reqContractDetails(Contract(conId=4391))
    amd = details.contract
    ask = {"endDateTime": "", "durationStr": "1 D", "barSizeSetting": "1 hour",
           "whatToShow": "TRADES", "useRTH": True, "formatDate": 1}
    first = await cache.historical_data(client, amd, **ask)  # type: ignore[arg-type]
    assert 0 < len(first) <= 60
    assert await cache.historical_data(client, amd, **ask) == first  # type: ignore[arg-type]
    assert answers["historicalData"] == 1
    await asyncio.sleep(1.3)
    again = await cache.historical_data(client, amd, **ask)  # type: ignore[arg-type]
    assert [b.date for b in again][:-1] == [b.date for b in first][:-1]
    assert answers["historicalData"] == 2  # expired: asked again
    big = {**ask, "durationStr": "1 M"}  # more bars than the cache holds in all: not kept
    many = await cache.historical_data(client, amd, **big)  # type: ignore[arg-type]
    assert len(many) > 60
    await cache.historical_data(client, amd, **big)  # type: ignore[arg-type]
    assert answers["historicalData"] == 4
