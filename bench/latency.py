"""Benchmark: governed p99 next to pipeline-off p99 at the same offered load (issue 18's latency target).

``bench/pipeline.py`` loads each line with wrk's closed loop at 64 connections: every line runs
flat out, so its p99 is mostly queueing and follows its throughput, and two lines are never at
the same load. Here both lines get the **same offered rate**, well below what either serves:
each of ``--connections`` wrk connections waits a random pause before each request (Lua
``delay()``, uniform between 0.5 and 1.5 of ``connections / rate``), so the offered rate is about
``--rate`` requests/s whichever line answers, and the percentiles are the service time plus what
little queueing that load causes. (wrk, not wrk2: a response slower than the pause delays the
connection's next request — coordinated omission — which only flatters a slow line; at rates
far below saturation it is rare, and the achieved rate is printed beside each run to show it.)

For each rate, the two lines run interleaved for ``--rounds`` rounds (pipeline off, governed, in
that order, then the other order next round); the ratio governed p99 / pipeline-off p99 is taken
per round, and its median and spread reported. Target: ≤ 1.3.

Usage: ``uv run python bench/latency.py [--rates 200 500 1000] [--rounds 4] [--duration 10]``
(``make bench-latency``). Needs wrk (Debian package ``wrk``). Run it on a quiet machine: with
other work on the cores, the scheduler's pauses dominate both p99s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import _LATENCY, _REQUESTS, _RPS, _UNIT, MEMORY, OFF, Server, free_port, prepare  # noqa: E402

PACED_SCRIPT = """
local pause_ms = tonumber(os.getenv("BENCH_PAUSE_MS"))
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function delay()
  return pause_ms * (0.5 + math.random())
end
"""
"""Every connection waits a uniform random pause of mean ``BENCH_PAUSE_MS`` before each request."""


def paced_wrk(url: str, token: str, rate: float, duration: int, connections: int, threads: int) -> dict[str, float]:
    """wrk at about ``rate`` requests/s in all: requests/s achieved and latency percentiles (µs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(PACED_SCRIPT)
        script.flush()
        env = {**os.environ, "BENCH_PAUSE_MS": str(connections / rate * 1000)}
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
        command += ["-H", f"Authorization: Bearer {token}", url]
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=duration + 60)
    text = output.stdout
    result = {"rps": float(_RPS.search(text).group(1)), "requests": float(_REQUESTS.search(text).group(1))}  # type: ignore[union-attr]
    for percentile, value, unit in _LATENCY.findall(text):
        result[f"p{percentile}_us"] = float(value) * _UNIT[unit]
    return result


def run(prepared: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Per rate: every round of both lines, the per-round p99 ratios, their median and spread."""
    token = prepared["token"]
    lines = [(OFF, False), (MEMORY, True)]
    results: dict[str, Any] = {}
    for rate in args.rates:
        samples: dict[str, list[dict[str, float]]] = {OFF: [], MEMORY: []}
        for round_number in range(args.rounds):
            order = lines if round_number % 2 == 0 else list(reversed(lines))
            for name, governed in order:
                port = free_port()
                with Server(prepared["env"], port, governed):
                    url = f"http://127.0.0.1:{port}/system/bench/v1/ping"
                    check = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                    assert check.status_code == 200, (name, check.status_code, check.text[:300])
                    paced_wrk(url, token, rate, 2, args.connections, args.threads)  # warm-up
                    result = paced_wrk(url, token, rate, args.duration, args.connections, args.threads)
                samples[name].append(result)
                print(
                    f"rate {rate:5.0f}/s round {round_number + 1} {name:28} achieved {result['rps']:7.0f}/s"
                    f"  p50 {result.get('p50_us', 0):7.0f} µs  p90 {result.get('p90_us', 0):7.0f} µs"
                    f"  p99 {result.get('p99_us', 0):7.0f} µs",
                    flush=True,
                )
        pairs = list(zip(samples[MEMORY], samples[OFF], strict=True))
        per_round = [governed["p99_us"] / off["p99_us"] for governed, off in pairs]
        median = statistics.median(per_round)
        results[str(rate)] = {
            "rounds": samples,
            "p99_ratio_rounds": [round(value, 3) for value in per_round],
            "p99_ratio_median": round(median, 3),
            "p50_ratio_median": round(statistics.median(g["p50_us"] / o["p50_us"] for g, o in pairs), 3),
            "target": 1.3,
            "met": median <= 1.3,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[200.0, 500.0, 1000.0], help="offered requests/s")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args()
    started = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory() as workdir:
        prepared = prepare(Path(workdir))
        results = run(prepared, args)
    print()
    for rate, result in results.items():
        verdict = "met" if result["met"] else "NOT met"
        print(
            f"rate {float(rate):5.0f}/s: governed p99 / pipeline off p99 = {result['p99_ratio_median']:.2f}"
            f" (rounds {result['p99_ratio_rounds']}), p50 ratio {result['p50_ratio_median']:.2f}"
            f" — target ≤ 1.3, {verdict}"
        )
    out = ROOT / "bench" / "results" / f"latency-{started}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    meta = {"machine": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(), "load": load}
    out.write_text(json.dumps({"meta": meta, "args": vars(args), "results": results}, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
