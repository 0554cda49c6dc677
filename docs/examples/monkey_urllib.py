"""Plain standard-library code, made cooperative by ``python -m greenkit.monkey``.

Four HTTP requests to a local server whose handler sleeps 0.5 s: with the
standard library patched, the threads are greenlets and the requests
overlap.
"""

import http.server
import socket
import threading
import time
import urllib.request


class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/"

statuses: list[int] = []
start = time.monotonic()
clients = [
    threading.Thread(target=lambda: statuses.append(urllib.request.urlopen(url).status))
    for _ in range(4)
]
for client in clients:
    client.start()
for client in clients:
    client.join()
elapsed = time.monotonic() - start
server.shutdown()

print("socket patched:", socket.socket.__module__.startswith("greenkit"))
print("4 requests, all 200, at once:", statuses == [200] * 4 and elapsed < 1.8)
