"""The adversity suite: trade through the service while every kind of TWS fault hits.

A seeded run (:mod:`.harness`): the simulator injects ``--adversity-faults``
faults (24 in CI) of every kind — dropped connections, stalls, 1100 then
1101/1102, restarts, competing sessions (10197), client id in use (326),
message-rate violations (100), historical pacing (162/420), market data lines
(101) — while two traders use the service's REST API, a direct client holds a
subscription of every kind and WebSocket users stream from the service.

At the end: the journal equals the simulator's ledger of orders, executions
and commissions exactly (nothing lost, nothing twice); every subscription
delivers again; the service answered every request within its timeout (errors
allowed during outages, never a 500, never a hang). ``--soak`` runs the
100-fault form as well. The seed rotates unless ``--adversity-seed`` is given
(:mod:`.seeds`); bench/adversity_seeds.py runs the run over many seeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .faults import available_kinds
from .harness import RunConfig, RunResult, run_adversity
from .seeds import adversity_seed

#: Statuses a request may get while TWS misbehaves (problem+json with TWS's code
#: where there is one): never 500 (a bug), never 0 (no answer in time: a hang).
ALLOWED = {200, 201, 400, 404, 409, 422, 429, 502, 503, 504}


def report(r: RunResult) -> str:
    t = r.traffic
    j = r.journal
    streams = "\n".join(
        f"    {w.name:34} items {w.items:6}  gaps {w.gaps:3}"
        + (f"  ws closes {w.closes} {w.errors[-2:]}" if hasattr(w, "closes") else "")
        + (f"  ENDED: {w.ended}" if w.ended else "")
        for w in r.streams)
    missing = sum(int(x.get("executionsMissing") or 0) for x in r.reconciles.values())
    return (
        f"\nadversity run: seed {r.config.seed}, {r.faults_logged} faults in "
        f"{r.config.span:.0f} s ({r.script}); wall {r.wall:.0f} s\n"
        f"  requests {len(t.exchanges)}: by status {dict(sorted(t.by_status().items()))}, "
        f"problem codes {dict(t.by_code().most_common(8))}\n"
        f"  latency p50 {t.percentile(0.5) * 1000:.0f} ms, p99 {t.percentile(0.99) * 1000:.0f} ms, "
        f"max {max(t.latencies(), default=0) * 1000:.0f} ms (hang after {r.hang_after:.0f} s); "
        f"/health failures {r.health_failures}\n"
        f"  service disconnects seen {r.disconnects}, reconciliations {len(r.reconciles)} "
        f"({missing} executions recovered by them)\n"
        f"  orders placed {len(t.placed)}; ledger: {len(r.ledger_orders)} orders, "
        f"{len(r.ledger_fills)} executions; journal: "
        + (f"{len(j.orders)} orders (+{len(j.never_accepted)} never acknowledged), "
           f"{j.rows} execution rows ({j.distinct} distinct), {j.commission_rows} commissions, "
           f"by source {j.sources}; equal after {r.quiet_after:.1f} s\n" if j else "none\n")
        + (f"  never acknowledged by TWS: {j.never_accepted}\n" if j and j.never_accepted else "")
        + f"  streams:\n{streams}"
    )


def check(r: RunResult) -> None:
    print(report(r))
    from .ledger import diff

    j = r.journal
    assert j is not None
    assert r.faults_logged >= r.config.faults
    kinds = {k for k, _ in available_kinds()}
    assert kinds <= set(r.faults_by_kind), f"kinds never injected: {kinds - set(r.faults_by_kind)}"
    # the books: nothing lost, nothing twice
    assert r.ledger_fills, "nothing traded: the run proves nothing"
    assert j.rows == j.distinct == len(j.executions), "an execution journaled twice"
    assert j.commission_rows == len(j.executions)
    assert j.executions == r.ledger_fills, diff(r.ledger_fills, j.executions)
    assert j.orders == r.ledger_orders, diff(r.ledger_orders, j.orders)
    for key, (status, code, _) in j.never_accepted.items():
        # sent but never received by TWS: lost with a connection, or refused (error 100)
        assert key not in r.ledger_orders
        assert status == "Lost" or (status == "Rejected" and code is not None), (
            f"order {key} never reached TWS but the journal says {status} ({code})")
    # the service answered throughout
    t = r.traffic
    hangs = [x for x in t.exchanges if x.status == 0]
    assert not hangs, f"{len(hangs)} requests got no answer within {r.hang_after} s: {hangs[:3]}"
    bad = [x for x in t.exchanges if x.status not in ALLOWED]
    assert not bad, f"unexpected statuses: {bad[:5]}"
    assert r.health_failures == 0
    ok = sum(1 for x in t.exchanges if x.status < 400)
    assert ok > len(t.exchanges) // 2, "the service failed most requests"
    # every subscription live again
    ended = [f"{w.name}: {w.ended}" for w in r.streams if w.ended]
    assert not ended, f"subscriptions ended: {ended}"
    assert not r.dead_streams, f"no data after the last fault: {r.dead_streams}"


@pytest.mark.timeout(600)
async def test_adversity_short(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    faults = request.config.getoption("--adversity-faults")
    seed = adversity_seed(request)
    check(await run_adversity(RunConfig(seed=seed, faults=faults), tmp_path))


@pytest.mark.soak
@pytest.mark.timeout(3600)
async def test_adversity_100_faults(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    seed = adversity_seed(request)
    check(await run_adversity(RunConfig(seed=seed, faults=100), tmp_path))
