"""Coverage-guided fuzz of the simulator's request decoder and handlers, with atheris.

    nice -n 10 .venv/bin/python fuzz/atheris_sim.py -atheris_runs=1000000 -max_total_time=900

An input is one control byte (the server version; before or after the
handshake; where the stream is cut into reads) then the bytes a client sends.
After the handshake each input goes to a new :class:`SimSession` of one
simulator (renewed every 5000 inputs), whose clock then moves 2 s and which is
polled. The property is :class:`tests/fuzz/harness.SimTarget`'s: nothing
comes out of ``receive_data``/``poll``, no handler fails (logged with an
exception), what the session writes decodes, a session closed for a malformed
request said 320 first. A failure is a crash that atheris reports and saves
(``crash-*``). Seeds: every request the simulator serves, at every version,
realistic and absurd, plus the wire cases; written to a temporary corpus
directory when none is given.

atheris is optional (``pip install atheris``, or the ``fuzz`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from atheris_client import (  # fuzz/ is sys.path[0]
    fuzz,
    instrument_decoders,
    load_atheris,
    split,
)

HELLO_MODE = 7  # (control >> 3) % 8 == 7: the bytes go to a session before its handshake


def main() -> None:
    atheris = load_atheris()
    with atheris.instrument_imports(include=["twsbridge.protocol", "twsbridge.sim"]):
        import twsbridge.sim  # noqa: F401  (instrumented before the harness imports it)
        from twsbridge.protocol import spec
        from twsbridge.protocol.spec import OUT, registry

    from fuzz import corpus
    from fuzz.harness import SimTarget

    versions = corpus.VERSIONS
    targets = {v: SimTarget(v, stateful=False, renew_every=5000) for v in versions}
    for v in versions:
        targets[v].run([corpus.frame(b"49\x001\x00")])  # compiles the codecs of v
        instrument_decoders(atheris, spec, registry(OUT).values(), v)

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        target = targets[versions[data[0] % len(versions)]]
        parts = split(data[0], data[1:])
        if (data[0] >> 3) % 8 == HELLO_MODE:
            target.run_hello(parts)
        else:
            target.run(parts)

    fuzz(atheris, "sim", versions,
         lambda v, rng: corpus.request_seeds(v, rng, per_class=4), test_one_input)


if __name__ == "__main__":
    main()
