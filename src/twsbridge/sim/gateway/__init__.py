"""The gateway: the I/O-free session of one client connection, its feeds and the asyncio server."""
