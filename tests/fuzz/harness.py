"""The two fuzz targets and their properties, shared by the hypothesis tests,
``fuzz/million.py`` and the atheris harnesses.

* :func:`run_client`: bytes from a "TWS" into a :class:`ClientConnection` that
  completed its handshake at one server version. Only :class:`ProtocolError`
  may come out; every event is a catalogued message or :class:`Unknown`; an
  error about a catalogued message id names that id and a field.
* :class:`SimTarget`: bytes from a "client" into a :class:`SimSession` after a
  real handshake. Nothing may come out of ``receive_data``/``poll``; no
  handler may fail (the session's last-resort ``except`` logs it: that counts
  as a bug); what the session writes back must decode; a session closed for
  a malformed request said so with error 320 first.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from dataclasses import dataclass, field

from twsbridge.protocol import ClientConnection, ProtocolError, ServerHello, Unknown, incoming
from twsbridge.protocol.spec import IN, registry
from twsbridge.sim import SimSession, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .corpus import frame

__all__ = ["ClientTarget", "FuzzBug", "SimTarget", "check_error", "client_at", "run_client"]

CONNECTION_TIME = "20231021 13:28:15 EST"
_IN_CLASSES = frozenset(registry(IN).values())
_IN_IDS = frozenset(str(k) for k in registry(IN))
_CLIENT_IDS = itertools.count(1)  # unique across targets that share a simulator


class FuzzBug(AssertionError):
    """A property of a fuzz target does not hold (not a ProtocolError)."""


def client_at(version: int) -> ClientConnection:
    """A client that completed the handshake with a TWS of ``version``."""
    conn = ClientConnection()
    conn.receive_data(frame(f"{version}\0{CONNECTION_TIME}\0".encode()))
    events = list(conn.events())
    assert events == [ServerHello(version, CONNECTION_TIME)], events
    conn.start_api(1)
    return conn


def check_error(e: ProtocolError) -> None:
    """An error about a catalogued message names its id and the field."""
    if e.msg_id is not None and not isinstance(e.msg_id, str):
        raise FuzzBug(f"msg_id {e.msg_id!r} is not a str: {e}")
    if e.msg_id in _IN_IDS and not e.field:
        raise FuzzBug(f"error on catalogued message {e.msg_id} names no field: {e}")
    if e.msg_id is not None and e.fields is not None and e.msg_id != e.fields[0]:
        raise FuzzBug(f"error on message {e.fields[0]} names id {e.msg_id!r}: {e}")


def _checked(conn: ClientConnection) -> int:
    """Drain the queued events, checking each; their number."""
    n = 0
    for ev in conn.events():
        if type(ev) not in _IN_CLASSES and not (type(ev) is Unknown and ev.msgId):
            raise FuzzBug(f"event {ev!r} is not a catalogued message nor Unknown")
        n += 1
    return n


def run_client(version: int, parts: list[bytes],
               conn: ClientConnection | None = None) -> tuple[str, int]:
    """Feed ``parts`` to a client at ``version``; returns ``("ok"|"protocol_error",
    number of messages decoded)``. Raises :class:`FuzzBug` or whatever escaped."""
    conn = conn if conn is not None else client_at(version)
    n = 0
    try:
        for part in parts:
            conn.receive_data(part)
            n += _checked(conn)
    except ProtocolError as e:
        check_error(e)
        return "protocol_error", n + _checked(conn)  # the frames before the bad one
    return "ok", n


class ClientTarget:
    """:func:`run_client` at one version, reusing the connection while the inputs
    end cleanly (no error, nothing buffered): a handshake costs more than a frame."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.conn: ClientConnection | None = None

    def run(self, parts: list[bytes]) -> tuple[str, int]:
        conn = self.conn if self.conn is not None else client_at(self.version)
        self.conn = None
        result = run_client(self.version, parts, conn)
        if result[0] == "ok" and not conn._reader.buffered:
            self.conn = conn
        return result


class _Failures(logging.Handler):
    """Keeps the records logged with an exception (a handler that failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


#: One handler for every target (the targets run one input at a time).
_FAILURES = _Failures()


@dataclass
class SimResult:
    """What one input did to a session."""

    outcome: str  #: served, tws_error, closed_320, closed (pre-handshake garbage)
    codes: Counter[int] = field(default_factory=Counter)


class SimTarget:
    """A simulator, and a session of it at ``version`` that completed startApi,
    renewed when it closes (or ends mid-frame), and the simulator every
    ``renew_every`` inputs so its state (orders, subscriptions) stays small."""

    def __init__(self, version: int, *, renew_every: int = 2000, stateful: bool = True,
                 sim: Simulator | None = None) -> None:
        self.version = version
        self.renew_every = renew_every
        self.stateful = stateful
        self.failures = _FAILURES
        logger = logging.getLogger("twsbridge.sim")
        if _FAILURES not in logger.handlers:
            logger.addHandler(_FAILURES)
        _FAILURES.records.clear()
        self.sim = sim if sim is not None else self._new_sim()
        self._inputs = 0
        self.session: SimSession | None = None
        self.client: ClientConnection | None = None

    def close(self) -> None:
        """Close the session."""
        if self.session is not None:
            self.session.close()

    @staticmethod
    def _new_sim() -> Simulator:
        """A simulator whose clock moves only when told; TWS's limits (message
        rate, historical pacing) count simulated seconds, so a run does not
        depend on the speed of the machine."""
        sim = Simulator(clock=SimClock(REPLAY_START, speed=0))
        sim.faults.wall_clock = lambda: sim.clock.now().timestamp()
        return sim

    def _open(self) -> tuple[SimSession, ClientConnection]:
        if self.session is not None and not self.session.closed and self.client is not None \
                and self.stateful:
            return self.session, self.client
        if self.session is not None:
            self.session.close()
        client_id = next(_CLIENT_IDS)
        session = SimSession(self.sim)
        client = ClientConnection(self.version, self.version)
        client.receive_data(session.receive_data(client.hello()))
        list(client.events())
        client.receive_data(session.receive_data(client.start_api(client_id)))
        list(client.events())
        assert session.client_id == client_id and not session.closed
        self.session, self.client = session, client
        return session, client

    def _answer(self, client: ClientConnection, data: bytes, codes: Counter[int]) -> list[object]:
        """Decode what the session wrote: it must be well-formed."""
        if not data:
            return []
        try:
            client.receive_data(data)
        except ProtocolError as e:
            raise FuzzBug(f"the simulator wrote a malformed frame: {e}") from e
        events = list(client.events())
        for ev in events:
            if isinstance(ev, incoming.ErrorMessage):
                codes[ev.errorCode] += 1
        return events

    def _raise_failures(self) -> None:
        if self.failures.records:
            rec = self.failures.records[0]
            self.failures.records.clear()
            assert rec.exc_info is not None
            raise FuzzBug(f"handler failed: {rec.getMessage()}") from rec.exc_info[1]

    def run(self, parts: list[bytes], poll_seconds: float = 2.0) -> SimResult:
        """Feed ``parts`` (then advance the clock and poll); the outcome."""
        self._inputs += 1
        if self._inputs % self.renew_every == 0:
            if self.session is not None:
                self.session.close()
            self.session = None
            self.sim = self._new_sim()
        session, client = self._open()
        codes: Counter[int] = Counter()
        events: list[object] = []
        for part in parts:
            events += self._answer(client, session.receive_data(part), codes)
            if session.closed:
                break
        if not session.closed:
            self.sim.clock.advance(poll_seconds)
            events += self._answer(client, session.poll(), codes)
        self._raise_failures()
        if session.closed:
            last = events[-1] if events else None
            if not (isinstance(last, incoming.ErrorMessage) and last.errorCode == 320):
                raise FuzzBug(f"session closed ({session.close_reason}) without error 320 "
                              f"last: {last!r}")
            return SimResult("closed_320", codes)
        if session.conn._reader.buffered:
            self.session = None  # the next input starts on a frame boundary
        return SimResult("tws_error" if codes else "served", codes)

    def run_hello(self, parts: list[bytes]) -> SimResult:
        """Feed ``parts`` to a new session, before any handshake."""
        session = SimSession(self.sim)
        try:
            for part in parts:
                session.receive_data(part)
                if session.closed:
                    break
            session.poll()
            self._raise_failures()
            return SimResult("closed" if session.closed else "open")
        finally:
            session.close()
