"""Length-prefixed framing of the TWS socket protocol.

Every message after the initial ``API\\0`` greeting is a 4-byte big-endian
length followed by that many bytes of payload. :class:`FrameReader` walks an
offset over its buffer, so the cost of reading N frames does not grow with the
size of the reads, and it accepts frames split at any byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from .errors import ProtocolError

__all__ = ["MAX_FRAME_LENGTH", "FrameReader", "encode_frame", "split_fields"]

#: The largest payload TWS and IB's clients accept (``MAX_MSG_LEN``, 16 MiB - 1).
MAX_FRAME_LENGTH = 0xFFFFFF

_COMPACT_AT = 1 << 16

_unpack_length = struct.Struct(">I").unpack_from


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its 4-byte big-endian length.

    Raises:
        ProtocolError: if the payload is longer than :data:`MAX_FRAME_LENGTH`.
    """
    n = len(payload)
    if n > MAX_FRAME_LENGTH:
        raise ProtocolError(f"frame of {n} bytes exceeds the maximum of {MAX_FRAME_LENGTH}")
    return n.to_bytes(4, "big") + payload


def split_fields(payload: bytes) -> list[str]:
    """Split a text-protocol payload into its fields (UTF-8, NUL-terminated).

    The returned list keeps the final empty string after the last NUL, so a
    payload of N fields gives N + 1 items; decoders rely on that.

    Raises:
        ProtocolError: on a payload that is not UTF-8 or not NUL-terminated; it
        names the message id (the first field, when it is whole) and the index
        of the field at fault (``"#3"``); the connections replace the index by
        the field's name for a catalogued message.
    """
    try:
        text = payload.decode()
    except UnicodeDecodeError as e:
        head = payload[: e.start].decode().split("\0")
        k = len(head) - 1  # the field holding the bad byte
        raise ProtocolError(
            f"frame is not valid UTF-8 at byte {e.start}", msg_id=head[0] if k else None,
            field=f"#{k}", fields=payload.decode("utf-8", "backslashreplace").split("\0"),
        ) from None
    fields = text.split("\0")
    if fields[-1] != "":
        k = len(fields) - 1
        raise ProtocolError("frame does not end with a NUL terminator",
                            msg_id=fields[0] if k else None, field=f"#{k}", fields=fields)
    return fields


class FrameReader:
    """Incremental reader of length-prefixed frames.

    ``feed(data)`` appends bytes; iterating ``frames()`` yields each complete
    payload (``bytes``) once. A length of zero or above ``max_length`` raises
    :class:`ProtocolError` and leaves the reader unusable (the stream has lost
    its framing; the only safe thing is to close the connection).
    """

    __slots__ = ("_broken", "_buf", "_pos", "max_length")

    def __init__(self, max_length: int = MAX_FRAME_LENGTH) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._broken = False
        self.max_length = max_length

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        pos = self._pos
        if pos:
            if pos == len(self._buf):
                self._buf.clear()
                self._pos = 0
            elif pos >= _COMPACT_AT and pos * 2 >= len(self._buf):
                del self._buf[:pos]
                self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buf) - self._pos

    def peek(self, n: int) -> bytes:
        """The next ``n`` buffered bytes, without consuming them."""
        return bytes(self._buf[self._pos : self._pos + n])

    def skip(self, n: int) -> None:
        """Consume ``n`` buffered bytes that are not framed (the ``API\\0`` greeting)."""
        self._pos = min(self._pos + n, len(self._buf))

    def next_frame(self) -> bytes | None:
        """Return the next complete payload, or None if more bytes are needed."""
        if self._broken:
            raise ProtocolError("stream framing was lost earlier")
        buf = self._buf
        pos = self._pos
        end = len(buf)
        if end - pos < 4:
            return None
        (n,) = _unpack_length(buf, pos)
        if n == 0 or n > self.max_length:
            self._broken = True
            raise ProtocolError(f"bad frame length {n} (allowed 1..{self.max_length})")
        start = pos + 4
        stop = start + n
        if stop > end:
            return None
        self._pos = stop
        return bytes(buf[start:stop])

    def frames(self) -> Iterator[bytes]:
        """Yield every complete payload now buffered.

        Frames are consumed one at a time, so a consumer that stops early (an
        exception) leaves the following frames buffered. This is
        :meth:`next_frame` in one loop, without a call per frame.
        """
        unpack = _unpack_length
        while True:
            if self._broken:
                raise ProtocolError("stream framing was lost earlier")
            buf = self._buf
            pos = self._pos
            end = len(buf)
            if end - pos < 4:
                return
            (n,) = unpack(buf, pos)
            if n == 0 or n > self.max_length:
                self._broken = True
                raise ProtocolError(f"bad frame length {n} (allowed 1..{self.max_length})")
            stop = pos + 4 + n
            if stop > end:
                return
            self._pos = stop
            yield bytes(buf[pos + 4 : stop])
