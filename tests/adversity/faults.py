"""The adversity run's fault script: seeded, every kind of TWS fault, spread over the run.

Kinds are dealt round-robin from a seeded shuffle of :data:`ADVERSITY_KINDS`
(so every kind comes up ``n // len(kinds)`` times or more), at evenly spaced
offsets with seeded jitter; their durations are drawn from the same RNG.
``client_id_in_use`` holds the client id of the service or of the direct
client, and is followed by a ``drop_all`` (counted as a fault of its own) so
that the reconnect meets the 326.
"""

from __future__ import annotations

import random
from collections import Counter

from twsbridge.sim.faults.script import FAULT_KINDS, FaultScript, FaultStep

#: (kind, fixed parameters): connectivity loss comes as both 1101 and 1102
ADVERSITY_KINDS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("drop_all", {}),
    ("stall", {}),
    ("connectivity_loss", {"data_lost": False}),
    ("connectivity_loss", {"data_lost": True}),
    ("restart", {}),
    ("competing_session", {}),
    ("client_id_in_use", {}),
    ("message_rate", {}),
    ("historical_pacing", {}),
    ("market_data_lines", {}),
)


def available_kinds() -> list[tuple[str, dict[str, bool]]]:
    """The kinds of :data:`ADVERSITY_KINDS` this simulator can inject."""
    return [(k, p) for k, p in ADVERSITY_KINDS if k in FAULT_KINDS]


def adversity_script(seed: int, n: int, duration: float, client_ids: tuple[int, ...],
                     max_outage: float = 2.5) -> FaultScript:
    """``n`` faults (the ``drop_all`` after each ``client_id_in_use`` included)
    over ``duration`` seconds."""
    rng = random.Random(seed)
    kinds = available_kinds()
    deck: list[tuple[str, dict[str, bool]]] = []
    steps: list[FaultStep] = []
    spacing = duration / max(n, 1)
    i = 0
    while len(steps) < n:
        if not deck:
            deck = list(kinds)
            rng.shuffle(deck)
        kind, fixed = deck.pop()
        at = round(i * spacing + rng.uniform(0, spacing * 0.6), 3)
        outage = round(rng.uniform(0.2, max_outage), 3)
        i += 1
        if kind == "drop_all":
            steps.append(FaultStep(at, kind, {}))
        elif kind == "restart":
            steps.append(FaultStep(at, kind, {"down_seconds": outage}))
        elif kind == "client_id_in_use":
            if len(steps) + 2 > n:
                continue
            cid = rng.choice(client_ids)
            steps.append(FaultStep(at, kind, {"client_id": cid, "seconds": outage + 1.0}))
            steps.append(FaultStep(round(at + 0.1, 3), "drop_all", {}))
        elif kind == "message_rate":
            steps.append(FaultStep(at, kind, {"seconds": outage, "limit": rng.randint(1, 10)}))
        elif kind == "market_data_lines":
            steps.append(FaultStep(at, kind, {"seconds": outage, "lines": rng.randint(0, 2)}))
        else:
            steps.append(FaultStep(at, kind, {"seconds": outage, **fixed}))
    return FaultScript(steps[:n])


def describe(script: FaultScript) -> str:
    """``kind xcount`` of a script, most frequent first."""
    names = Counter(
        f"{s.kind}({'1101' if s.params.get('data_lost') else '1102'})"
        if s.kind == "connectivity_loss" else s.kind
        for s in script.steps
    )
    return ", ".join(f"{k} x{c}" for k, c in names.most_common())
