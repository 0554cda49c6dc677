"""greenkit demo: many timers and many echo conversations on one event loop.

For now it drives ``greenkit.loop.libev`` directly (the hub will take over):
``--timers`` one-shot timers spread over a few milliseconds, and ``--pairs``
socket pairs where one end echoes what the other sends, ``--rounds``
messages each, all multiplexed by io watchers on a single loop.  It prints
a short summary and exits 1 if any count falls short.

    python tools/demo.py [--timers 200] [--pairs 50] [--rounds 20]
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from typing import Any

from greenkit.loop import libev

#: The whole run is abandoned (and reported as failed) after this long.
GIVE_UP_AFTER = 30.0


class Stats:
    def __init__(self) -> None:
        self.timers_fired = 0
        self.worst_lateness = 0.0
        self.round_trips = 0
        self.bytes_echoed = 0
        self.mismatches = 0
        self.conversations_done = 0


class Connection:
    """One non-blocking socket with a READ watcher and an outgoing buffer."""

    def __init__(self, loop: Any, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.outgoing = b""
        self.reader = loop.io(sock.fileno(), libev.READ)
        self.writer = loop.io(sock.fileno(), libev.WRITE)

    def send(self, data: bytes) -> None:
        self.outgoing += data
        self.flush()

    def flush(self) -> None:
        try:
            sent = self.sock.send(self.outgoing) if self.outgoing else 0
        except BlockingIOError:
            sent = 0
        self.outgoing = self.outgoing[sent:]
        if self.outgoing:
            self.writer.start(self.flush)
        else:
            self.writer.stop()

    def close(self) -> None:
        self.reader.close()
        self.writer.close()
        self.sock.close()


class EchoServerSide(Connection):
    """Sends back everything it receives; closes on end of file."""

    def __init__(self, loop: Any, sock: socket.socket, stats: Stats) -> None:
        super().__init__(loop, sock)
        self.stats = stats
        self.reader.start(self.on_readable)

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            self.close()
            return
        self.stats.bytes_echoed += len(data)
        self.send(data)


class Client(Connection):
    """Sends ``rounds`` numbered messages, each after the previous one's echo."""

    def __init__(
        self, loop: Any, sock: socket.socket, number: int, rounds: int, stats: Stats
    ) -> None:
        super().__init__(loop, sock)
        self.number = number
        self.rounds = rounds
        self.round = 0
        self.stats = stats
        self.expected = b""
        self.received = b""
        self.reader.start(self.on_readable)
        self.next_message()

    def next_message(self) -> None:
        self.expected = f"pair {self.number} round {self.round}\n".encode()
        self.received = b""
        self.send(self.expected)

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            self.close()
            return
        self.received += data
        if len(self.received) < len(self.expected):
            return
        if self.received != self.expected:
            self.stats.mismatches += 1
        self.stats.round_trips += 1
        self.round += 1
        if self.round < self.rounds:
            self.next_message()
        else:
            self.stats.conversations_done += 1
            self.sock.shutdown(socket.SHUT_WR)  # the echo side sees EOF and closes
            self.close()


def run(timers: int, pairs: int, rounds: int) -> bool:
    stats = Stats()
    loop = libev.loop(default=False)
    gave_up = []

    def give_up() -> None:
        gave_up.append(True)
        loop.break_()

    # Does not keep the loop alive: the loop returns once the real work is done.
    watchdog = loop.timer(GIVE_UP_AFTER, ref=False)
    watchdog.start(give_up)

    started = time.perf_counter()
    loop.update_now()
    timer_watchers = []
    for i in range(timers):
        delay = (i % 20) * 0.005
        due = loop.now() + delay

        def fired(due: float = due) -> None:
            stats.timers_fired += 1
            stats.worst_lateness = max(stats.worst_lateness, loop.now() - due)

        timer = loop.timer(delay)
        timer.start(fired)
        timer_watchers.append(timer)

    ends: list[Connection] = []
    for number in range(pairs):
        left, right = socket.socketpair()
        ends.append(EchoServerSide(loop, right, stats))
        ends.append(Client(loop, left, number, rounds, stats))

    loop.run()
    elapsed = time.perf_counter() - started

    for end in ends:
        if end.sock.fileno() != -1:
            end.close()
    for timer in timer_watchers:
        timer.close()
    watchdog.close()
    loop.destroy()

    want_trips = pairs * rounds
    ok = (
        not gave_up
        and stats.timers_fired == timers
        and stats.round_trips == want_trips
        and stats.conversations_done == pairs
        and stats.mismatches == 0
    )
    print(f"greenkit demo on {libev.get_version()} ({', '.join(libev.supported_backends())})")
    print(
        f"  timers:      {stats.timers_fired}/{timers} fired, "
        f"worst lateness {stats.worst_lateness * 1000:.1f} ms"
    )
    print(
        f"  echo:        {stats.round_trips}/{want_trips} round trips over {pairs} socket pairs, "
        f"{stats.bytes_echoed} bytes echoed, {stats.mismatches} mismatches"
    )
    print(f"  elapsed:     {elapsed:.3f} s" + ("  (gave up: watchdog fired)" if gave_up else ""))
    print("  result:      " + ("OK" if ok else "FAILED"))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="greenkit loop demo")
    parser.add_argument("--timers", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    return 0 if run(args.timers, args.pairs, args.rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
