"""Run by test_monkey.py in a child process: asyncio under monkey.patch_all().

argv[1] is "default" (asyncio.run's own loop) or "greenkit" (the greenkit
policy).  Prints one JSON object: what each call returned and how long it took.
"""

from greenkit import monkey

monkey.patch_all()

import asyncio  # noqa: E402
import concurrent.futures  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import greenkit.asyncio as gasyncio  # noqa: E402
from greenkit.greenlet import Greenlet  # noqa: E402

#: gevent #2213: a result that is never delivered shows up as this timeout.
STALL = 30.0


async def timed(awaitable: object) -> list[object]:
    start = time.monotonic()
    value = await asyncio.wait_for(awaitable, STALL)  # type: ignore[arg-type]
    return [repr(value), time.monotonic() - start]


def square(x: int) -> int:
    time.sleep(0.01)
    return x * x


async def main() -> dict[str, object]:
    loop = asyncio.get_running_loop()
    seen_from_greenlet = (
        await gasyncio.run_in_greenlet(asyncio._get_running_loop)
        if isinstance(loop, gasyncio.GreenkitEventLoop)
        else None
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        own_pool = await timed(loop.run_in_executor(pool, square, 3))
    infos = await timed(loop.getaddrinfo("localhost", 80, type=1))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print('child')", stdout=asyncio.subprocess.PIPE
    )
    child = await timed(proc.communicate())
    return {
        "loop": type(loop).__name__,
        "to_thread": await timed(asyncio.to_thread(square, 2)),
        "run_in_executor": await timed(loop.run_in_executor(None, square, 4)),
        "own_executor": own_pool,
        "getaddrinfo": [infos[0] != "[]", infos[1]],
        "subprocess": child,
        "greenlet_sees_running_loop": seen_from_greenlet is not None,
        "greenlet_alongside": Greenlet.spawn(lambda: "ran").get(timeout=STALL),
    }


if __name__ == "__main__":
    if sys.argv[1] == "greenkit":
        asyncio.set_event_loop_policy(gasyncio.EventLoopPolicy())
    print(json.dumps(asyncio.run(main())))
