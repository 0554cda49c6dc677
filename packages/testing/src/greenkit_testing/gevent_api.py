"""Facts about gevent's public API that several packages' tests check greenkit against."""

__all__ = ["GEVENT_TOP_LEVEL_ALL"]

#: gevent 26.9's top-level ``__all__`` (its documented "common functions").
GEVENT_TOP_LEVEL_ALL = (
    "Greenlet",
    "GreenletExit",
    "Timeout",
    "config",
    "fork",
    "get_hub",
    "getcurrent",
    "getswitchinterval",
    "idle",
    "iwait",
    "joinall",
    "kill",
    "killall",
    "reinit",
    "setswitchinterval",
    "signal_handler",
    "sleep",
    "spawn",
    "spawn_later",
    "spawn_raw",
    "wait",
    "with_timeout",
)
