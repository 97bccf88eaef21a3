"""The adversity run over many seeds: how many pass (not in CI; it takes minutes a seed).

Each seed is one run of tests/adversity (the service, a simulator injecting
``--faults`` faults, traders, streams; the journal compared with the
simulator's ledger), in a pytest process of its own, ``--jobs`` at a time::

    python bench/adversity_seeds.py --seeds 20 --faults 24          # seeds 1..20
    python bench/adversity_seeds.py --first-seed 23 --seeds 1 --faults 100
    python bench/adversity_seeds.py --seeds 5 --json seeds.json

Prints a line per seed (passed / FAILED, wall seconds, the run's summary line
and, for a failure, the first assertion) and the pass count; a failing seed is
rerun alone with ``python -m pytest tests/adversity --adversity-seed N
--adversity-faults F``. Exit status 0 when every seed passed, 1 otherwise.
The 24-fault form takes about 80 s a seed on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/adversity/test_adversity.py::test_adversity_short"
#: the soak's 100-fault test (its own timeout, an hour)
SOAK = "tests/adversity/test_adversity.py::test_adversity_100_faults"


@dataclass
class SeedResult:
    """One seed's run: passed or not, how long, what it said."""

    seed: int
    faults: int
    passed: bool
    seconds: float
    summary: str = ""
    failure: str = ""
    returncode: int = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    p.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    p.add_argument("--faults", type=int, default=24,
                   help="faults a run (default 24, CI's form; the soak's is 100)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds a run may take (default 120 + 15 a fault; the test's own "
                        "timeout is 600 s, the 100-fault soak's an hour)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.faults < 1 or args.jobs < 1:
        p.error("--seeds, --faults and --jobs must be at least 1")
    return args


_SUMMARY = re.compile(r"^adversity run: .*$", re.M)
_FAILURE = re.compile(r"^E\s+(.*)$", re.M)


def parse_output(seed: int, faults: int, returncode: int, seconds: float,
                 output: str) -> SeedResult:
    """A seed's result from its pytest run's exit status and output."""
    summary = _SUMMARY.search(output)
    failure = _FAILURE.search(output)
    passed = returncode == 0 and " passed" in output
    text = "" if passed else (failure.group(1).strip() if failure else
                              output.strip().splitlines()[-1] if output.strip() else "")
    return SeedResult(seed, faults, passed, round(seconds, 1),
                      summary.group(0).strip() if summary else "", text[:300], returncode)


def run_seed(seed: int, faults: int, timeout: float) -> SeedResult:
    """Run the adversity test for ``seed`` in a pytest process of its own."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    test = [SOAK, "--soak"] if faults == 100 else [TEST, "--adversity-faults", str(faults)]
    cmd = [sys.executable, "-m", "pytest", *test, "-q", "-s", "-p", "no:cacheprovider",
           "--adversity-seed", str(seed)]
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout + 60, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return parse_output(seed, faults, -1, time.monotonic() - start,
                            out + f"\nE   no result within {timeout + 60:.0f} s")
    return parse_output(seed, faults, done.returncode, time.monotonic() - start,
                        done.stdout + done.stderr)


def run(args: argparse.Namespace) -> list[SeedResult]:
    """Every seed's result, in seed order (printing each as it ends)."""
    timeout = args.timeout or 120.0 + 15.0 * args.faults
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results: list[SeedResult] = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(lambda s: run_seed(s, args.faults, timeout), seeds):
            print(line(result), flush=True)
            results.append(result)
    return results


def line(r: SeedResult) -> str:
    """One seed's line of the report."""
    head = f"seed {r.seed:6d}: {'passed' if r.passed else 'FAILED'} in {r.seconds:6.0f} s"
    tail = f"  {r.summary}" if r.summary else ""
    return head + tail + ("" if r.passed else f"\n    {r.failure}")


def report(args: argparse.Namespace, results: list[SeedResult]) -> str:
    """The summary: the pass count, the failing seeds and how to rerun one."""
    passed = sum(r.passed for r in results)
    failed = [r.seed for r in results if not r.passed]
    lines = [f"adversity over {len(results)} seeds ({args.faults} faults each, "
             f"{args.jobs} at a time): {passed}/{len(results)} passed"]
    if failed:
        lines.append(f"failed seeds: {failed}; rerun one with: python -m pytest "
                     f"tests/adversity --adversity-seed {failed[0]} "
                     f"--adversity-faults {args.faults}")
    if results:
        mean = sum(r.seconds for r in results) / len(results)
        lines.append(f"mean wall time {mean:.0f} s a seed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    print(report(args, results))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
