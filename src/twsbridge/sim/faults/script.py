"""Fault scripts: timed faults for :meth:`FaultInjector.schedule`, from a file or a seed.

A script is a list of steps, each a fault kind at an offset in seconds from
the moment it is scheduled::

    FaultScript([FaultStep(1.5, "restart", {"down_seconds": 2.0})])
    FaultScript.random(seed=7, n=10, duration=300)   # seeded, reproducible
    FaultScript.load("faults.toml", seed=7)

Kinds and their parameters (``seconds``: how long the fault lasts):

======================  ======================================================
``drop_all``            (none): close every client connection
``stall``               ``seconds``: answer and stream nothing meanwhile
``connectivity_loss``   ``seconds``, ``data_lost`` (bool, default false): 1100,
                        then 1101 (subscriptions dropped) or 1102 (kept)
``restart``             ``down_seconds``: close everything, refuse connections,
                        listen again on the same port
``competing_session``   ``seconds``: 10197 on the live market-data lines, no
                        market data meanwhile
``client_id_in_use``    ``client_id``, ``seconds`` (optional: held until
                        released): connecting with that id gets 326
``message_rate``        ``seconds``, ``limit`` (int >= 1, default 5): the
                        message rate limit is ``limit`` per second per client
                        meanwhile: error 100 "Max rate of messages per second
                        has been exceeded:max=limit ...", a repeat disconnects
``historical_pacing``   ``seconds``: every reqHistoricalData is a pacing
                        violation meanwhile: 162 "Historical Market Data Service
                        error message:Historical data request pacing
                        violation" (420 for keepUpToDate)
``market_data_lines``   ``seconds``, ``lines`` (int >= 0, default 0): a new
                        reqMktData beyond ``lines`` open lines of the client
                        gets 101 "Max number of tickers has been reached"
                        meanwhile (open lines stay open)
======================  ======================================================

The three limit windows (``message_rate``, ``historical_pacing``,
``market_data_lines``) replace the normal limit (even a lifted one) while
open; overlapping windows of one kind: the tightest is in force.

File format (TOML, or JSON with the same structure; a JSON file may also be
just the list of steps)::

    seed = 7                       # optional; for [random]; --fault-seed wins
    faults = [
      {at = 1.5, fault = "restart", down_seconds = 2},
      {at = 10, fault = "connectivity_loss", seconds = 5, data_lost = true},
    ]
    # the same steps may be written as [[faults]] tables

    [random]                       # optional: n seeded random faults besides
    n = 5                          # how many
    duration = 60                  # at uniform random offsets in [0, duration)
    kinds = ["drop_all", "stall"]  # default: RANDOM_KINDS (the first five above)
    max_outage = 3                 # longest random fault duration, seconds
    client_id = 7                  # needed when kinds has client_id_in_use
                                   # (or client_ids = [7, 8]: one drawn per fault)
"""

from __future__ import annotations

import json
import random as _random
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ALL_KINDS", "DEFAULTS", "FAULT_KINDS", "RANDOM_KINDS", "FaultScript", "FaultStep"]

Param = float | bool | int

#: fault kind -> {parameter: (type, required)}
FAULT_KINDS: dict[str, dict[str, tuple[type, bool]]] = {
    "drop_all": {},
    "stall": {"seconds": (float, True)},
    "connectivity_loss": {"seconds": (float, True), "data_lost": (bool, False)},
    "restart": {"down_seconds": (float, True)},
    "competing_session": {"seconds": (float, True)},
    "client_id_in_use": {"client_id": (int, True), "seconds": (float, False)},
    "message_rate": {"seconds": (float, True), "limit": (int, False)},
    "historical_pacing": {"seconds": (float, True)},
    "market_data_lines": {"seconds": (float, True), "lines": (int, False)},
}
#: fault kind -> {optional parameter: its value when not given}
DEFAULTS: dict[str, dict[str, Param]] = {
    "connectivity_loss": {"data_lost": False},
    "message_rate": {"limit": 5},
    "market_data_lines": {"lines": 0},
}
ALL_KINDS: tuple[str, ...] = tuple(FAULT_KINDS)
"""Every fault kind."""
RANDOM_KINDS = ("drop_all", "stall", "connectivity_loss", "restart", "competing_session")
"""Kinds :meth:`FaultScript.random` draws from by default."""
_INT_MINIMUM = {("message_rate", "limit"): 1, ("market_data_lines", "lines"): 0}
_MIN_OUTAGE = 0.05


def _param(kind: str, name: str, value: Any, typ: type) -> Param:
    if typ is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{kind}: {name} must be true or false, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{kind}: {name} must be a number, not {value!r}")
    if typ is int:
        if not float(value).is_integer():
            raise ValueError(f"{kind}: {name} must be an integer, not {value!r}")
        low = _INT_MINIMUM.get((kind, name))
        if low is not None and value < low:
            raise ValueError(f"{kind}: {name} must be >= {low}, not {value!r}")
        return int(value)
    if not value >= 0:  # also NaN
        raise ValueError(f"{kind}: {name} must be >= 0, not {value!r}")
    return float(value)


def _client_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"a client id must be an integer, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class FaultStep:
    """One fault of a script: ``kind`` at ``at`` seconds with ``params``."""

    at: float
    kind: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = FAULT_KINDS.get(self.kind)
        if spec is None:
            raise ValueError(f"unknown fault {self.kind!r} (known: {', '.join(FAULT_KINDS)})")
        if isinstance(self.at, bool) or not isinstance(self.at, int | float) or self.at < 0:
            raise ValueError(f"{self.kind}: at must be a number >= 0, not {self.at!r}")
        unknown = set(self.params) - set(spec)
        if unknown:
            raise ValueError(f"{self.kind}: unknown parameter(s) {', '.join(sorted(unknown))}")
        checked: dict[str, Param] = {}
        for name, (typ, required) in spec.items():
            if name in self.params:
                checked[name] = _param(self.kind, name, self.params[name], typ)
            elif required:
                raise ValueError(f"{self.kind}: missing parameter {name}")
        object.__setattr__(self, "at", float(self.at))
        object.__setattr__(self, "params", checked)

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any]) -> FaultStep:
        """A step from ``{at = 1.5, fault = "restart", down_seconds = 2}``."""
        if not isinstance(entry, Mapping):
            raise ValueError(f"a fault step must be a table/object, not {entry!r}")
        if "fault" not in entry or "at" not in entry:
            raise ValueError(f"a fault step needs 'at' and 'fault': {dict(entry)!r}")
        params = {k: v for k, v in entry.items() if k not in ("at", "fault")}
        return cls(entry["at"], str(entry["fault"]), params)


@dataclass(frozen=True, slots=True, init=False)
class FaultScript:
    """Timed faults, sorted by time (ties keep their order)."""

    steps: tuple[FaultStep, ...] = ()

    def __init__(self, steps: Iterable[FaultStep] = ()) -> None:
        object.__setattr__(self, "steps", tuple(sorted(steps, key=lambda s: s.at)))

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def duration(self) -> float:
        """Offset of the last step (0 when empty)."""
        return self.steps[-1].at if self.steps else 0.0

    @classmethod
    def random(cls, seed: int, n: int, duration: float,
               kinds: Sequence[str] = RANDOM_KINDS, *, max_outage: float = 2.0,
               client_id: int | None = None, client_ids: Sequence[int] = ()) -> FaultScript:
        """``n`` faults of ``kinds`` at uniform random offsets in ``[0, duration)``,
        lasting up to ``max_outage`` seconds each; the same arguments always give
        the same script (times and durations rounded to milliseconds).

        Every random value comes from ``random.Random(seed)``: ``data_lost`` a
        coin toss, a ``message_rate`` ``limit`` in 1..10, ``market_data_lines``
        ``lines`` in 0..2. ``kinds`` may be :data:`ALL_KINDS`; a
        ``client_id_in_use`` fault holds ``client_id`` (or one of
        ``client_ids``, drawn), which must then be given.

        Raises:
            ValueError: a negative count or time, an unknown kind, or
                ``client_id_in_use`` in ``kinds`` without ``client_id``.
        """
        if n < 0 or duration < 0 or max_outage < 0:
            raise ValueError("n, duration and max_outage must be >= 0")
        if not kinds:
            raise ValueError("no fault kinds to draw from")
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}")
        if client_id is not None:
            if client_ids:
                raise ValueError("give client_id or client_ids, not both")
            client_ids = (client_id,)
        if "client_id_in_use" in kinds and not client_ids:
            raise ValueError("random client_id_in_use faults need the client id a stale "
                             "session holds: give client_id=N")
        rng = _random.Random(seed)
        low = min(_MIN_OUTAGE, max_outage)

        def length() -> float:
            return round(rng.uniform(low, max_outage), 3)

        steps = []
        for _ in range(n):
            at = round(rng.uniform(0.0, duration), 3)
            kind = kinds[rng.randrange(len(kinds))]
            params: dict[str, Param] = {}
            if kind == "restart":
                params["down_seconds"] = length()
            elif kind == "connectivity_loss":
                params["seconds"] = length()
                params["data_lost"] = rng.random() < 0.5
            elif kind == "client_id_in_use":
                params["client_id"] = client_ids[rng.randrange(len(client_ids))]
                params["seconds"] = length()
            elif kind == "message_rate":
                params["seconds"] = length()
                params["limit"] = rng.randint(1, 10)
            elif kind == "market_data_lines":
                params["seconds"] = length()
                params["lines"] = rng.randint(0, 2)
            elif kind != "drop_all":  # stall, competing_session, historical_pacing
                params["seconds"] = length()
            steps.append(FaultStep(at, kind, params))
        return cls(steps)

    @classmethod
    def parse(cls, data: Any, seed: int | None = None) -> FaultScript:
        """A script from a loaded TOML/JSON document (see the module doc);
        ``seed`` overrides the document's seed for its ``random`` part.

        Raises:
            ValueError: a malformed document, unknown fault or bad parameter.
        """
        if isinstance(data, list):
            data = {"faults": data}
        if not isinstance(data, Mapping):
            raise ValueError("a fault script is a list of steps or a table with 'faults'")
        unknown = set(data) - {"faults", "seed", "random"}
        if unknown:
            raise ValueError(f"unknown key(s) in fault script: {', '.join(sorted(unknown))}")
        entries = data.get("faults", [])
        if not isinstance(entries, list):
            raise ValueError("'faults' must be a list of steps")
        steps = [FaultStep.from_mapping(e) for e in entries]
        rand = data.get("random")
        if rand is not None:
            if not isinstance(rand, Mapping):
                raise ValueError("'random' must be a table")
            extra = set(rand) - {"n", "duration", "kinds", "max_outage", "client_id",
                                 "client_ids"}
            if extra:
                raise ValueError(f"unknown key(s) in 'random': {', '.join(sorted(extra))}")
            file_seed = data.get("seed", 0)
            if not isinstance(file_seed, int) or isinstance(file_seed, bool):
                raise ValueError(f"seed must be an integer, not {file_seed!r}")
            kinds = rand.get("kinds", RANDOM_KINDS)
            if isinstance(kinds, str) or not isinstance(kinds, list | tuple):
                raise ValueError(f"'random' kinds must be a list of fault kinds, not {kinds!r}")
            client_id = rand.get("client_id")
            try:
                steps += cls.random(
                    seed if seed is not None else file_seed, int(rand["n"]),
                    float(rand["duration"]), tuple(kinds),
                    max_outage=float(rand.get("max_outage", 2.0)),
                    client_id=None if client_id is None else _client_id(client_id),
                    client_ids=tuple(_client_id(c) for c in rand.get("client_ids", ()))).steps
            except KeyError as e:
                raise ValueError(f"'random' needs {e.args[0]!r}") from None
            except TypeError as e:
                raise ValueError(f"bad 'random' table: {e}") from None
        return cls(steps)

    @classmethod
    def load(cls, path: str | Path, seed: int | None = None) -> FaultScript:
        """Read a script from a ``.toml`` or ``.json`` file (by its suffix; other
        suffixes are tried as TOML, then JSON).

        Raises:
            OSError: the file cannot be read.
            ValueError: it is not a valid fault script.
        """
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"{p}: {e}") from None
        else:
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                if p.suffix.lower() == ".toml":
                    raise ValueError(f"{p}: {e}") from None
                try:
                    data = json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError(f"{p}: neither TOML nor JSON: {e}") from None
        try:
            return cls.parse(data, seed)
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None
