"""greenkit demo: a cooperative TCP echo server under concurrent load.

One process, one thread, one hub.  A server greenlet accepts connections
on 127.0.0.1 and spawns a greenlet per connection that echoes lines back;
``--clients`` client greenlets each connect and exchange ``--rounds``
messages, while ``--sleepers`` greenlets sleep random short times to show
timers sharing the same loop.  Every blocking step is a cooperative wait on
an io watcher or a timer (what ``greenkit.socket`` will wrap).  Prints a
summary and exits 1 if anything fell short.

    python tools/demo.py [--clients 200] [--rounds 20] [--sleepers 500]
"""

from __future__ import annotations

import argparse
import errno
import random
import socket
import sys
import time

import greenkit
from greenkit.hub import get_hub
from greenkit.loop.libev import READ, WRITE

#: The whole run is abandoned (and reported as failed) after this long.
GIVE_UP_AFTER = 60.0
_RETRY = (errno.EAGAIN, errno.EWOULDBLOCK)


def wait_for(sock: socket.socket, events: int) -> None:
    """Park this greenlet until ``sock`` is readable (READ) or writable (WRITE)."""
    hub = get_hub()
    watcher = hub.loop.io(sock.fileno(), events)
    try:
        hub.wait(watcher)
    finally:
        watcher.close()


def recv_some(sock: socket.socket) -> bytes:
    while True:
        try:
            return sock.recv(65536)
        except OSError as ex:
            if ex.errno not in _RETRY:
                raise
        wait_for(sock, READ)


def send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
            continue
        except OSError as ex:
            if ex.errno not in _RETRY:
                raise
        wait_for(sock, WRITE)


def serve_one(conn: socket.socket, stats: dict[str, int]) -> None:
    with conn:
        while data := recv_some(conn):
            send_all(conn, data)
            stats["bytes_echoed"] += len(data)


def accept_forever(listener: socket.socket, stats: dict[str, int]) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as ex:
            if ex.errno not in _RETRY:
                raise
            wait_for(listener, READ)
            continue
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stats["accepted"] += 1
        greenkit.spawn(serve_one, conn, stats)


def client(address: tuple[str, int], rounds: int, stats: dict[str, int]) -> None:
    sock = socket.socket()
    sock.setblocking(False)
    with sock:
        err = sock.connect_ex(address)
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, "connect failed")
        wait_for(sock, WRITE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for n in range(rounds):
            message = f"message {n} from {id(sock):x}\n".encode()
            send_all(sock, message)
            echoed = b""
            while len(echoed) < len(message):
                chunk = recv_some(sock)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                echoed += chunk
            if echoed != message:
                stats["mismatches"] += 1
            stats["round_trips"] += 1


def sleeper(delay: float, stats: dict[str, int], lateness: list[float]) -> None:
    start = time.monotonic()
    greenkit.sleep(delay)
    lateness.append(time.monotonic() - start - delay)
    stats["sleeps"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--sleepers", type=int, default=500)
    args = parser.parse_args()

    stats = dict.fromkeys(
        ("accepted", "round_trips", "bytes_echoed", "mismatches", "sleeps"), 0
    )
    lateness: list[float] = []
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.setblocking(False)
    address = listener.getsockname()

    started = time.perf_counter()
    server = greenkit.spawn(accept_forever, listener, stats)
    rnd = random.Random(7)
    work = [greenkit.spawn(client, address, args.rounds, stats) for _ in range(args.clients)]
    work += [greenkit.spawn(sleeper, rnd.uniform(0, 0.05), stats, lateness)
             for _ in range(args.sleepers)]
    finished = greenkit.joinall(work, timeout=GIVE_UP_AFTER)
    elapsed = time.perf_counter() - started
    server.kill()
    listener.close()

    failed = [g for g in work if g.ready() and not g.successful()]
    expected_trips = args.clients * args.rounds
    ok = (len(finished) == len(work) and not failed and stats["mismatches"] == 0
          and stats["round_trips"] == expected_trips and stats["sleeps"] == args.sleepers)
    worst = max(lateness, default=0.0) * 1000
    print(f"greenkit demo: TCP echo server on {address[0]}:{address[1]}, one hub, "
          f"{get_hub().loop.backend} backend")
    print(f"  clients:     {stats['accepted']}/{args.clients} connections accepted")
    print(f"  echo:        {stats['round_trips']}/{expected_trips} round trips, "
          f"{stats['bytes_echoed']} bytes echoed, {stats['mismatches']} mismatches")
    print(f"  throughput:  {stats['round_trips'] / elapsed:,.0f} round trips/s")
    print(f"  timers:      {stats['sleeps']}/{args.sleepers} sleepers woke, "
          f"worst lateness {worst:.1f} ms")
    print(f"  greenlets:   {len(work) + stats['accepted'] + 1} spawned, "
          f"{len(failed)} failed")
    print(f"  elapsed:     {elapsed:.3f} s")
    print(f"  result:      {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
