"""One OS process of the cross-process rate-limit test (run by test_rate_limit_cross_process.py).

Usage: python rate_limit_worker.py REDIS_URL KEY_PREFIX CLIENT_ID REQUESTS LIMIT...

Builds a Redis backend and warms it, prints ``ready``, waits for a line on standard input (the
test sends it once every process is ready, so a slow interpreter start on a loaded machine
cannot make one process finish before another begins), fires REQUESTS admissions at once with
asyncio, and prints how many were accepted as JSON.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys

from policies.rate_limit_backends import RedisRateLimitBackend, parse_limits

WAVES = 40
PAUSE_SECONDS = 0.005


async def main(redis_url: str, prefix: str, client_id: str, requests: int, texts: list[str]) -> None:
    backend = RedisRateLimitBackend(redis_url, key_prefix=prefix, socket_timeout=5.0)
    limits = parse_limits(texts)
    # Open the connections and load the script before the start, so the race is only admissions.
    await asyncio.gather(*(backend.admit("warm-up", limits, 0) for _ in range(requests)))
    # As the gateway does after start-up: a full collection of the import-time objects must
    # not pause one process in the middle of the race (it then loses every admission).
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    # In waves over ~0.2 s rather than all at once: 300 pipelined admissions take a few
    # milliseconds, less than one process can lag the other in waking up on a busy machine, and
    # then one process takes every admission before the other sends its first.
    admissions = []
    for wave in range(WAVES):
        share = requests // WAVES + (1 if wave < requests % WAVES else 0)
        admissions += await asyncio.gather(*(backend.admit(client_id, limits, 1) for _ in range(share)))
        await asyncio.sleep(PAUSE_SECONDS)
    await backend.aclose()
    print(json.dumps({"accepted": sum(admission.allowed for admission in admissions)}))


if __name__ == "__main__":
    url, key_prefix, client, count = sys.argv[1:5]
    asyncio.run(main(url, key_prefix, client, int(count), sys.argv[5:]))
