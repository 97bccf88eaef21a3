"""Sans-I/O connections of the TWS socket protocol, for both roles.

Neither class touches a socket: bytes go in with ``receive_data``, events come
out of ``next_event``/``events``, and ``send`` returns the bytes to write.
This is the pattern of h11 and wsproto, so client and server can be wired
together in a test with no socket at all.

Handshake (TWS API doc, "Connectivity"):

1. The client sends ``API\\0`` then one frame ``v<min>..<max>[ <options>]``.
2. The server answers one frame: its version and its connection time.
   It closes the socket when it cannot serve the client's range.
3. The client sends startApi (id 71) with its client id.
4. TWS answers managedAccounts, nextValidId and its farm notices.

After step 2 both sides know the server version and compile the message
catalogue for it once (:class:`~twsbridge.protocol.versions.Capabilities`).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from .catalogue.generic import Unknown
from .errors import ProtocolError
from .framing import FrameReader, _unpack_length, encode_frame, split_fields
from .spec import IN, OUT, Decoder, Encoder, Message, field_name, registry
from .versions import CLIENT_MAX_VERSION, CLIENT_MIN_VERSION, Capabilities

__all__ = [
    "ClientConnection",
    "ClientHello",
    "ConnectionClosed",
    "Event",
    "ServerConnection",
    "ServerHello",
    "State",
    "decode_message",
    "encode_message",
    "negotiate",
]

API_PREFIX = b"API\0"
# ASCII digits only, and at most 9 of them: a version is a small int
_HELLO = re.compile(r"^v([0-9]{1,9})(?:\.\.([0-9]{1,9}))?(?: (.*))?$", re.S)


class State(enum.Enum):
    """Where a connection is in its life."""

    HANDSHAKE = "handshake"  #: hello not yet answered
    CONNECTED = "connected"  #: version agreed, startApi not yet exchanged
    READY = "ready"  #: startApi sent (client) or received (server)
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ServerHello:
    """The server's answer to the client's hello: version and connection time."""

    serverVersion: int
    connectionTime: str


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The client's hello: its version range and connect options (``+PACEAPI``)."""

    minVersion: int
    maxVersion: int
    connectOptions: str


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the stream."""


Event = Message | Unknown | ServerHello | ClientHello | ConnectionClosed


def negotiate(client_min: int, client_max: int, server_min: int, server_max: int) -> int | None:
    """The version a server answers a client's range with, or None when it cannot.

    TWS answers ``min(client_max, server_max)`` and closes the connection when
    that is below what either side accepts.
    """
    version = min(client_max, server_max)
    if version < client_min or version < server_min:
        return None
    return version


def _catalogued(msg_id: str | None, direction: str) -> type[Message] | None:
    """The class of a message id as sent (``"1"``), None when it is not catalogued."""
    if msg_id is None or not (0 < len(msg_id) <= 10 and msg_id.isascii() and msg_id.isdigit()):
        return None
    return registry(direction).get(int(msg_id))


def _split(payload: bytes, version: int, direction: str) -> list[str]:
    """:func:`split_fields`; its error names the field by name for a catalogued id."""
    try:
        return split_fields(payload)
    except ProtocolError as e:
        cls = _catalogued(e.msg_id, direction)
        if cls is None or e.fields is None or e.field is None or not e.field.startswith("#"):
            raise
        index = int(e.field[1:])
        raise e.naming(field_name(cls, version, e.fields, index)) from None


class _Codecs:
    """Decoders for one direction and encoders for the other, for one version."""

    __slots__ = ("decoders", "encoders")

    def __init__(self, version: int, incoming: str) -> None:
        outgoing = OUT if incoming == IN else IN
        self.decoders: dict[str, Decoder] = {
            str(mid): cls.codec(version)[0] for mid, cls in registry(incoming).items()
        }
        self.encoders: dict[type[Message], Encoder] = {
            cls: cls.codec(version)[1] for cls in registry(outgoing).values()
        }


class _Base:
    _incoming: str

    def __init__(self) -> None:
        self.state = State.HANDSHAKE
        self.capabilities: Capabilities | None = None
        self._reader = FrameReader()
        self._events: deque[Event] = deque()
        self._codecs: _Codecs | None = None

    @property
    def server_version(self) -> int:
        """The negotiated server version (0 before the handshake)."""
        return self.capabilities.server_version if self.capabilities else 0

    def _fix_version(self, caps: Capabilities) -> None:
        self.capabilities = caps
        self._codecs = _Codecs(caps.server_version, self._incoming)
        self.state = State.CONNECTED

    def decode(self, payload: bytes) -> Message | Unknown:
        """Decode one frame's payload into its message (or :class:`Unknown`).

        Raises:
            ProtocolError: a malformed frame, naming the message id and field.
        """
        fields = _split(payload, self.server_version, self._incoming)
        assert self._codecs is not None
        decoder = self._codecs.decoders.get(fields[0])
        if decoder is None:
            if not fields[0]:
                raise ProtocolError("frame has no message id", fields=fields)
            return Unknown(fields[0], fields[1:-1], self._incoming)
        return decoder(fields)

    def encode(self, msg: Message | Unknown) -> bytes:
        """The framed bytes of ``msg`` at the negotiated version.

        Raises:
            ProtocolError: before the handshake, or for a message of the wrong direction.
        """
        if self._codecs is None:
            raise ProtocolError(f"cannot send {msg.NAME} before the handshake")
        if isinstance(msg, Unknown):
            return encode_frame(msg.encode().encode())
        encoder = self._codecs.encoders.get(type(msg))
        if encoder is None:
            raise ProtocolError(f"{msg.NAME} cannot be sent in this direction")
        return encode_frame(encoder(msg).encode())

    send = encode

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed.

        Raises:
            ProtocolError: on bad framing or a malformed frame. Events decoded
            before the bad frame stay queued.
        """
        if not data:
            self.state = State.CLOSED
            self._events.append(ConnectionClosed())
            return
        self._reader.feed(data)
        self._pump()

    def _pump(self) -> None:
        raise NotImplementedError

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        return self._events.popleft() if self._events else None

    def events(self) -> Iterator[Event]:
        """Drain every queued event."""
        ev = self._events
        popleft = ev.popleft
        while ev:
            yield popleft()


class ClientConnection(_Base):
    """The client's side: sends requests, decodes what TWS sends.

    Usage::

        conn = ClientConnection()
        sock.send(conn.hello())
        conn.receive_data(sock.recv(...))   # -> ServerHello event
        sock.send(conn.start_api(client_id=1))
        conn.receive_data(...)              # -> ManagedAccounts, NextValidId, ...
    """

    _incoming = IN

    def __init__(
        self,
        min_version: int = CLIENT_MIN_VERSION,
        max_version: int = CLIENT_MAX_VERSION,
        connect_options: str = "",
    ) -> None:
        super().__init__()
        if not CLIENT_MIN_VERSION <= min_version <= max_version <= CLIENT_MAX_VERSION:
            raise ValueError(
                f"version range {min_version}..{max_version} outside "
                f"{CLIENT_MIN_VERSION}..{CLIENT_MAX_VERSION}"
            )
        self.min_version = min_version
        self.max_version = max_version
        self.connect_options = connect_options

    def hello(self) -> bytes:
        """``API\\0`` and the version-range frame that open the handshake."""
        text = f"v{self.min_version}..{self.max_version}"
        if self.connect_options:
            text += " " + self.connect_options
        return API_PREFIX + encode_frame(text.encode())

    def start_api(self, client_id: int, optional_capabilities: str = "") -> bytes:
        """The startApi frame (id 71); call once the ServerHello arrived.

        Raises:
            ProtocolError: when the handshake has not completed.
        """
        from .catalogue.outgoing import StartApi

        if self.state is not State.CONNECTED:
            raise ProtocolError(f"startApi in state {self.state.value}")
        data = self.encode(StartApi(clientId=client_id, optionalCapabilities=optional_capabilities))
        self.state = State.READY
        return data

    def _pump(self) -> None:
        reader = self._reader
        while self.state is State.HANDSHAKE:
            payload = reader.next_frame()
            if payload is None:
                return
            try:
                fields = split_fields(payload)
            except ProtocolError as e:
                raise ProtocolError(f"server hello: {e.text}", field="serverVersion"
                                    if e.field == "#0" else "connectionTime") from None
            try:
                version = int(fields[0])
            except ValueError:
                raise ProtocolError("server hello: bad version", field="serverVersion",
                                    fields=fields) from None
            if not self.min_version <= version <= self.max_version:
                raise ProtocolError(
                    f"server answered version {version}, outside "
                    f"{self.min_version}..{self.max_version}",
                    field="serverVersion",
                )
            ctime = fields[1] if len(fields) > 2 else ""
            self._fix_version(Capabilities(version, ctime))
            self._events.append(ServerHello(version, ctime))
        self._decode_buffered()

    def _decode_buffered(self) -> None:
        """Decode every complete frame buffered, queueing one event per frame.

        This is ``FrameReader.frames`` + ``split_fields`` + :meth:`decode` in one
        loop with its names bound once: the hot path of a busy connection. A
        frame that is not plain (not UTF-8, no final NUL, no catalogued id, a
        decoder error) goes through :meth:`decode`, which raises the precise
        error. Each frame is consumed before it is decoded, as ``frames()`` does.
        """
        reader = self._reader
        if reader._broken:
            raise ProtocolError("stream framing was lost earlier")
        assert self._codecs is not None
        get = self._codecs.decoders.get
        append = self._events.append
        unpack = _unpack_length
        max_length = reader.max_length
        buf = reader._buf
        pos = reader._pos
        end = len(buf)
        try:
            while end - pos >= 4:
                (n,) = unpack(buf, pos)
                if n == 0 or n > max_length:
                    reader._broken = True
                    raise ProtocolError(f"bad frame length {n} (allowed 1..{max_length})")
                start = pos + 4
                stop = start + n
                if stop > end:
                    break
                pos = stop
                try:
                    fields = buf[start:stop].decode().split("\0")
                except UnicodeDecodeError:
                    fields = [""]  # decode() below raises the error
                decoder = get(fields[0])
                if decoder is None or fields[-1]:
                    append(self.decode(bytes(buf[start:stop])))
                else:
                    append(decoder(fields))
        finally:
            reader._pos = pos


class ServerConnection(_Base):
    """The server's side (a simulated TWS): decodes requests, encodes answers.

    Usage::

        conn = ServerConnection()
        conn.receive_data(data)            # -> ClientHello event
        sock.send(conn.accept("20130301 10:00:00 EST"))   # or close on None
        conn.receive_data(data)            # -> StartApi, then requests
    """

    _incoming = OUT

    def __init__(
        self, min_version: int = CLIENT_MIN_VERSION, max_version: int = CLIENT_MAX_VERSION
    ) -> None:
        super().__init__()
        self.min_version = min_version
        self.max_version = max_version
        self._prefix_seen = False
        self.client_hello: ClientHello | None = None
        self.client_id: int | None = None

    def accept(self, connection_time: str) -> bytes | None:
        """Answer the hello with the negotiated version and ``connection_time``.

        Returns None when the client's range cannot be served; the caller then
        closes the socket, as TWS does.
        """
        hello = self.client_hello
        if hello is None:
            raise ProtocolError("accept() before the client's hello")
        version = negotiate(hello.minVersion, hello.maxVersion, self.min_version, self.max_version)
        if version is None:
            self.state = State.CLOSED
            return None
        self._fix_version(Capabilities(version, connection_time))
        data = encode_frame(f"{version}\0{connection_time}\0".encode())
        self._pump()  # anything the client sent early
        return data

    def _pump(self) -> None:
        if not self._prefix_seen:
            if self._reader.buffered < len(API_PREFIX):
                return
            head = self._reader.peek(len(API_PREFIX))
            if head != API_PREFIX:
                self.state = State.CLOSED
                raise ProtocolError(f"expected the API greeting, got {head!r}")
            self._reader.skip(len(API_PREFIX))
            self._prefix_seen = True
        if self.client_hello is None:
            payload = self._reader.next_frame()
            if payload is None:
                return
            text = payload.decode("utf-8", "replace").rstrip("\0")
            m = _HELLO.match(text)
            if m is None:
                self.state = State.CLOSED
                raise ProtocolError(f"bad client hello {text!r}", field="versionRange")
            lo = int(m.group(1))
            hi = int(m.group(2) or lo)
            self.client_hello = ClientHello(lo, hi, m.group(3) or "")
            self._events.append(self.client_hello)
            return
        if self._codecs is None:
            return  # frames wait until accept()
        for payload in self._reader.frames():
            msg = self.decode(payload)
            if self.state is State.CONNECTED:
                if getattr(msg, "NAME", "") != "startApi":
                    raise ProtocolError(
                        f"expected startApi, got {msg.NAME}", msg_id=str(msg.ID)
                    )
                self.client_id = msg.clientId  # type: ignore[union-attr]
                self.state = State.READY
            self._events.append(msg)


def encode_message(msg: Message | Unknown, version: int) -> bytes:
    """Framed bytes of any catalogued message at ``version``, whatever its direction."""
    if isinstance(msg, Unknown):
        return encode_frame(msg.encode().encode())
    return encode_frame(type(msg).codec(version)[1](msg).encode())


def decode_message(payload: bytes, version: int, direction: str = IN) -> Message | Unknown:
    """Decode one payload of ``direction`` (``IN`` from TWS, ``OUT`` to TWS) at ``version``.

    Raises:
        ProtocolError: a malformed frame, naming the message id and field.
    """
    fields = _split(payload, version, direction)
    cls = _catalogued(fields[0], direction)
    if cls is None:
        if not fields[0]:
            raise ProtocolError("frame has no message id", fields=fields)
        return Unknown(fields[0], fields[1:-1], direction)
    return cls.codec(version)[0](fields)
