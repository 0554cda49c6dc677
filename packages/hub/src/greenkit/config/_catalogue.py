"""The catalogue of :mod:`greenkit.config`: every setting greenkit has, with its
default, description and gevent's names for it."""

from __future__ import annotations

from greenkit.config._setting import (
    BoolSetting,
    ByteCountSetting,
    FloatSetting,
    ImportableSetting,
    LibevBackendSetting,
    PassThroughSetting,
    ResolverServersSetting,
    ResolverTimeoutSetting,
    Setting,
    _TraceMallocSetting,
    _Unavailable,
)

__all__ = ["SETTINGS"]

_LIBUV_WHY = "libuv loops are not available in greenkit"

SETTINGS: list[Setting] = [
    ImportableSetting(
        "resolver",
        ["thread", "dnspython", "ares", "block"],
        """
        The class used to create the hub's DNS resolver (``Hub.resolver``).
        Short names: thread, dnspython, ares, block.  Shipped by greenkit-io.
        """,
        shortname_map={
            "thread": "greenkit.resolver.thread.Resolver",
            "dnspython": "greenkit.resolver.dnspython.Resolver",
            "ares": "greenkit.resolver.ares.Resolver",
            "block": "greenkit.resolver.blocking.Resolver",
        },
        gevent_names={
            "gevent.resolver_thread.Resolver": "greenkit.resolver.thread.Resolver",
            "gevent.resolver_ares.Resolver": "greenkit.resolver.ares.Resolver",
            "gevent.resolver.cares.Resolver": "greenkit.resolver.ares.Resolver",
        },
        gevent_environment_keys=["GEVENT_RESOLVER"],
    ),
    ImportableSetting(
        "threadpool",
        "greenkit.threadpool.ThreadPool",
        """
        The class used to create the hub's thread pool (``Hub.threadpool``).
        Shipped by greenkit-threads.
        """,
        gevent_environment_keys=["GEVENT_THREADPOOL"],
    ),
    FloatSetting(
        "threadpool_idle_task_timeout",
        5.0,
        """
        How long, in seconds, an idle thread of the default thread pool waits
        for a task before exiting.  -1 means wait forever.
        """,
        allowed_negative=(-1.0,),
        gevent_environment_keys=["GEVENT_THREADPOOL_IDLE_TASK_TIMEOUT"],
    ),
    ImportableSetting(
        "loop",
        ["libev"],
        """
        The event loop class every new hub instantiates (``loop(flags, default)``).
        Short name: libev (gevent's libev-cext and libev-cffi mean the same loop;
        gevent's libuv loops are not available and fall back to libev with a
        warning).  Shipped by greenkit-loop-libev.
        """,
        shortname_map={"libev": "greenkit.loop.libev.loop"},
        gevent_names={
            "libev-cext": "greenkit.loop.libev.loop",
            "libev-cffi": "greenkit.loop.libev.loop",
            "gevent.libev.corecext.loop": "greenkit.loop.libev.loop",
            "gevent.libev.corecffi.loop": "greenkit.loop.libev.loop",
            "gevent.core.loop": "greenkit.loop.libev.loop",
            "libuv-cffi": _Unavailable("libuv-cffi", _LIBUV_WHY),
            "libuv": _Unavailable("libuv", _LIBUV_WHY),
            "gevent.libuv.loop.loop": _Unavailable("gevent.libuv.loop.loop", _LIBUV_WHY),
        },
        gevent_environment_keys=["GEVENT_LOOP"],
    ),
    ImportableSetting(
        "format_context",
        "pprint.saferepr",
        """
        The function that formats a greenlet's context (e.g. ``spawn_tree_locals``)
        in error reports.
        """,
        gevent_environment_keys=["GEVENT_FORMAT_CONTEXT"],
    ),
    LibevBackendSetting(
        "libev_backend",
        None,
        """
        libev backend names and loop flags for new loops, such as 'epoll' or
        'poll,nosigmask' (passed to the loop as ``flags``).  None lets libev choose.
        """,
        gevent_environment_keys=["GEVENT_BACKEND"],
    ),
    ImportableSetting(
        "fileobject",
        ["posix", "thread"],
        """
        The FileObject class ``greenkit.fileobject.FileObject`` names.
        Short names: thread, posix, block.  Shipped by greenkit-io.
        """,
        shortname_map={
            "thread": "greenkit.fileobject.FileObjectThread",
            "posix": "greenkit.fileobject.FileObjectPosix",
            "block": "greenkit.fileobject.FileObjectBlock",
        },
        gevent_names={
            "gevent._fileobjectcommon.FileObjectThread": "greenkit.fileobject.FileObjectThread",
            "gevent._fileobjectposix.FileObjectPosix": "greenkit.fileobject.FileObjectPosix",
            "gevent._fileobjectcommon.FileObjectBlock": "greenkit.fileobject.FileObjectBlock",
        },
        gevent_environment_keys=["GEVENT_FILE"],
    ),
    BoolSetting(
        "disable_watch_children",
        False,
        """
        Should the event loop *not* watch child processes (no SIGCHLD child
        watchers for ``greenkit.os`` / ``greenkit.subprocess``)?  Advanced.
        """,
        gevent_environment_keys=["GEVENT_NOWAITPID"],
    ),
    BoolSetting(
        "track_greenlet_tree",
        True,
        """
        Should greenlets record their spawning greenlet, spawn tree locals and
        spawning stack?  False makes spawning faster and lighter.
        """,
        gevent_environment_keys=["GEVENT_TRACK_GREENLET_TREE"],
    ),
    BoolSetting(
        "monitor_thread",
        False,
        """
        Should each hub start a native monitoring thread the first time it
        runs?  It reports a loop blocked longer than max_blocking_time and,
        with psutil, watches memory usage (see greenkit.events).
        """,
        gevent_environment_keys=["GEVENT_MONITOR_THREAD_ENABLE"],
    ),
    FloatSetting(
        "max_blocking_time",
        0.1,
        """
        With monitor_thread on: roughly how long, in seconds, the event loop
        may go without switching greenlets before it is reported as blocked.
        Relies on greenlet.settrace (a tracer installed earlier is still called).
        """,
        gevent_environment_keys=["GEVENT_MAX_BLOCKING_TIME"],
    ),
    BoolSetting(
        "print_blocking_reports",
        True,
        """
        With monitor_thread on: print a report to the hub's exception_stream
        when the loop is blocked?  The EventLoopBlocked event is emitted either way.
        """,
        gevent_environment_keys=["GEVENT_MONITOR_PRINT_BLOCKING_REPORTS"],
    ),
    FloatSetting(
        "memory_monitor_period",
        5.0,
        """
        With monitor_thread on and max_memory_usage set: roughly how often, in
        seconds, the process's memory usage is checked (at least once a second).
        """,
        gevent_environment_keys=["GEVENT_MONITOR_MEMORY_PERIOD"],
    ),
    ByteCountSetting(
        "max_memory_usage",
        None,
        """
        With monitor_thread on: the memory usage, in bytes, above which
        MemoryUsageThresholdExceeded is emitted (and MemoryUsageUnderThreshold
        when it falls back).  Accepts a KB, MB or GB suffix.  Needs psutil.
        No default.
        """,
        gevent_environment_keys=["GEVENT_MONITOR_MEMORY_MAX"],
    ),
    _TraceMallocSetting(
        "trace_malloc",
        False,
        """
        Should the loop's native objects record where they were allocated?
        Only for low-level debugging.
        """,
        gevent_environment_keys=["PYTHONTRACEMALLOC"],
    ),
    ResolverServersSetting(
        "resolver_nameservers",
        None,
        """
        IP addresses of the nameservers the dnspython and ares resolvers use
        instead of the system's (comma-separated in the environment).  The
        thread and blocking resolvers ignore it.
        """,
        gevent_environment_keys=["GEVENT_RESOLVER_NAMESERVERS"],
    ),
    ResolverTimeoutSetting(
        "resolver_timeout",
        None,
        """
        The total time, in seconds, the ares and dnspython resolvers spend on a query.
        """,
        gevent_environment_keys=["GEVENT_RESOLVER_TIMEOUT"],
    ),
    PassThroughSetting(
        "ares_flags",
        None,
        "c-ares channel flags (ares resolver only).",
        gevent_environment_keys=["GEVENTARES_FLAGS"],
    ),
    PassThroughSetting(
        "ares_timeout",
        None,
        "c-ares timeout. Deprecated: prefer resolver_timeout.",
        gevent_environment_keys=["GEVENTARES_TIMEOUT"],
    ),
    PassThroughSetting(
        "ares_tries",
        None,
        "c-ares number of tries (ares resolver only).",
        gevent_environment_keys=["GEVENTARES_TRIES"],
    ),
    PassThroughSetting(
        "ares_ndots",
        None,
        "c-ares ndots option (ares resolver only).",
        gevent_environment_keys=["GEVENTARES_NDOTS"],
    ),
    PassThroughSetting(
        "ares_udp_port",
        None,
        "c-ares UDP port (ares resolver only).",
        gevent_environment_keys=["GEVENTARES_UDP_PORT"],
    ),
    PassThroughSetting(
        "ares_tcp_port",
        None,
        "c-ares TCP port (ares resolver only).",
        gevent_environment_keys=["GEVENTARES_TCP_PORT"],
    ),
    ResolverServersSetting(
        "ares_servers",
        None,
        "Nameserver IP addresses for the ares resolver (comma-separated in the environment)."
        " Deprecated: prefer resolver_nameservers.",
        gevent_environment_keys=["GEVENTARES_SERVERS"],
    ),
]
