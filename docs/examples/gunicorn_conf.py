"""gunicorn settings of the gunicorn guide (a configuration file is Python)."""

bind = "127.0.0.1:0"  # a free port, read back from the "Listening at" line
workers = 1  # one process: the concurrency below is greenlets
worker_connections = 100  # connections served at once by that process
keepalive = 2  # seconds an idle keep-alive connection is kept
graceful_timeout = 5  # SIGTERM: requests in flight get this long
control_socket_disable = True  # gunicorn 27's control socket (older gunicorns ignore it)
