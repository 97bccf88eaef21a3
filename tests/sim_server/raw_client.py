"""A raw client of the simulator for the tests: our ClientConnection over an asyncio
socket, for sending what TWSClient would not (a bare handshake, garbage)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Self

from twsbridge.protocol import ClientConnection, ServerHello, incoming

TIMEOUT = 5.0


class Client:
    """Our ClientConnection over an asyncio socket to 127.0.0.1:``port``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = ClientConnection()
        self.events: list[Any] = []

    @classmethod
    async def open(cls, port: int) -> Self:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def until(self, done: Callable[[list[Any]], bool]) -> list[Any]:
        """Read until ``done(events)``; raises EOFError when the server closes first."""
        async with asyncio.timeout(TIMEOUT):
            while not done(self.events):
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError
                self.conn.receive_data(data)
                self.events.extend(self.conn.events())
        return self.events

    async def connect(self, client_id: int) -> list[Any]:
        self.writer.write(self.conn.hello())
        await self.until(lambda ev: any(isinstance(e, ServerHello) for e in ev))
        self.writer.write(self.conn.start_api(client_id))
        return await self.until(lambda ev: any(isinstance(e, incoming.ErrorMessage)
                                               for e in ev))

    async def closed_by_server(self) -> bool:
        """True when the server closes the socket (EOF) within the timeout."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while await self.reader.read(65536):
                    pass
        except (ConnectionResetError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass
