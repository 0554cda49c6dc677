"""Threads become greenlets once the standard library is patched."""

from greenkit import monkey

monkey.patch_all()  # first thing, before anything imports threading or socket

import threading  # noqa: E402
import time  # noqa: E402

start = time.monotonic()
threads = [threading.Thread(target=time.sleep, args=(0.2,)) for _ in range(10)]
for thread in threads:
    thread.start()  # a greenlet each
for thread in threads:
    thread.join()
elapsed = time.monotonic() - start

print("patched:", monkey.is_module_patched("threading"))
print("ten 0.2 s sleeps took less than 1.5 s:", elapsed < 1.5)
print("the original sleep is the real one:", monkey.get_original("time", "sleep") is not time.sleep)
