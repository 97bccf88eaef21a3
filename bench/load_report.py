"""The figures and the printed report of ``bench/load.py``: per kind, the
simulator's and the clients' rates, CPU, memory and loop lag over the window,
the loss check after the drain, and the time series of the samples."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from load_common import MB, SAME_UNIT_AS_SIM, SYNTHETIC_CONID0, TICK_UNITS, median

__all__ = ["analyse", "header", "report"]


# ------------------------------------------------------------------ analysis


def _slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, bytes) points, MB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den * 60 / MB if den else 0.0


def _dist(xs: list[float]) -> tuple[float, float, float]:
    return (min(xs), median(xs), max(xs)) if xs else (0.0, 0.0, 0.0)


def analyse(r: dict[str, Any], contracts: list[dict[str, Any]]) -> dict[str, Any]:
    times, samples, info, split = r["times"], r["samples"], r["info"], r["split"]
    win = times[-1] - times[0]
    sim = samples["sim"]
    s0, s1 = sim[0], sim[-1]
    lines0, lines1 = s0["per_line"], s1["per_line"]
    served_line = [(lines1[key][0] - lines0.get(key, (0,))[0]) / win for key in lines1]
    out: dict[str, Any] = {
        "kind": r["kind"], "window": win, "clients": sum(len(v) for v in split.values()),
        "lines": len(lines1), "procs": len(split),
        "sim_msgs_s": (s1["msgs"] - s0["msgs"]) / win,
        "sim_ticks_s": (s1["ticks"] - s0["ticks"]) / win,
        "sim_updates_line_s": (s1["updates"] - s0["updates"]) / win / max(1, len(lines1)),
        "sim_frames_s": (s1["frames"] - s0["frames"]) / win,
        "sim_mb_s": (s1["bytes"] - s0["bytes"]) / win / MB,
        "sim_cpu": (s1["cpu"] - s0["cpu"]) / win,
        "sim_rss": (s0["rss"], s1["rss"], max(x["rss"] for x in sim)),
        "sim_lag_max": max(x["lag_max"] for x in sim[1:]) if len(sim) > 1 else 0.0,
        "sim_silent": sum(x["silent"] for x in sim[1:]),
        "machine_busy": ((s1["machine"][0] - s0["machine"][0])
                         / max(1, s1["machine"][1] - s0["machine"][1]) * (os.cpu_count() or 1)),
        "sim_cpu_per_update_us": ((s1["cpu"] - s0["cpu"]) / max(1, s1["updates"] - s0["updates"])
                                  * 1e6),
        "served_line": _dist(served_line),
        "intervals": len(times) - 1,
    }
    received_line: list[float] = []
    per_client: list[float] = []
    cpu = 0.0
    workers = []
    silent = 0
    lag = 0.0
    qmax = 0
    for w, cids in split.items():
        ws = samples[w]
        fin = info[w]["final"]
        base = info[w]["baseline"]["rss"]
        for cid in cids:
            a, b = fin["start"][cid], fin["end"][cid]
            diffs = [(y - x) / win for x, y in zip(a, b, strict=True)]
            received_line += diffs
            per_client.append(sum(diffs))
        cpu += (ws[-1]["cpu"] - ws[0]["cpu"]) / win
        silent += sum(x["silent"] for x in ws[1:])
        lag = max([lag] + [x.get("lag_max", 0.0) for x in ws[1:]])
        qmax = max([qmax] + [x.get("queue_max", 0) for x in ws[1:]])
        t_0 = ws[0]["t"]
        half = [(x["t"] - t_0, x["rss"]) for x in ws if x["t"] - t_0 >= win / 2]
        workers.append({
            "name": w, "clients": len(cids), "baseline": base, "start": ws[0]["rss"],
            "end": ws[-1]["rss"], "max": max(x["rss"] for x in ws),
            "blocks": (info[w]["baseline"]["blocks"], ws[0]["blocks"], ws[-1]["blocks"]),
            "slope": _slope_mb_per_min(half),
            "connect_s": info[w]["ready"]["connect_s"],
            "first_tick_s": info[w]["ready"]["first_tick_s"]})
    n_clients = out["clients"]
    out.update({
        "recv_s": sum(received_line), "recv_line": _dist(received_line),
        "recv_client": _dist(per_client),
        "zero_lines": sum(1 for x in received_line if x == 0),
        "client_cpu": cpu, "client_cpu_per_client": cpu / n_clients,
        "client_silent": silent, "client_lag_max": lag, "client_queue_max": qmax,
        "workers": workers,
        "rss_total": tuple(sum(w[k] for w in workers) for k in ("start", "end", "max")),
        "rss_per_client": tuple(sum(w[k] - w["baseline"] for w in workers) / n_clients
                                for k in ("start", "end", "max")),
        "baseline": sum(w["baseline"] for w in workers) / len(workers),
        "slope_max": max(w["slope"] for w in workers),
        "connect_s": max(w["connect_s"] for w in workers),
        "first_tick_s": max(w["first_tick_s"] for w in workers),
    })
    out.update(_loss_check(r, contracts))
    out["series"] = _series(r)
    return out


def _loss_check(r: dict[str, Any], contracts: list[dict[str, Any]]) -> dict[str, Any]:
    """Since subscription, after the drain: what each line (client) got vs what it was sent."""
    kind, info, split = r["kind"], r["info"], r["split"]
    sim_fin = info["sim"]["final"]
    missed = extra = lines_short = 0
    dropped = gaps = 0
    errors: list[str] = []
    for w, cids in split.items():
        fin = info[w]["final"]
        errors += fin["errors"]
        for cid in cids:
            x = fin["extra"].get(cid, {})
            dropped += x.get("dropped", 0)
            gaps += x.get("gaps", 0)
            if kind in SAME_UNIT_AS_SIM:
                for i, c in enumerate(contracts):
                    if (cid, c["conId"]) not in sim_fin["lines"]:
                        errors.append(f"client {cid}: the simulator has no line for conId "
                                      f"{c['conId']} at the end")
                        continue
                    sent = sim_fin["lines"][(cid, c["conId"])][1]
                    got = fin["final"][cid][i]
                    missed += max(0, sent - got)
                    extra += max(0, got - sent)
                    lines_short += sent != got
            else:  # ib_async: frames (its tick unit is not the simulator's)
                sent = sim_fin["frames"].get(cid, 0) + 1  # + the handshake answer
                got = x.get("frames_received", 0)
                missed += max(0, sent - got)
                extra += max(0, got - sent)
                lines_short += sent != got
    sent_total = sum(v[1] for v in sim_fin["lines"].values())
    unit = "ticks" if kind in SAME_UNIT_AS_SIM else "frames"
    return {"loss_unit": unit, "missed": missed, "extra": extra, "lines_short": lines_short,
            "sent_total": sent_total, "dropped": dropped, "gaps": gaps, "errors": errors}


def _series(r: dict[str, Any]) -> list[dict[str, float]]:
    """Per sample interval: rates, CPU and memory of the simulator and all the clients."""
    samples = r["samples"]
    sim = samples["sim"]
    workers = [v for k, v in samples.items() if k != "sim"]
    rows = []
    for k in range(1, len(sim)):
        dt = sim[k]["t"] - sim[k - 1]["t"]
        rows.append({
            "t": sim[k]["t"] - sim[0]["t"],
            "sim_msgs_s": (sim[k]["msgs"] - sim[k - 1]["msgs"]) / dt,
            "sim_cpu": (sim[k]["cpu"] - sim[k - 1]["cpu"]) / dt,
            "sim_rss": sim[k]["rss"],
            "recv_s": sum(w[k]["ticks"] - w[k - 1]["ticks"] for w in workers) / dt,
            "client_cpu": sum(w[k]["cpu"] - w[k - 1]["cpu"] for w in workers) / dt,
            "client_rss": sum(w[k]["rss"] for w in workers),
            "sim_silent": sim[k]["silent"],
            "sim_lag": sim[k]["lag_max"],
            "client_silent": sum(w[k]["silent"] for w in workers),
        })
    return rows


# ------------------------------------------------------------------ report


def _mb(x: float) -> str:
    return f"{x / MB:,.1f}"


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    kinds = [r["kind"] for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn: Any) -> None:
        rows.append((label, [fn(r) for r in results]))

    row("clients x lines per client", lambda r: f"{r['clients']} x {r['lines'] // r['clients']}")
    row("client processes", lambda r: str(r["procs"]))
    row("connect+subscribe s (slowest proc)", lambda r: f"{r['connect_s']:.1f}")
    row("sim: tick msgs/s served", lambda r: f"{r['sim_msgs_s']:,.0f}")
    row("sim: ticks/s served (price+size)", lambda r: f"{r['sim_ticks_s']:,.0f}")
    row("sim: frames/s, KB/s written",
        lambda r: f"{r['sim_frames_s']:,.0f}, {r['sim_mb_s'] * 1024:,.0f}")
    row("sim: due updates/line/s (4 at most)", lambda r: f"{r['sim_updates_line_s']:.2f}")
    row("sim: msgs/s per line min/med/max", lambda r: "{:.2f}/{:.2f}/{:.2f}".format(
        *r["served_line"]))
    row("sim: CPU (of one core)", lambda r: f"{r['sim_cpu']:.0%}")
    row("sim: CPU us per due line update", lambda r: f"{r['sim_cpu_per_update_us']:.0f}")
    row("sim: loop lag max (ms)", lambda r: f"{r['sim_lag_max'] * 1000:.0f}")
    row("sim: RSS MB start/end/max", lambda r: "/".join(_mb(x) for x in r["sim_rss"]))
    row("clients: ticks/s received", lambda r: f"{r['recv_s']:,.0f}")
    row("  received / sim ticks", lambda r: f"{r['recv_s'] / r['sim_ticks_s']:.3f}"
        if r["sim_ticks_s"] else "-")
    row("  per client min/med/max", lambda r: "{:.0f}/{:.0f}/{:.0f}".format(*r["recv_client"]))
    row("  per line min/med/max", lambda r: "{:.2f}/{:.2f}/{:.2f}".format(*r["recv_line"]))
    row("  lines with no tick in window", lambda r: str(r["zero_lines"]))
    row("  silent line-intervals sim/clients", lambda r: (
        f"{r['sim_silent']}/{r['client_silent']} of {r['lines'] * r['intervals']}"))
    row("  after drain: missed/extra", lambda r: (
        f"{r['missed']}/{r['extra']} {r['loss_unit']}"))
    row("  lines (clients) not matching", lambda r: str(r["lines_short"]))
    row("  dropped / gaps (twsbridge)", lambda r: f"{r['dropped']} / {r['gaps']}"
        if r["kind"] == "twsbridge" else "-")
    row("clients: loop lag max ms / queue max", lambda r: (
        f"{r['client_queue_max']} queued" if r["kind"] == "ibapi"
        else f"{r['client_lag_max'] * 1000:.0f} ms"))
    row("clients: CPU (all procs, of one core)", lambda r: f"{r['client_cpu']:.0%}")
    row("clients: CPU per client", lambda r: f"{r['client_cpu_per_client']:.1%}")
    row("clients: RSS MB start/end/max (sum)",
        lambda r: "/".join(_mb(x) for x in r["rss_total"]))
    row("clients: interpreter baseline MB/proc", lambda r: _mb(r["baseline"]))
    row("clients: RSS/client MB start/end/max",
        lambda r: "/".join(f"{x / MB:.2f}" for x in r["rss_per_client"]))
    row("clients: RSS slope 2nd half MB/min", lambda r: f"{r['slope_max']:+.2f}")
    row("machine: busy cores (all processes)", lambda r: (
        f"{r['machine_busy']:.2f} of {os.cpu_count()}"))
    row("machine: busy cores not of this bench", lambda r: (
        f"{max(0.0, r['machine_busy'] - r['sim_cpu'] - r['client_cpu']):.2f}"))
    width = max(len(label) for label, _ in rows)
    cols = [max(len(k), *(len(v[i]) for _, v in rows)) for i, k in enumerate(kinds)]
    print(f"{'measure':<{width}}  " + "  ".join(f"{k:>{c}}" for k, c in zip(kinds, cols,
                                                                         strict=True)))
    print(f"{'-' * width}  " + "  ".join("-" * c for c in cols))
    for label, vals in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{v:>{c}}" for v, c in zip(vals, cols,
                                                                           strict=True)))
    by = {r["kind"]: r for r in results}
    if "twsbridge" in by and len(by) > 1:
        ours = by["twsbridge"]
        for r in results:
            if r is ours:
                continue
            print(f"ratios {r['kind']}/twsbridge: client CPU "
                  f"{r['client_cpu'] / ours['client_cpu']:.2f}x, RSS per client (end) "
                  f"{r['rss_per_client'][1] / ours['rss_per_client'][1]:.2f}x, sim CPU "
                  f"{r['sim_cpu'] / ours['sim_cpu']:.2f}x, ticks received "
                  f"{r['recv_s'] / ours['recv_s']:.2f}x (units differ: see below)")
    print("tick units:")
    for k in kinds:
        print(f"  {k:<10} {TICK_UNITS[k]}")
    print("memory per worker process (MB; per client = (RSS - baseline) / clients):")
    print(f"  {'kind':<10} {'proc':<4} {'clients':>7} {'baseline':>8} {'start':>7} {'end':>7} "
          f"{'max':>7} {'end-start':>9} {'slope/min':>9} {'per client start/end':>20} "
          f"{'py blocks base/start/end':>26}")
    for r in results:
        for w in r["workers"]:
            pc = "/".join(f"{(w[k] - w['baseline']) / w['clients'] / MB:.2f}"
                          for k in ("start", "end"))
            print(f"  {r['kind']:<10} {w['name']:<4} {w['clients']:>7} {_mb(w['baseline']):>8} "
                  f"{_mb(w['start']):>7} {_mb(w['end']):>7} {_mb(w['max']):>7} "
                  f"{(w['end'] - w['start']) / MB:>+9.1f} {w['slope']:>+9.2f} {pc:>20} "
                  f"{'/'.join(f'{b:,}' for b in w['blocks']):>26}")
    for r in results:
        series = r["series"]
        step = max(1, math.ceil(len(series) / 12))
        shown = series[step - 1::step]
        if shown[-1] is not series[-1]:
            shown.append(series[-1])
        print(f"over time, {r['kind']} (each row: the {args.sample_every:g} s interval "
              f"ending at t):")
        print(f"  {'t s':>5} {'sim msgs/s':>10} {'sim CPU':>7} {'sim RSS':>7} "
              f"{'sim lag ms':>10} {'recv ticks/s':>12} {'cli CPU':>7} {'cli RSS MB':>10} "
              f"{'silent sim/cli':>14}")
        for x in shown:
            print(f"  {x['t']:>5.0f} {x['sim_msgs_s']:>10,.0f} {x['sim_cpu']:>7.0%} "
                  f"{_mb(x['sim_rss']):>7} {x['sim_lag'] * 1000:>10.0f} {x['recv_s']:>12,.0f} "
                  f"{x['client_cpu']:>7.0%} "
                  f"{_mb(x['client_rss']):>10} {x['sim_silent']:>7}/{x['client_silent']}")
    for r in results:
        if r["errors"]:
            print(f"{r['kind']}: {len(r['errors'])} client errors, first: {r['errors'][:3]}",
                  file=sys.stderr)


def header(args: argparse.Namespace, contracts: list[dict[str, Any]], n_book: int) -> None:
    from collections import Counter

    import ib_async
    import ibapi

    types = Counter(c["secType"] for c in contracts)
    synthetic = sum(1 for c in contracts if c["conId"] >= SYNTHETIC_CONID0)
    print(f"load: {args.clients} clients x {len(contracts)} market data lines each = "
          f"{args.clients * len(contracts)} lines against one simulator per kind; "
          f"{args.duration:g} s measured after {args.warmup:g} s warm-up, samples every "
          f"{args.sample_every:g} s")
    print(f"machine: os.cpu_count()={os.cpu_count()} (shared by the simulator, the "
          f"{args.procs} client processes and anything else running); load average "
          f"{os.getloadavg()[0]:.2f} at start; nice {os.nice(0)}; python "
          f"{sys.version.split()[0]}; ib_async {ib_async.__version__}, ibapi "
          f"{ibapi.get_version_string()}")
    mix = ", ".join(f"{v} {k}" for k, v in types.items())
    print(f"instruments: {len(contracts)} distinct ({mix}); the simulator's InstrumentBook "
          f"has {n_book}"
          + (f", so {synthetic} are synthetic stocks the bench adds to its simulator's book "
             f"(--book extended)" if synthetic else "") + f"; simulator seed {args.seed}, poll "
          f"every {args.poll * 1000:g} ms, clock 2013-03-01 10:00 US/Eastern at real speed")
