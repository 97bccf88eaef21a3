"""How bench/decode.py drives each decoder over a list of reads, and times it.

Shared by the market-data workload (decode.py) and the depth, tick-by-tick
and historical-ticks workloads (decode_depth.py). Each ``prepare_*`` function
sets a reader up (untimed) and returns the timed part: a function that feeds
it every read and returns what it kept.

* twsbridge: a ``ClientConnection`` that has seen the server hello;
  ``receive_data(chunk)`` then ``events()``.
* ib_async: the real ``Client._onSocketHasData`` (its framing loop) of a
  ``Client`` put in the connected state without a socket, which calls
  ``Decoder(wrapper, 176).interpret(fields)`` with the given wrapper.
* ibapi: ``EReader.run``'s loop over ``comm.read_msg`` and ``EClient.run``'s
  message-id split + ``comm.read_fields`` + ``Decoder(wrapper, 176)
  .interpret(fields, msgId)`` inline (no reader thread, no queue: that
  favours ibapi).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ib_async.client import Client as IbAsyncClient
from ibapi import comm
from ibapi.decoder import Decoder as IbapiDecoder

from twsbridge.protocol import ClientConnection, encode_frame, encode_message

VERSION = 176
TIME = "20231021 13:28:15 EST"


def build_chunks(msgs: list[Any], chunk: int) -> tuple[bytes, list[bytes]]:
    """The messages encoded at server version 176, and that stream cut into
    ``chunk``-byte reads."""
    stream = b"".join(encode_message(m, VERSION) for m in msgs)
    return stream, [stream[k : k + chunk] for k in range(0, len(stream), chunk)]


def prepare_ours(chunks: list[bytes]) -> Callable[[], list[Any]]:
    conn = ClientConnection()
    conn.hello()
    conn.receive_data(encode_frame(f"{VERSION}\0{TIME}\0".encode()))
    list(conn.events())

    def run() -> list[Any]:
        out: list[Any] = []
        append = out.append
        receive = conn.receive_data
        events = conn.events
        for chunk in chunks:
            receive(chunk)
            for ev in events():
                append(ev)
        return out

    return run


def connected(client: IbAsyncClient) -> None:
    """The state _onSocketHasData reaches after the server hello and startApi answers."""
    client._serverVersion = VERSION
    client.decoder.serverVersion = VERSION
    client.connState = IbAsyncClient.CONNECTED
    client._apiReady = True


def prepare_ib_async_with(chunks: list[bytes], wrapper: Any) -> Callable[[], Any]:
    """ib_async's framing + Decoder calling ``wrapper``; the run returns ``wrapper``."""
    client = IbAsyncClient(wrapper)  # type: ignore[no-untyped-call]
    connected(client)
    on_data = client._onSocketHasData

    def run() -> Any:
        for chunk in chunks:
            on_data(chunk)  # type: ignore[no-untyped-call]
        return wrapper

    return run


def prepare_ibapi_with(chunks: list[bytes], wrapper: Any) -> Callable[[], Any]:
    """ibapi's framing + Decoder calling ``wrapper``; the run returns ``wrapper``."""
    decoder = IbapiDecoder(wrapper, VERSION)
    interpret = decoder.interpret
    read_msg = comm.read_msg
    read_fields = comm.read_fields

    def run() -> Any:
        buf = b""
        for data in chunks:
            # EReader.run
            buf += data
            msgs = []
            while len(buf) > 0:
                (_size, msg, buf) = read_msg(buf)
                if msg:
                    msgs.append(msg)
                else:
                    break
            # EClient.run, for server versions below protobuf
            for text in msgs:
                sMsgId = text[: text.index(b"\0")]
                text = text[text.index(b"\0") + len(b"\0") :]
                msgId = int(sMsgId)
                fields = read_fields(text)
                interpret(fields, msgId)
        return wrapper

    return run


@dataclass
class Reader:
    name: str
    about: str
    prepare: Callable[[], Callable[[], Any]]


def best_of(rs: list[Reader], runs: int, *, gc_on: bool = True) -> dict[str, float]:
    """Best CPU time of each reader over ``runs`` rounds; the readers take turns in each
    round, so a noisy neighbour slows all of them alike. Set-up is not timed."""
    best = {r.name: float("inf") for r in rs}
    for _ in range(runs):
        for r in rs:
            run = r.prepare()
            gc.collect()
            if not gc_on:
                gc.disable()
            t0 = time.process_time()
            run()
            best[r.name] = min(best[r.name], time.process_time() - t0)
            gc.enable()
            del run
    return best
