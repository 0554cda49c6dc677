"""An asyncio server and a greenkit StreamServer serving at once, in one thread."""

from __future__ import annotations

import asyncio

import greenkit.asyncio as gasyncio
from greenkit import socket as gsocket
from greenkit.pool import Group
from greenkit.server import StreamServer


def _stream_echo(sock: gsocket.socket, _address: object) -> None:
    with sock:
        while data := sock.recv(1024):
            sock.sendall(b"green:" + data)


async def _asyncio_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(b"async:" + data)
        await writer.drain()
    writer.close()


def _greenlet_client(port: int, message: bytes) -> bytes:
    with gsocket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(message)
        return bytes(sock.recv(1024))


async def _asyncio_client(port: int, message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message)
    data = await reader.read(1024)
    writer.close()
    await writer.wait_closed()
    return data


def test_asyncio_server_and_stream_server_in_one_thread() -> None:
    green_server = StreamServer(("127.0.0.1", 0), _stream_echo)
    green_server.start()

    async def main() -> tuple[list[bytes], list[bytes]]:
        aio_server = await asyncio.start_server(_asyncio_echo, "127.0.0.1", 0)
        aio_port = aio_server.sockets[0].getsockname()[1]
        green_port = green_server.server_port
        group = Group()
        # Greenlets talk to both servers, and so do coroutines, all at once.
        jobs = [
            group.spawn(_greenlet_client, port, b"from greenlet %d" % i)
            for i, port in enumerate([aio_port, green_port] * 5)
        ]
        from_coroutines = await asyncio.gather(
            *(
                _asyncio_client(port, b"from task %d" % i)
                for i, port in enumerate([aio_port, green_port] * 5)
            )
        )
        from_greenlets = [await gasyncio.wait_greenlet(job) for job in jobs]
        aio_server.close()
        await aio_server.wait_closed()
        return list(from_coroutines), from_greenlets

    try:
        with asyncio.Runner(loop_factory=gasyncio.new_event_loop) as runner:
            from_coroutines, from_greenlets = runner.run(main())
    finally:
        green_server.stop()
    prefixes = [b"async:", b"green:"] * 5
    assert from_coroutines == [p + b"from task %d" % i for i, p in enumerate(prefixes)]
    assert from_greenlets == [p + b"from greenlet %d" % i for i, p in enumerate(prefixes)]
