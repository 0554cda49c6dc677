"""GreenkitEventLoop: the asyncio loop on the hub, used the standard ways."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import sys
import threading
import time

import pytest

import greenkit.asyncio as gasyncio
from greenkit.asyncio._bridge import BackgroundLoop
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub, sleep


async def _which_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is 3.12+")
def test_asyncio_run_with_loop_factory() -> None:
    loop = asyncio.run(_which_loop(), loop_factory=gasyncio.new_event_loop)  # type: ignore[call-arg]
    assert isinstance(loop, gasyncio.GreenkitEventLoop)
    assert loop.is_closed()


def test_runner_with_loop_factory(runner: asyncio.Runner) -> None:
    loop = runner.run(_which_loop())
    assert isinstance(loop, gasyncio.GreenkitEventLoop)
    assert loop.hub is get_hub()


def test_event_loop_policy() -> None:
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(gasyncio.EventLoopPolicy())
    try:
        loop = asyncio.run(_which_loop())
    finally:
        asyncio.set_event_loop_policy(old)
    assert isinstance(loop, gasyncio.GreenkitEventLoop)


def test_greenlets_run_while_coroutines_await(runner: asyncio.Runner) -> None:
    order: list[str] = []

    def greenlet_side() -> None:
        for i in range(3):
            sleep(0.05)
            order.append(f"g{i}")

    async def main() -> float:
        start = time.monotonic()
        glet = Greenlet.spawn(greenlet_side)
        for i in range(3):
            await asyncio.sleep(0.05)
            order.append(f"a{i}")
        await gasyncio.wait_greenlet(glet)
        return time.monotonic() - start

    elapsed = runner.run(main())
    assert sorted(order) == ["a0", "a1", "a2", "g0", "g1", "g2"]
    # Interleaved, not one side after the other.
    assert order.index("g0") < order.index("a2") and order.index("a0") < order.index("g2")
    assert elapsed < 5.0


def test_call_soon_later_at_and_threadsafe(runner: asyncio.Runner) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        done = loop.create_future()
        loop.call_later(0.05, seen.append, "later")
        loop.call_at(loop.time() + 0.02, seen.append, "at")
        loop.call_soon(seen.append, "soon")

        def from_thread() -> None:
            time.sleep(0.01)
            loop.call_soon_threadsafe(seen.append, "thread")

        threading.Thread(target=from_thread).start()
        loop.call_later(0.1, done.set_result, None)
        await done
        return seen

    seen = runner.run(main())
    assert seen[0] == "soon"
    assert seen.index("at") < seen.index("later")
    assert set(seen) == {"soon", "at", "later", "thread"}


def test_add_reader_and_writer(runner: asyncio.Runner) -> None:
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        got = loop.create_future()
        writable = loop.create_future()
        loop.add_writer(a, lambda: writable.done() or writable.set_result(True))
        await writable
        loop.remove_writer(a)
        loop.add_reader(b, lambda: got.done() or got.set_result(b.recv(100)))
        a.send(b"ping")
        data = await got
        assert loop.remove_reader(b)
        a.close()
        b.close()
        return data

    assert runner.run(main()) == b"ping"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_tcp_streams_with_a_blocking_greenlet_client(runner: asyncio.Runner) -> None:
    from greenkit import socket as gsocket

    def greenlet_client(port: int) -> bytes:
        with gsocket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"from a greenlet")
            return bytes(sock.recv(100))

    async def main() -> tuple[bytes, bytes]:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        glet = Greenlet.spawn(greenlet_client, port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"from a coroutine")
        await writer.drain()
        ours = await reader.readexactly(16)
        writer.close()
        await writer.wait_closed()
        theirs = await gasyncio.wait_greenlet(glet)
        server.close()
        await server.wait_closed()
        return ours, theirs

    assert runner.run(main()) == (b"from a coroutine", b"from a greenlet")


def test_udp_endpoint(runner: asyncio.Runner) -> None:
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: object) -> None:
            self.transport.sendto(data.upper(), addr)  # type: ignore[attr-defined]

    class Client(asyncio.DatagramProtocol):
        def __init__(self, fut: asyncio.Future[bytes]) -> None:
            self.fut = fut

        def datagram_received(self, data: bytes, addr: object) -> None:
            self.fut.set_result(data)

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = server.get_extra_info("sockname")
        fut: asyncio.Future[bytes] = loop.create_future()
        client, _ = await loop.create_datagram_endpoint(lambda: Client(fut), remote_addr=addr)
        client.sendto(b"udp")
        data = await asyncio.wait_for(fut, 10)
        client.close()
        server.close()
        return data

    assert runner.run(main()) == b"UDP"


def test_unix_socket(runner: asyncio.Runner, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "sock")

    async def main() -> bytes:
        server = await asyncio.start_unix_server(_echo, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"unix")
        data = await reader.readexactly(4)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return data

    assert runner.run(main()) == b"unix"


def test_subprocess(runner: asyncio.Runner) -> None:
    async def main() -> tuple[bytes, int]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate(b"child")
        return out, proc.returncode or 0

    assert runner.run(main()) == (b"CHILD", 0)


def test_signal_handler(runner: asyncio.Runner) -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, fut.set_result, "got it")
        loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
        try:
            return await asyncio.wait_for(fut, 10)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    assert runner.run(main()) == "got it"


def test_default_executor_is_the_hubs_thread_pool(runner: asyncio.Runner) -> None:
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        ident = await loop.run_in_executor(None, threading.get_ident)
        via_to_thread = await asyncio.to_thread(lambda: 6 * 7)
        return ident, via_to_thread, get_hub().threadpool.size

    ident, value, size = runner.run(main())
    assert ident != threading.get_ident()
    assert value == 42
    assert size >= 1


def test_executor_exception_propagates(runner: asyncio.Runner) -> None:
    def boom() -> None:
        raise ValueError("in a thread")

    async def main() -> None:
        await asyncio.get_running_loop().run_in_executor(None, boom)

    with pytest.raises(ValueError, match="in a thread"):
        runner.run(main())


def test_getaddrinfo_uses_the_hub_resolver(runner: asyncio.Runner) -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        name = await loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST)
        return [infos[0][4], name[0]]

    assert runner.run(main()) == [("127.0.0.1", 80), "127.0.0.1"]


def test_exception_handler_and_debug(runner: asyncio.Runner) -> None:
    seen: list[dict[str, object]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        assert loop.get_debug()
        loop.set_exception_handler(lambda _loop, context: seen.append(context))
        loop.call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)
        loop.set_debug(False)

    runner.run(main())
    assert isinstance(seen[0]["exception"], ZeroDivisionError)


def test_two_loops_in_two_greenlets(runner: asyncio.Runner) -> None:
    def other_loop() -> str:
        with asyncio.Runner(loop_factory=gasyncio.new_event_loop) as inner:
            return inner.run(_sleep_and_return("inner"))

    async def main() -> list[str]:
        glet = Greenlet.spawn(other_loop)
        outer = await _sleep_and_return("outer")
        return [outer, await gasyncio.wait_greenlet(glet)]

    assert runner.run(main()) == ["outer", "inner"]


async def _sleep_and_return(value: str) -> str:
    await asyncio.sleep(0.05)
    return value


def test_stopped_loop_keeps_nothing_alive() -> None:
    loop = gasyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.sleep(0))
        sleep(0.01)  # the hub's loop runs and returns: no watcher of ours holds it
        assert not loop.is_running()
        assert gasyncio.running_loops() == []
    finally:
        loop.close()


def test_unconsumed_readiness_does_not_spin_the_hub(runner: asyncio.Runner) -> None:
    """A readable descriptor asyncio has not drained, while the loop's greenlet
    is blocked elsewhere (a greenkit sleep inside a coroutine), leaves the hub idle."""

    async def main() -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        got = loop.create_future()
        loop.add_reader(b, lambda: got.done() or got.set_result(b.recv(10)))
        a.send(b"x")
        await asyncio.sleep(0)  # the watcher is armed
        hub_loop = get_hub().loop
        before = hub_loop.iteration
        sleep(0.2)  # blocks this greenlet (and the asyncio loop), not the hub
        spins = hub_loop.iteration - before
        data = await got
        loop.remove_reader(b)
        a.close()
        b.close()
        return spins, data

    spins, data = runner.run(main())
    assert data == b"x"
    assert spins < 100


@pytest.mark.fd_leak_check
def test_the_background_loops_self_pipe_is_made_by_the_first_signal_handler() -> None:
    loop = gasyncio.new_event_loop()  # asyncio's own: its self-pipe at once
    assert loop._ssock is not None  # type: ignore[attr-defined]
    loop.close()
    loop = BackgroundLoop()
    try:
        assert loop._ssock is None  # type: ignore[attr-defined]
        loop.add_signal_handler(signal.SIGUSR2, lambda: None)
        assert loop._ssock is not None  # type: ignore[attr-defined]
        loop.remove_signal_handler(signal.SIGUSR2)
    finally:
        loop.close()


def test_a_loop_with_nothing_to_watch_waits_for_other_threads(runner: asyncio.Runner) -> None:
    """Only call_soon_threadsafe from a native thread can wake it: the running
    loop keeps the hub waiting instead of reporting that it would block for ever."""

    async def main() -> str:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return await asyncio.get_running_loop().run_in_executor(
                pool, lambda: time.sleep(0.05) or "woken"
            )

    assert runner.run(main()) == "woken"
