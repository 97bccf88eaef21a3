"""Length-prefixed framing: reassembly at any split, bad lengths, field splitting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twsbridge.protocol import ProtocolError
from twsbridge.protocol.framing import (
    _COMPACT_AT,
    MAX_FRAME_LENGTH,
    FrameReader,
    encode_frame,
    split_fields,
)

payloads = st.lists(st.binary(min_size=1, max_size=300), min_size=0, max_size=12)


def read_all(chunks: list[bytes], reader: FrameReader | None = None) -> list[bytes]:
    r = reader or FrameReader()
    out: list[bytes] = []
    for chunk in chunks:
        r.feed(chunk)
        out.extend(r.frames())
    return out


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


FIXED = [b"1\x006\x005\x001\x00101.5\x00300\x000\x00", b"9\x001\x00217\x00", b"x", b"\x00" * 70]


@pytest.mark.parametrize("cut", range(len(b"".join(encode_frame(p) for p in FIXED)) + 1))
def test_one_split_at_every_byte(cut: int) -> None:
    stream = b"".join(encode_frame(p) for p in FIXED)
    assert read_all([stream[:cut], stream[cut:]]) == FIXED


def test_one_byte_at_a_time() -> None:
    stream = b"".join(encode_frame(p) for p in FIXED)
    r = FrameReader()
    out: list[bytes] = []
    for k in range(len(stream)):
        r.feed(stream[k : k + 1])
        out.extend(r.frames())
    assert out == FIXED
    assert r.buffered == 0


@given(payloads, st.lists(st.integers(min_value=0), max_size=40))
def test_random_chunking_reassembles(items: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p) for p in items)
    chunks = chunked(stream, cuts)
    assert b"".join(chunks) == stream
    assert read_all(chunks) == items


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=6))
@settings(max_examples=50)
def test_every_split_point_of_random_payloads(items: list[bytes]) -> None:
    stream = b"".join(encode_frame(p) for p in items)
    for cut in range(len(stream) + 1):
        assert read_all([stream[:cut], stream[cut:]]) == items


def test_next_frame_needs_more_then_returns_once() -> None:
    r = FrameReader()
    assert r.next_frame() is None
    r.feed(b"\x00\x00\x00\x03ab")
    assert r.next_frame() is None
    assert r.buffered == 6
    r.feed(b"c")
    assert r.next_frame() == b"abc"
    assert r.next_frame() is None
    assert r.buffered == 0


def test_encode_frame_prefix() -> None:
    assert encode_frame(b"9\x001\x00217\x00") == b"\x00\x00\x00\x089\x001\x00217\x00"
    with pytest.raises(ProtocolError):
        encode_frame(b"x" * (MAX_FRAME_LENGTH + 1))


@pytest.mark.parametrize(
    "prefix", [b"\x00\x00\x00\x00", (MAX_FRAME_LENGTH + 1).to_bytes(4, "big"), b"\xff\xff\xff\xff"]
)
def test_bad_length_breaks_the_reader_for_good(prefix: bytes) -> None:
    r = FrameReader()
    r.feed(encode_frame(b"ok\x00") + prefix + encode_frame(b"after\x00"))
    assert r.next_frame() == b"ok\x00"
    with pytest.raises(ProtocolError, match="bad frame length"):
        r.next_frame()
    # the stream has lost its framing: every later read fails, even with good bytes
    r.feed(encode_frame(b"more\x00"))
    for _ in range(3):
        with pytest.raises(ProtocolError):
            r.next_frame()
    with pytest.raises(ProtocolError):
        list(r.frames())


def test_max_length_is_configurable() -> None:
    r = FrameReader(max_length=10)
    r.feed(encode_frame(b"0123456789"))
    assert r.next_frame() == b"0123456789"
    r.feed(encode_frame(b"0123456789A"))
    with pytest.raises(ProtocolError):
        r.next_frame()


def test_bad_length_is_detected_before_the_body_arrives() -> None:
    r = FrameReader(max_length=100)
    r.feed((101).to_bytes(4, "big"))
    with pytest.raises(ProtocolError):
        r.next_frame()


def test_peek_and_skip_for_the_greeting() -> None:
    r = FrameReader()
    r.feed(b"API\x00" + encode_frame(b"v157..178"))
    assert r.peek(4) == b"API\x00"
    assert r.buffered == 4 + 4 + 9
    r.skip(4)
    assert r.next_frame() == b"v157..178"
    r.skip(100)  # never past the end
    assert r.buffered == 0


# ------------------------------------------------------------------ compaction


def test_consumed_bytes_are_released_when_fed_frame_by_frame() -> None:
    """Feeding N frames one by one keeps the buffer at about one frame, not N."""
    frame = encode_frame(b"1\x006\x005\x001\x00101.5\x00300\x000\x00")
    r = FrameReader()
    peak = 0
    for _ in range(10_000):
        r.feed(frame)
        assert r.next_frame() is not None
        peak = max(peak, len(r._buf))
    assert peak <= len(frame)
    assert r.buffered == 0


def test_buffer_is_compacted_when_a_partial_frame_trails() -> None:
    """Frames followed by half a frame each time: the consumed prefix is dropped."""
    frame = encode_frame(b"x" * 1000 + b"\x00")
    r = FrameReader()
    r.feed(frame[:500])
    peak = 0
    for _ in range(2_000):  # 2 MB through the reader
        r.feed(frame[500:] + frame[:500])
        assert r.next_frame() is not None
        assert r.next_frame() is None
        peak = max(peak, len(r._buf))
    assert r.buffered == 500
    assert peak <= 2 * _COMPACT_AT + 2 * len(frame)


def test_positions_advance_without_copying_the_buffer() -> None:
    """Reading the frames of one big chunk walks an offset; the buffer is not rebuilt."""
    frame = encode_frame(b"abc\x00")
    r = FrameReader()
    r.feed(frame * 1000)
    buf = r._buf
    size = len(buf)
    for _ in range(1000):
        assert r.next_frame() == b"abc\x00"
        assert r._buf is buf and len(buf) == size  # no del buf[:n] per frame
    r.feed(b"")
    assert len(r._buf) == 0


# ------------------------------------------------------------------ split_fields


def test_split_fields_keeps_the_final_empty_item() -> None:
    assert split_fields(b"9\x001\x00217\x00") == ["9", "1", "217", ""]
    assert split_fields(b"4\x002\x00-1\x00\x00") == ["4", "2", "-1", "", ""]
    assert split_fields("1\0Zürich\0".encode()) == ["1", "Zürich", ""]


@pytest.mark.parametrize("payload", [b"9\x001\x00217", b"abc", b"\x00abc"])
def test_split_fields_needs_a_nul_terminator(payload: bytes) -> None:
    with pytest.raises(ProtocolError, match="NUL"):
        split_fields(payload)


@pytest.mark.parametrize("payload", [b"4\x00\xff\xfe\x00", b"1\x00\xc3\x00", b"\x80\x00"])
def test_split_fields_needs_utf8(payload: bytes) -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        split_fields(payload)


@given(st.lists(st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))))
def test_split_fields_inverts_joining(fields: list[str]) -> None:
    payload = "".join(f + "\0" for f in fields).encode()
    assert split_fields(payload) == [*fields, ""]
