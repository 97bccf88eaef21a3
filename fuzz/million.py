"""A million random and mutated frames through both decoders, in plain Python.

    nice -n 10 .venv/bin/python fuzz/million.py --frames 1000000 --seed 1

Each frame goes to the client's decoder (a :class:`ClientConnection` after the
handshake, as TWS would send it) and to the simulator's request decoder (a
:class:`SimSession` after the handshake, as a client would send it), at the
server versions of ``tests/fuzz/corpus.py`` in turn. About one frame in five is a
freshly drawn message (absurd or realistic values), the others are seed frames
(the recording, the wire cases, random messages) after 1-3 mutations, fed in
random chunks. Prints the count of each outcome and the throughput; exits 1
when anything but ProtocolError came out (or a property of
``tests/fuzz/harness.py`` failed), printing the first failures with the frame
and the index that reproduces it (``--start INDEX --frames 1``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz import corpus
from fuzz.harness import ClientTarget, SimTarget
from twsbridge.protocol import encode_message
from twsbridge.protocol.spec import IN, OUT, Message, registry

MAX_SHOWN = 12


class Campaign:
    """One decoder's run: seeds, outcome counts, the failures seen."""

    def __init__(self, name: str, direction: str, seed: int, per_class: int) -> None:
        self.name = name
        self.classes: list[type[Message]] = list(registry(direction).values())
        self.requests = direction == OUT
        rng = random.Random(seed)
        build = corpus.incoming_seeds if direction == IN else corpus.request_seeds
        self.seeds = {v: build(v, rng, per_class) for v in corpus.VERSIONS}
        self.counts: Counter[str] = Counter()
        self.codes: Counter[int] = Counter()
        self.failures: list[str] = []
        self.signatures: Counter[str] = Counter()
        self.elapsed = 0.0

    def draw(self, i: int, seed: int) -> tuple[int, bytes, random.Random, str]:
        rng = random.Random((seed << 40) ^ i)
        version = corpus.VERSIONS[i % len(corpus.VERSIONS)]
        if rng.random() < 0.25:
            if self.requests and rng.random() < 0.6:
                cls = rng.choices(list(corpus.WEIGHTS), list(corpus.WEIGHTS.values()))[0]
                msg, how = corpus.request(cls, version, rng), "request"
            else:
                cls = rng.choice(self.classes)
                msg, how = corpus.random_message(cls, version, rng, rng.random() < 0.5), "random"
            return version, encode_message(msg, version), rng, how
        seeds = self.seeds[version]
        data, names = corpus.mutate(rng.choice(seeds), rng, seeds)
        return version, data, rng, "+".join(names)

    def fail(self, i: int, version: int, how: str, data: bytes, exc: BaseException) -> None:
        kind = f"other:{type(exc).__name__}"
        self.counts[kind] += 1
        cause = exc.__cause__ or exc
        where = traceback.extract_tb(cause.__traceback__)[-1] if cause.__traceback__ else None
        sig = f"{type(cause).__name__} at {where.filename}:{where.lineno}" if where else kind
        self.signatures[sig] += 1
        if self.signatures[sig] == 1 and len(self.failures) < MAX_SHOWN:
            tb = "".join(traceback.format_exception(exc, limit=-8))
            self.failures.append(f"[{self.name} #{i} v{version} {how}] {data[:300]!r}\n{tb}")


def run(campaign: Campaign, frames: int, start: int, seed: int,
        feed: Callable[[int, list[bytes]], str], report_every: int) -> None:
    t0 = time.perf_counter()
    for i in range(start, start + frames):
        version, data, rng, how = campaign.draw(i, seed)
        try:
            campaign.counts[feed(version, corpus.chunks(data, rng))] += 1
        except Exception as e:
            campaign.fail(i, version, how, data, e)
        if report_every and (i - start + 1) % report_every == 0:
            rate = (i - start + 1) / (time.perf_counter() - t0)
            print(f"  {campaign.name}: {i - start + 1:,} frames, {rate:,.0f}/s, "
                  f"{dict(campaign.counts)}", flush=True)
    campaign.elapsed = time.perf_counter() - t0


def report(c: Campaign, frames: int) -> int:
    other = sum(n for k, n in c.counts.items() if k.startswith("other:"))
    print(f"{c.name}: {frames:,} frames in {c.elapsed:.1f} s ({frames / c.elapsed:,.0f} frames/s)")
    for k, n in sorted(c.counts.items()):
        print(f"  {k:<16} {n:>10,}")
    print(f"  {'other (total)':<16} {other:>10,}")
    if c.codes:
        top = ", ".join(f"{code}: {n:,}" for code, n in c.codes.most_common(12))
        print(f"  error codes answered: {top}")
    for sig, n in c.signatures.most_common():
        print(f"  failure {n:>8,} x {sig}")
    for f in c.failures:
        print(f)
    return other


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--frames", type=int, default=1_000_000, help="frames per decoder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=0, help="index of the first frame")
    p.add_argument("--only", choices=("client", "sim"), help="one decoder only")
    p.add_argument("--per-class", type=int, default=6, help="random seed messages per class")
    p.add_argument("--report-every", type=int, default=100_000)
    args = p.parse_args(argv)
    if not corpus.recording_frames():
        print(f"note: no recording at {corpus.RECORDING}; seeds without it", file=sys.stderr)
    bad = 0
    if args.only in (None, "client"):
        client = Campaign("client decoder", IN, args.seed, args.per_class)
        clients = {v: ClientTarget(v) for v in corpus.VERSIONS}
        run(client, args.frames, args.start, args.seed,
            lambda v, parts: clients[v].run(parts)[0], args.report_every)
        bad += report(client, args.frames)
    if args.only in (None, "sim"):
        sim = Campaign("simulator request decoder", OUT, args.seed, args.per_class)
        targets = {v: SimTarget(v) for v in corpus.VERSIONS}

        def feed(version: int, parts: list[bytes]) -> str:
            result = targets[version].run(parts)
            sim.codes.update(result.codes)
            return result.outcome

        run(sim, args.frames, args.start, args.seed, feed, args.report_every)
        bad += report(sim, args.frames)
    print("FAIL" if bad else "OK: nothing but ProtocolError came out")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
