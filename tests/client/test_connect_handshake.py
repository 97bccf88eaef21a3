"""What TWSClient says when the server closes the connection during the handshake
(issue 9, item 6): what happened, not a guess that it "serves none of" the versions."""

from __future__ import annotations

import asyncio
import re

import pytest

from twsbridge.client import ConnectionLost, TWSClient

pytestmark = pytest.mark.timeout(20)


async def _closing_server(read_first: int) -> asyncio.Server:
    """A real server on 127.0.0.1 that reads ``read_first`` bytes (0: none) and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if read_first:
            await reader.read(read_first)
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("read_first", [0, 1 << 16])
async def test_a_close_before_the_server_hello_says_so(read_first: int) -> None:
    server = await _closing_server(read_first)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(ConnectionLost) as lost:
            await TWSClient("127.0.0.1", port, client_id=1, timeout=5).connect()
    text = str(lost.value)
    # closed with our hello unread, the kernel may reset the connection instead
    how = "closed" if read_first else "(closed|reset)"
    assert re.search(f"127.0.0.1:{port} {how} the connection before the handshake completed",
                     text), text
    assert "no server hello" in text and "0 bytes received" in text
    assert "serves none" not in text
