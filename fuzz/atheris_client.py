"""Coverage-guided fuzz of the client's decoder (frames as TWS sends them), with atheris.

    nice -n 10 .venv/bin/python fuzz/atheris_client.py -atheris_runs=1000000 -max_total_time=900

An input is one control byte (the server version, and where the stream is cut
into reads) then the bytes a TWS would send after the handshake. The property
is :func:`tests/fuzz/harness.run_client`'s: nothing but ProtocolError comes
out, events are catalogued messages or Unknown, an error about a catalogued
message names its id and field; anything else is a crash that atheris
reports (with the input saved as ``crash-*``; ``-artifact_prefix=DIR/`` puts it
elsewhere). Without a corpus directory among the arguments, the seeds (the
recording, the wire cases, random messages of every class) are written to a
temporary one. libFuzzer's flags all apply (``-help=1``).

atheris is optional (``pip install atheris``, or the ``fuzz`` extra); it needs
a clang/libFuzzer build for some platforms, so nothing else depends on it.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def load_atheris() -> Any:
    """The atheris module; exits with a clear message when it is not installed."""
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: `pip install atheris` (or the project's "
                 "`fuzz` extra). fuzz/million.py fuzzes the same decoders without it.")
    return atheris


def split(control: int, stream: bytes) -> list[bytes]:
    """The reads: the stream cut at 0-3 points chosen by the control byte's top bits."""
    if control < 0x40 or len(stream) < 2:
        return [stream] if stream else []
    rng = random.Random(control)
    cuts = sorted({rng.randrange(1, len(stream)) for _ in range(control >> 6)})
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def write_seeds(directory: Path, versions: tuple[int, ...], seeds: dict[int, list[bytes]]) -> int:
    n = 0
    for k, v in enumerate(versions):
        for frame in seeds[v]:
            (directory / f"seed-{n:05d}").write_bytes(bytes([k]) + frame)
            n += 1
    return n


def instrument_decoders(atheris: Any, spec: Any, classes: Any, version: int) -> None:
    """Let atheris see the generated decoders of ``classes`` at ``version`` (compiled
    at run time, so its import hook does not)."""
    for cls in classes:
        decode = cls.codec(version)[0]
        for fn in {decode, decode.__globals__.get("_slow", decode), spec._traced(cls, version)}:
            atheris.instrument_func(fn)


def fuzz(atheris: Any, name: str, versions: tuple[int, ...],
         seeds: Callable[[int, random.Random], list[bytes]],
         test_one_input: Callable[[bytes], None]) -> None:
    """Run atheris on ``test_one_input``; with no corpus folder given, a fresh
    one seeded from ``seeds(version, rng)`` for each of ``versions``."""
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        seed_dir = Path(tempfile.mkdtemp(prefix=f"twsbridge-atheris-{name}-"))
        rng = random.Random(1)
        n = write_seeds(seed_dir, versions, {v: seeds(v, rng) for v in versions})
        print(f"{n} seed inputs in {seed_dir}", file=sys.stderr)
        argv.append(str(seed_dir))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def main() -> None:
    atheris = load_atheris()
    with atheris.instrument_imports(include=["twsbridge.protocol"]):
        from twsbridge.protocol import spec
        from twsbridge.protocol.spec import IN, registry

    from fuzz import corpus
    from fuzz.harness import client_at, run_client

    versions = corpus.VERSIONS
    for v in versions:
        client_at(v)  # compiles the decoders of v, then instrument the generated code
        instrument_decoders(atheris, spec, registry(IN).values(), v)

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        run_client(versions[data[0] % len(versions)], split(data[0], data[1:]))

    fuzz(atheris, "client", versions,
         lambda v, rng: corpus.incoming_seeds(v, rng, per_class=3), test_one_input)


if __name__ == "__main__":
    main()
