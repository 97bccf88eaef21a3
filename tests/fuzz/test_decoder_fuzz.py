"""Fuzz of the client's decoder: frames as TWS sends them, broken on purpose.

Whatever the bytes, :class:`ClientConnection` raises nothing but ProtocolError;
what it decodes is a catalogued message or Unknown; an error about a
catalogued message names its id and the field at fault. The long campaigns
(a million frames, atheris) are in ``fuzz/`` at the repository root.
"""

from __future__ import annotations

import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import ClientConnection, ProtocolError, decode_message, encode_frame
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.spec import IN, registry

from . import corpus
from .harness import ClientTarget, client_at, run_client

SEEDS = {v: corpus.incoming_seeds(v, random.Random(v), per_class=2) for v in corpus.VERSIONS}
RECORDED = frozenset(corpus.recording_frames())
#: Seeds whose message id is catalogued and whose frame decodes as it is.
CATALOGUED = {
    v: [f for f in frames if f[4:].split(b"\0", 1)[0].decode() in {str(k) for k in registry(IN)}]
    for v, frames in SEEDS.items()
}
FUZZ = settings(max_examples=800, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
versions = st.sampled_from(corpus.VERSIONS)
rngs = st.randoms(use_true_random=False)


def test_seeds_cover_the_recording_and_every_incoming_message() -> None:
    assert len(SEEDS[176]) >= len(corpus.recording_frames()) + 2 * len(registry(IN))
    for v, frames in SEEDS.items():
        ids = {f[4:].split(b"\0", 1)[0].decode() for f in frames}
        assert {str(k) for k in registry(IN)} <= ids, v
        # seeds are well-formed: they decode (the recording's at its own version, 176)
        own = [f for f in frames if f not in RECORDED or v == 176]
        assert run_client(v, own) == ("ok", len(own))


@FUZZ
@given(versions, rngs, st.data())
def test_mutated_frames_raise_only_protocol_error(version: int, rng: random.Random,
                                                  data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS[version]))
    stream, _ = corpus.mutate(seed, rng, SEEDS[version])
    run_client(version, corpus.chunks(stream, rng))  # FuzzBug or anything else fails


@FUZZ
@given(versions, st.binary(max_size=64), rngs)
def test_random_bytes_raise_only_protocol_error(version: int, junk: bytes,
                                                rng: random.Random) -> None:
    run_client(version, corpus.chunks(junk, rng))
    run_client(version, corpus.chunks(encode_frame(junk) if junk else b"\0", rng))


@settings(FUZZ, max_examples=300)
@given(versions, rngs, st.data())
def test_a_split_stream_decodes_as_the_whole(version: int, rng: random.Random,
                                             data: st.DataObject) -> None:
    """Frames glued then cut at random points give the same events and the same
    error as the stream in one read: the reader keeps no state across cuts."""
    frames = data.draw(st.lists(st.sampled_from(SEEDS[version]), min_size=1, max_size=5))
    k = data.draw(st.integers(0, len(frames) - 1))
    if data.draw(st.booleans()):  # break one frame, keeping the framing
        name = data.draw(st.sampled_from(corpus.FRAMED))
        frames[k] = corpus.MUTATIONS[name](frames[k], rng, frames[0])
    stream = b"".join(frames)
    whole, cut = client_at(version), client_at(version)
    outcome_whole = run_client(version, [stream], whole)
    outcome_cut = run_client(version, corpus.chunks(stream, rng) or [stream], cut)
    assert outcome_whole == outcome_cut


@FUZZ
@given(versions, rngs, st.data())
def test_a_broken_field_is_named_with_its_message_id(version: int, rng: random.Random,
                                                     data: st.DataObject) -> None:
    """One field (not the id) of a catalogued frame replaced by junk, non-UTF-8 or
    cut short: the error names the frame's id and a field."""
    seed = data.draw(st.sampled_from(CATALOGUED[version]))
    fields = seed[4:].split(b"\0")
    if len(fields) < 3:
        return
    k = data.draw(st.integers(1, len(fields) - 2))
    junk = data.draw(st.sampled_from(corpus.NASTY) | st.binary(min_size=1, max_size=6))
    fields[k] = junk.replace(b"\0", b"")
    payload = b"\0".join(fields)
    if data.draw(st.booleans()):
        payload = payload[: data.draw(st.integers(len(fields[0]) + 1, len(payload) - 1))]
    try:
        client_at(version).receive_data(encode_frame(payload))
    except ProtocolError as e:
        assert e.msg_id == fields[0].decode(), e
        assert e.field, e


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"1\x006\x005\x001\x00\xff\x00100\x000\x00", "price"),  # not UTF-8
        (b"1\x006\x005\x001\x001.5\x001", "size"),  # cut inside the last field
        (b"9\x001\x002", "orderId"),
        (b"17\x003\x00a\x00b\x002\x00d\x00\xc3\x00", "open"),  # inside a bar
        (b"9\x001\x002\x00\xff\x00", "#3"),  # past the layout: only its index
    ],
)
def test_framing_errors_name_the_field(payload: bytes, field: str) -> None:
    """Regression: a frame that is not UTF-8 or not NUL-terminated raised an error
    without the message id or the field (found by the fuzz)."""
    with pytest.raises(ProtocolError) as e:
        client_at(176).receive_data(encode_frame(payload))
    assert (e.value.msg_id, e.value.field) == (payload.split(b"\0")[0].decode(), field)
    with pytest.raises(ProtocolError) as again:
        decode_message(payload, 176)
    assert (again.value.msg_id, again.value.field) == (e.value.msg_id, e.value.field)


@pytest.mark.parametrize("payload", [b"\xff\x00", b"9", b"\x00"])
def test_framing_errors_without_an_id_name_none(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as e:
        client_at(176).receive_data(encode_frame(payload))
    assert e.value.msg_id is None


def test_a_huge_message_id_is_unknown_not_a_crash() -> None:
    """Regression: ``decode_message`` and ``Unknown.ID`` ran int() on an id of
    5000 digits (ValueError past Python's 4300-digit limit)."""
    payload = b"9" * 5000 + b"\x001\x00"
    msg = decode_message(payload, 176)
    assert msg.ID == -1
    assert run_client(176, [encode_frame(payload)]) == ("ok", 1)


def test_a_long_junk_field_is_shortened_in_the_error() -> None:
    with pytest.raises(ProtocolError) as e:
        client_at(176).receive_data(encode_frame(b"9\x001\x00" + b"x" * 70000 + b"\x00"))
    assert e.value.field == "orderId"
    assert len(str(e.value)) < 400
    assert "(70000 characters)" in str(e.value)


def test_the_client_target_reuses_a_clean_connection() -> None:
    target = ClientTarget(176)
    good = corpus.frame(b"9\x001\x003\x00")
    assert target.run([good]) == ("ok", 1)
    conn = target.conn
    assert isinstance(conn, ClientConnection)
    assert target.run([good[:5]]) == ("ok", 0)  # a frame cut short: not reused
    assert target.conn is None
    assert target.run([good]) == ("ok", 1)
    assert target.conn is not conn


@pytest.mark.parametrize("size", [b"sNaN", b"-sNaN", b"1E+999999999", b"1E-1001", b"0E-5000"])
def test_sizes_that_would_explode_later_are_malformed(size: bytes) -> None:
    """Was: decoded to Decimal('sNaN') (raises on ``==``) or 1E+999999999 (any
    arithmetic overflows; plain text a gigabyte): the size field is refused."""
    with pytest.raises(ProtocolError) as e:
        client_at(176).receive_data(encode_frame(b"2\x001\x005\x000\x00" + size + b"\x00"))
    assert (e.value.msg_id, e.value.field) == ("2", "size")
    ok = decode_message(b"2\x001\x005\x000\x001E+1000\x00", 176)
    assert isinstance(ok, I.TickSize) and ok.size == Decimal("1E+1000")


@pytest.mark.parametrize("script", ["atheris_client.py", "atheris_sim.py"])
def test_the_atheris_harnesses_say_when_atheris_is_missing(script: str) -> None:
    """atheris is optional: without it a harness stops with a clear message."""
    fuzz_dir = Path(__file__).resolve().parents[2] / "fuzz"
    code = ("import sys, runpy; sys.modules['atheris'] = None; "
            f"sys.path.insert(0, {str(fuzz_dir)!r}); sys.argv = [{script!r}]; "
            f"runpy.run_path({str(fuzz_dir / script)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "atheris is not installed" in done.stderr
