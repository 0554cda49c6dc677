"""Real asyncio libraries on greenkit's event loop, concurrently with greenlets.

An aiohttp server and client, and redis.asyncio against a real
``redis-server`` that the test starts on 127.0.0.1 (and stops by pid).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

import greenkit.asyncio as gasyncio
from greenkit import socket as gsocket
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner(loop_factory=gasyncio.new_event_loop) as r:
        yield r


def _ticker(ticks: list[float], stop: list[bool]) -> None:
    """A greenlet that sleeps in small steps until told to stop."""
    while not stop:
        sleep(0.005)
        ticks.append(time.monotonic())


def test_aiohttp_server_and_client_beside_greenlets(runner: asyncio.Runner) -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    def blocking_double(text: str) -> str:
        sleep(0.01)
        return text * 2

    async def hello(request: web.Request) -> web.Response:
        await asyncio.sleep(0.01)
        # A greenlet doing blocking-style work for the handler.
        doubled = await gasyncio.run_in_greenlet(blocking_double, request.match_info["n"])
        return web.Response(text=f"hello {doubled}")

    def greenlet_http_get(port: int) -> bytes:
        with gsocket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /hello/g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks)

    async def main() -> tuple[list[str], bytes, int]:
        app = web.Application()
        app.router.add_get("/hello/{n}", hello)
        app_runner = web.AppRunner(app)
        await app_runner.setup()
        site = web.TCPSite(app_runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ticks: list[float] = []
        stop: list[bool] = []
        ticker = Greenlet.spawn(_ticker, ticks, stop)
        raw = Greenlet.spawn(greenlet_http_get, port)
        try:
            async with aiohttp.ClientSession() as session:

                async def get(i: int) -> str:
                    async with session.get(f"http://127.0.0.1:{port}/hello/{i}") as resp:
                        assert resp.status == 200
                        text: str = await resp.text()
                        return text

                texts = await asyncio.gather(*(get(i) for i in range(20)))
            raw_response = await gasyncio.wait_greenlet(raw)
        finally:
            stop.append(True)
            await gasyncio.wait_greenlet(ticker)
            await app_runner.cleanup()
        return texts, raw_response, len(ticks)

    texts, raw_response, ticks = runner.run(main())
    assert texts == [f"hello {i}{i}" for i in range(20)]
    assert raw_response.startswith(b"HTTP/1.1 200") and raw_response.endswith(b"hello gg")
    assert ticks >= 2  # the greenlet kept running while the loop served


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def redis_port(tmp_path: object) -> Iterator[int]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_redis_asyncio_beside_greenlets(runner: asyncio.Runner, redis_port: int) -> None:
    redis_asyncio = pytest.importorskip("redis.asyncio")

    async def main() -> tuple[list[object], int, object]:
        client = redis_asyncio.Redis(host="127.0.0.1", port=redis_port)
        ticks: list[float] = []
        stop: list[bool] = []
        ticker = Greenlet.spawn(_ticker, ticks, stop)
        try:
            await client.set("greeting", "hello")
            values = await asyncio.gather(
                *(client.incr("counter") for _ in range(50)), client.get("greeting")
            )
            # A greenlet using the same client through await_.
            from_greenlet = await gasyncio.run_in_greenlet(
                lambda: gasyncio.await_(client.get("counter"))
            )
        finally:
            stop.append(True)
            await gasyncio.wait_greenlet(ticker)
            await client.aclose()
        return list(values), len(ticks), from_greenlet

    values, ticks, from_greenlet = runner.run(main())
    assert values[-1] == b"hello"
    assert sorted(values[:-1]) == list(range(1, 51))  # type: ignore[type-var]
    assert from_greenlet == b"50"
    assert ticks >= 1
