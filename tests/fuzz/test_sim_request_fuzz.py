"""Fuzz of the simulator's request decoder: :class:`SimSession` after a real
handshake, fed mutated and absurd requests.

Nothing comes out of ``receive_data``/``poll``; no handler fails (the
session's last-resort ``except`` would log it: the harness counts that as a
bug); a malformed request is answered with error 320 and the session closes;
a well-formed request with absurd values is served or refused with a TWS code,
and the session stays open.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import ClientConnection, Contract, encode_message, incoming, outgoing
from twsbridge.protocol.spec import OUT, Message, registry
from twsbridge.sim.gateway.requests import REQUESTS

from . import corpus
from .harness import SimTarget

SEEDS = {v: corpus.request_seeds(v, random.Random(v), per_class=2) for v in corpus.VERSIONS}
FUZZ = settings(max_examples=600, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
versions = st.sampled_from(corpus.VERSIONS)
rngs = st.randoms(use_true_random=False)
OUT_CLASSES = sorted(registry(OUT).values(), key=lambda c: c.ID)


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[int, SimTarget]]:
    """One simulator per version; a new session for every example."""
    made = {v: SimTarget(v, stateful=False) for v in corpus.VERSIONS}
    yield made
    for t in made.values():
        t.close()


@FUZZ
@given(versions, rngs, st.data())
def test_mutated_requests_never_escape(targets: dict[int, SimTarget], version: int,
                                       rng: random.Random, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS[version]))
    stream, _ = corpus.mutate(seed, rng, SEEDS[version])
    targets[version].run(corpus.chunks(stream, rng) or [seed])


@FUZZ
@given(versions, rngs, st.sampled_from(OUT_CLASSES), st.booleans())
def test_well_formed_absurd_requests_get_a_tws_answer(targets: dict[int, SimTarget],
                                                      version: int, rng: random.Random,
                                                      cls: type[Message], template: bool) -> None:
    """Negative sizes, NaN prices, unknown conIds, huge ids, garbage enums: each
    request is served or refused with a TWS code; never a read error (320)."""
    msg = corpus.request(cls, version, rng) if template else \
        corpus.random_message(cls, version, rng, rng.random() < 0.5)
    result = targets[version].run([encode_message(msg, version)])
    assert result.outcome in ("served", "tws_error"), (result, msg)
    assert 320 not in result.codes


def test_every_served_request_kind_is_answered_cleanly(targets: dict[int, SimTarget]) -> None:
    """The templates (the corpus's well-formed requests) are served, not refused,
    at every version: the fuzz starts from requests that reach the handlers' depth."""
    refused = {}
    for v in corpus.VERSIONS:
        for cls, make in corpus.TEMPLATES.items():
            result = targets[v].run([encode_message(make(random.Random(3)), v)])
            if result.outcome != "served" and cls not in (
                    outgoing.CancelHistoricalData, outgoing.CancelOrder):  # 366/10147: nothing
                refused[(v, cls.NAME)] = result.codes  # to cancel in a new session
    assert refused == {}


def _reqid_fields() -> list[tuple[type[Message], int]]:
    """(class, wire index of its reqId/orderId) for the catalogued requests."""
    out = []
    for cls in OUT_CLASSES:
        entry = REQUESTS.get(cls.ID)
        if entry is not None and entry[1] is not None:
            out.append((cls, 1 + entry[1]))
    return out


@pytest.mark.parametrize("junk", [b"abc", b"1.5", b"0x1f", b"nan", b"9" * 5000, b"\xff"])
@pytest.mark.parametrize(("cls", "index"), _reqid_fields(), ids=lambda x: getattr(x, "NAME", x))
def test_non_numeric_id_is_error_320_then_close(targets: dict[int, SimTarget],
                                                cls: type[Message], index: int,
                                                junk: bytes) -> None:
    make = corpus.TEMPLATES.get(cls, lambda r: cls())
    fields = encode_message(make(random.Random(1)), 176)[4:].split(b"\0")
    fields[index] = junk
    result = targets[176].run([corpus.frame(b"\0".join(fields))])
    assert result.outcome == "closed_320"
    assert set(result.codes) == {320}


@pytest.mark.parametrize(("payload", "closed"), [
    (b"999\x001\x00", False),  # an id TWS does not know: 503, the session goes on
    (b"52\x002\x0042\x00", False),  # reqFundamentalData, not simulated: 503
    (b"99999999999\x001\x00", True),  # not an int: 320
    (b"9" * 5000 + b"\x001\x00", True),  # regression: int() of 5000 digits escaped
    (b"-3\x001\x00", True),
])
def test_unknown_and_bad_message_ids(targets: dict[int, SimTarget], payload: bytes,
                                     closed: bool) -> None:
    result = targets[178].run([corpus.frame(payload)])
    assert result.outcome == ("closed_320" if closed else "tws_error")
    assert set(result.codes) == ({320} if closed else {503})


@FUZZ
@given(st.binary(max_size=48) | st.sampled_from([b"API\0", b"API\0\0\0\0\x05v1..2"]), rngs)
def test_garbage_before_the_handshake_never_escapes(targets: dict[int, SimTarget], junk: bytes,
                                                    rng: random.Random) -> None:
    targets[178].run_hello(corpus.chunks(junk, rng))
    hello = ClientConnection().hello()
    mutated, _ = corpus.mutate(hello[4:], rng, [hello[4:]])
    targets[178].run_hello(corpus.chunks(b"API\0" + mutated, rng))


@pytest.mark.parametrize(("hello", "outcome"), [
    (b"GET / HTTP/1.1\r\n\r\n", "closed"),
    (b"API\0" + corpus.frame(b"v" + b"9" * 5000), "closed"),  # regression: int() escaped
    (b"API\0" + corpus.frame("v\u0661\u0665\u0667..\u0661\u0667\u0668".encode()), "closed"),
    (b"API\0" + corpus.frame(b"v100..120"), "closed"),  # a range no one serves
    (b"API\0" + corpus.frame(b"v157..178"), "open"),
    (b"API\0\0\0\0\0", "closed"),  # a length of 0
    (b"API\0", "open"),  # waits for the rest
])
def test_handshake_garbage_closes_the_session(targets: dict[int, SimTarget], hello: bytes,
                                              outcome: str) -> None:
    assert targets[178].run_hello([hello]).outcome == outcome


def test_a_garbage_session_does_not_disturb_another() -> None:
    """In process: one session streams AAPL ticks, another sends garbage and is
    closed with 320; the first keeps its ticks and its requests."""
    target = SimTarget(178, stateful=True)
    try:
        good, good_client = target._open()
        aapl = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
        good_client.receive_data(good.receive_data(
            good_client.send(outgoing.ReqMktData(reqId=1, contract=aapl))))
        assert any(isinstance(e, incoming.TickPrice) for e in good_client.events())
        bad = SimTarget(178, sim=target.sim)
        result = bad.run([corpus.frame(b"1\x0011\x00x\x00")])
        assert result.outcome == "closed_320" and bad.session is not None
        assert bad.session.closed and not good.closed
        target.sim.clock.advance(5)
        good_client.receive_data(good.poll())
        assert any(isinstance(e, incoming.TickPrice) for e in good_client.events())
        good_client.receive_data(good.receive_data(good_client.send(outgoing.ReqCurrentTime())))
        assert incoming.CurrentTime in [type(e) for e in good_client.events()]
    finally:
        target.close()
