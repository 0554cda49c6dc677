"""After ``greenkit.monkey.patch_all()``, plain standard-library code cooperates.

Each test runs a script in its own interpreter (patching is process-wide)
in which ordinary blocking calls -- ``time.sleep``, threads, sockets,
queues, locks, select, subprocesses, ssl, urllib, requests -- run in
several greenlets at once (``together`` in conftest).  They must overlap:
every call's (start, end) interval shares an instant with all the others,
which cannot happen if any of them blocked the one OS thread.  Elapsed-time
bounds are coarse (well under the sum of the waits).
"""

from __future__ import annotations

import importlib.util
from textwrap import dedent

import pytest
from conftest import KEYCERT, run_script


def patched(*parts: str) -> str:
    """A script that begins like a gevent program: patch first, import after."""
    return "from greenkit import monkey; monkey.patch_all()\n" + "".join(map(dedent, parts))


def test_time_sleep() -> None:
    result = run_script(
        patched("""
        import time
        began = time.monotonic()
        _, overlapped = together(time.sleep, *[(0.5,)] * 10)
        report({"overlapped": overlapped, "elapsed": time.monotonic() - began,
                "patched": monkey.is_module_patched("time")})
    """)
    )
    assert result == {"overlapped": True, "elapsed": result["elapsed"], "patched": True}
    assert result["elapsed"] < 4.5  # the sleeps add up to 5 s


def test_threads_are_greenlets_of_one_hub() -> None:
    result = run_script(
        patched("""
        import threading, time
        import greenkit
        native_ident = monkey.get_original("_thread", "get_ident")
        seen, spans = [], []
        def work():
            seen.append((native_ident(), id(greenkit.get_hub()), threading.get_ident(),
                         threading.current_thread().name))
            start = time.monotonic()
            time.sleep(0.5)
            spans.append((start, time.monotonic()))
        threads = [threading.Thread(target=work, name=f"worker-{n}") for n in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report({"alive": [thread.is_alive() for thread in threads],
                "overlapped": max(s for s, _ in spans) < min(e for _, e in spans),
                "native": len({n for n, _, _, _ in seen}), "hubs": len({h for _, h, _, _ in seen}),
                "idents": len({i for _, _, i, _ in seen}),
                "names": sorted(name for _, _, _, name in seen),
                "main_native": native_ident() == seen[0][0]})
    """)
    )
    assert result["alive"] == [False] * 10
    assert result["overlapped"]
    # ten threads, ten idents, but one OS thread and one hub: the main one
    assert result["idents"] == 10
    assert result["names"] == sorted(f"worker-{n}" for n in range(10))
    assert result["native"] == 1
    assert result["hubs"] == 1
    assert result["main_native"]


def test_greenlet_asking_for_its_thread_exits_quietly() -> None:
    result = run_script(
        patched("""
        import threading
        import greenkit
        def ask():
            return threading.current_thread().daemon
        job = greenkit.spawn(ask)
        job.join()
        report(job.value)
        del job
    """)
    )
    assert result is True  # a dummy thread, as for a thread threading did not start


def test_blocking_socket_server_and_clients() -> None:
    result = run_script(
        patched("""
        import socket, threading, time
        import greenkit.socket
        def handle(conn):
            with conn:
                data = conn.recv(100)
                time.sleep(0.5)
                conn.sendall(data.upper())
        def serve(listener, count):
            for _ in range(count):
                conn, _ = listener.accept()
                threading.Thread(target=handle, args=(conn,)).start()
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        threading.Thread(target=serve, args=(listener, 10), daemon=True).start()
        def client(n):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"hello %d" % n)
                return sock.recv(100).decode()
        answers, overlapped = together(client, *[(n,) for n in range(10)])
        listener.close()
        report({"answers": answers, "overlapped": overlapped,
                "greenkit_socket": socket.socket is greenkit.socket.socket})
    """)
    )
    assert result["answers"] == [f"HELLO {n}" for n in range(10)]
    assert result["overlapped"]
    assert result["greenkit_socket"]


def test_queue_event_and_lock_waits() -> None:
    result = run_script(
        patched("""
        import queue, threading
        empty, never_set, held = queue.Queue(), threading.Event(), threading.Lock()
        held.acquire()
        def wait(kind):
            if kind == "queue":
                try:
                    empty.get(timeout=0.5)
                except queue.Empty:
                    return "queue.Empty"
            if kind == "event":
                return f"event {never_set.wait(0.5)}"
            return f"lock {held.acquire(timeout=0.5)}"
        outcomes, overlapped = together(wait, *[("queue",), ("event",), ("lock",)] * 4)
        # A producer and a consumer thread hand 100 items over a bounded queue.
        handoff, received = queue.Queue(maxsize=3), []
        def produce():
            for n in range(100):
                handoff.put(n)
            handoff.put(None)
        def consume():
            while (item := handoff.get()) is not None:
                received.append(item)
        pair = [threading.Thread(target=consume), threading.Thread(target=produce)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join(timeout=30)
        report({"outcomes": outcomes, "overlapped": overlapped, "received": received})
    """)
    )
    assert result["outcomes"] == ["queue.Empty", "event False", "lock False"] * 4
    assert result["overlapped"]
    assert result["received"] == list(range(100))


def test_select_and_selectors_on_pipes() -> None:
    result = run_script(
        patched("""
        import os, select, selectors, time
        import greenkit
        pipes = [os.pipe() for _ in range(6)]
        def with_select(r):
            readable, _, _ = select.select([r], [], [], 1.0)
            return bool(readable)
        def with_selector(r):
            with selectors.DefaultSelector() as selector:
                selector.register(r, selectors.EVENT_READ)
                return bool(selector.select(timeout=1.0))
        def wait(n, r):
            return (with_select if n % 2 else with_selector)(r)
        def wake_two():  # once everyone is waiting, pipes 0 and 1 become readable
            time.sleep(0.3)
            os.write(pipes[0][1], b"x")
            os.write(pipes[1][1], b"x")
        greenkit.spawn(wake_two)
        ready, overlapped = together(wait, *[(n, r) for n, (r, _) in enumerate(pipes)])
        for r, w in pipes:
            os.close(r)
            os.close(w)
        report({"ready": ready, "overlapped": overlapped})
    """)
    )
    assert result["ready"] == [True, True, False, False, False, False]
    assert result["overlapped"]


def test_subprocesses_run_at_once() -> None:
    result = run_script(
        patched("""
        import subprocess, sys, time
        def run(argv, data):
            done = subprocess.run(argv, input=data, capture_output=True)
            return [done.returncode, len(done.stdout)]
        sleeper = [sys.executable, "-c", "import time; time.sleep(2)"]
        began = time.monotonic()
        outcomes, overlapped = together(run, *[(sleeper, None)] * 4, (["cat"], b"x" * 1_000_000))
        report({"outcomes": outcomes, "overlapped": overlapped,
                "elapsed": time.monotonic() - began})
    """)
    )
    assert result["outcomes"] == [[0, 0]] * 4 + [[0, 1_000_000]]
    assert result["overlapped"]
    assert result["elapsed"] < 6.0  # the children sleep 8 s in all


@pytest.mark.skipif(
    importlib.util.find_spec("greenkit.ssl") is None, reason="greenkit.ssl is not installed"
)
def test_ssl_server_and_clients() -> None:
    result = run_script(
        patched("""
        import socket, ssl, sys, threading, time
        keycert = sys.argv[1]
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(keycert)
        client_ctx = ssl.create_default_context(cafile=keycert)
        def handle(conn):
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                data = tls.recv(100)
                time.sleep(0.5)
                tls.sendall(data[::-1])
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        def serve():
            for _ in range(6):
                conn, _ = listener.accept()
                threading.Thread(target=handle, args=(conn,)).start()
        threading.Thread(target=serve, daemon=True).start()
        def client(n):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"ping %d" % n)
                    return [tls.recv(100).decode(), tls.version()]
        answers, overlapped = together(client, *[(n,) for n in range(6)])
        listener.close()
        report({"answers": answers, "overlapped": overlapped,
                "patched": monkey.is_module_patched("ssl")})
    """),
        str(KEYCERT),
    )
    assert [answer for answer, _ in result["answers"]] == [f"{n} gnip" for n in range(6)]
    assert all(version.startswith("TLS") for _, version in result["answers"])
    assert result["overlapped"]
    assert result["patched"]


# The rest of a script that defines get(url) -> str: ten GETs at once against
# a WSGIServer whose application blocks in time.sleep.
HTTP_SERVER = """
    import time
    from greenkit.pywsgi import WSGIServer
    def app(environ, start_response):
        time.sleep(0.5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]
    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    base = f"http://127.0.0.1:{server.server_port}"
    bodies, overlapped = together(get, *[(f"{base}/page/{n}",) for n in range(10)])
    server.stop()
    report({"bodies": bodies, "overlapped": overlapped})
"""


def test_urllib_against_pywsgi() -> None:
    result = run_script(
        patched(
            """
        import urllib.request
        def get(url):
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read().decode()
    """,
            HTTP_SERVER,
        )
    )
    assert result == {"bodies": [f"/page/{n}" for n in range(10)], "overlapped": True}


@pytest.mark.skipif(
    importlib.util.find_spec("requests") is None, reason="requests is not installed"
)
def test_requests_against_pywsgi() -> None:
    result = run_script(
        patched(
            """
        import requests
        session = requests.Session()  # one pool of keep-alive connections, shared
        def get(url):
            response = session.get(url, timeout=30)
            response.raise_for_status()
            return response.text
    """,
            HTTP_SERVER,
        )
    )
    assert result == {"bodies": [f"/page/{n}" for n in range(10)], "overlapped": True}
