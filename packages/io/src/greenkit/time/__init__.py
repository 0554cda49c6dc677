"""The cooperative counterpart of the standard ``time`` module.

Only :func:`sleep` differs: it parks the current greenlet in the hub instead
of blocking the thread.  Monkey patching copies ``__implements__`` into
``time``.
"""

from greenkit.hub import sleep

__all__ = ["sleep"]
__implements__ = ["sleep"]
