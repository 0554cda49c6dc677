"""asyncio under monkey.patch_all(): executors and patched threads beside the loop."""

from greenkit import monkey

monkey.patch_all()  # first thing, before anything imports threading or socket

import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import greenkit.asyncio  # noqa: E402


def square(n):
    time.sleep(0.5)  # patched: cooperative in a greenlet, a plain wait in a native thread
    return n * n


async def main():
    loop = asyncio.get_running_loop()
    # A patched "thread" is a greenlet: these three sleep alongside the loop.
    threads = [threading.Thread(target=time.sleep, args=(0.5,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    # Executor work goes to the hub's pool of native threads.
    doubled, squared = await asyncio.gather(
        asyncio.to_thread(square, 2),
        loop.run_in_executor(None, square, 3),
    )
    for thread in threads:
        # join() would block the loop's greenlet: wait for it in a greenlet instead.
        await greenkit.asyncio.run_in_greenlet(thread.join)
    print("loop:", type(loop).__name__)
    print(f"to_thread: {doubled}, run_in_executor: {squared}, threads: {len(threads)}")


start = time.monotonic()
with asyncio.Runner(loop_factory=greenkit.asyncio.new_event_loop) as runner:
    runner.run(main())
print("all of it took less than 1.4 s:", time.monotonic() - start < 1.4)
