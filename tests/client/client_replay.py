"""A replay of a real TWS session, for the client tests.

``ReplayTWS`` is a small TCP server that answers the handshake and startApi
with the exact frames TWS 176 sent in /work/shared/data/tws-recording-v176.json
(see that directory's README), records what the client sends, and lets a test
push further frames or drop the connection, which the simulator cannot do on
cue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path

from twsbridge.protocol import Message, encode_message, split_fields

RECORDING = Path("/work/shared/data/tws-recording-v176.json")


def recorded_frames(key: str) -> list[bytes]:
    """The frames TWS answered request ``key`` with, each with its length prefix."""
    data = json.loads(RECORDING.read_text())
    return [base64.b64decode(f) for f in data[key]]


class ReplayTWS:
    """A TWS that replays the recorded handshake, then answers nothing by itself.

    Args:
        answer_hello: send the recorded server hello (False: stay silent).
        close_after_hello: close the socket instead of answering the hello,
            as TWS does when it serves none of the client's versions.
    """

    version = 176

    def __init__(self, *, answer_hello: bool = True, close_after_hello: bool = False) -> None:
        self.answer_hello = answer_hello
        self.close_after_hello = close_after_hello
        self.port = 0
        self.received: list[list[str]] = []
        self.changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ReplayTWS:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drop()
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        try:
            assert await reader.readexactly(4) == b"API\0"
            size = int.from_bytes(await reader.readexactly(4), "big")
            await reader.readexactly(size)  # "v157..178": the one frame without a NUL
            if self.close_after_hello:
                writer.close()
                return
            if not self.answer_hello:
                await reader.read()  # until the client gives up
                return
            writer.write(recorded_frames("API_")[0])
            await self._frame(reader)  # startApi
            writer.write(b"".join(recorded_frames("71_2")))
            while True:
                self.received.append(await self._frame(reader))
                self.changed.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _frame(reader: asyncio.StreamReader) -> list[str]:
        size = int.from_bytes(await reader.readexactly(4), "big")
        return split_fields(await reader.readexactly(size))

    async def wait_received(self, count: int, timeout: float = 3.0) -> None:
        """Wait until ``count`` frames after startApi arrived."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.changed.clear()
                await self.changed.wait()

    async def push(self, *items: Message | bytes) -> None:
        """Send messages (encoded at version 176) or raw framed bytes to every client."""
        data = b"".join(i if isinstance(i, bytes) else encode_message(i, self.version)
                        for i in items)
        for w in self._writers:
            if not w.is_closing():
                w.write(data)
                await w.drain()

    async def drop(self) -> None:
        """Close every client connection, as TWS does when it goes away."""
        for w in self._writers:
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()
