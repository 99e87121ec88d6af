"""Benchmark: what the governance pipeline costs, side by side in one run.

Starts the real server (granian, 1 worker, the production app factory plus one cheap
route) in four configurations and loads each with wrk from a second process on loopback:

* cheap route, pipeline off        — the ceiling of server + framework + handler;
* cheap route, governed (memory)   — token check, scopes, rate limit, contract, audit, metrics;
* cheap route, governed (Redis)    — rate limits in Redis (one Lua round trip per request);
* CRM ``GET /accounts/{id}``, governed and off — a realistic read through the connector to the
  in-process Salesforce sandbox.

Configurations run interleaved for ``--rounds`` rounds, so drift on a noisy machine hits all
of them alike; medians are reported with ratios. Also measured in-process: CPU microseconds
per request of each policy (``--policies``).

Usage: ``uv run python bench/pipeline.py [--duration 8] [--rounds 3] [--connections 64]``;
``--baseline-tree DIR`` adds every configuration served by another checkout (e.g. a
``git worktree`` of the commit before a change), interleaved with this one's.
Needs ``wrk`` (Debian package ``wrk``) and, for the Redis line, Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
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

BENCH_TIER = "bench"
GOVERNANCE_EXTRA = (
    f"  {BENCH_TIER}:\n    description: Benchmark client (limits checked, never reached).\n"
    '    limits: ["100000000/second"]\n'
)


def prepare(workdir: Path) -> dict[str, Any]:
    """Contracts with the bench probe, a governance file with the bench tier, a client and a token."""
    contracts = workdir / "contracts"
    shutil.copytree(ROOT / "contracts", contracts)
    shutil.copytree(ROOT / "bench" / "contracts" / "system" / "bench", contracts / "system" / "bench")
    governance = (contracts / "governance.yaml").read_text().replace("tiers:\n", "tiers:\n" + GOVERNANCE_EXTRA, 1)
    # wrk sends every request from one address: lift the flood guard out of the way too
    # (its check still runs and is measured).
    governance = governance.replace('limits: ["200/second"]', 'limits: ["100000000/second"]')
    (contracts / "governance.yaml").write_text(governance)
    state = workdir / "state"
    env = {
        "STRATA_STATE_DIR": str(state),
        "STRATA_CONTRACTS_DIR": str(contracts),
        "STRATA_SEED_DEMO": "false",
        "STRATA_LOG_LEVEL": "error",
        "STRATA_TOKEN_TTL_SECONDS": "3600",
        # Every server of the run shares one public URL, hence one issuer, like processes
        # behind one load balancer.
        "STRATA_PUBLIC_URL": "http://gateway.bench",
    }
    from gateway.settings import load_settings
    from gateway.state import issue_token, open_client_store, prepare_state

    settings = load_settings(environ=env)

    async def setup() -> tuple[str, str]:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(
                name="bench", scopes=["system:bench:read", "system:crm:read"], tier=BENCH_TIER
            )
        assert secret is not None
        return record.client_id, await issue_token(settings, record.client_id, secret, None)

    client_id, token = asyncio.run(setup())
    return {"env": env, "token": token, "client_id": client_id, "settings": settings}


class Server:
    """One granian process serving the bench app."""

    def __init__(
        self, env: dict[str, str], port: int, governed: bool, redis_url: str = "", tree: Path | None = None
    ) -> None:
        self.port = port
        self.tree = tree or ROOT
        """The checkout whose code serves (another one with ``--baseline-tree``), with its own venv."""
        self.env = {
            **os.environ,
            **env,
            "STRATA_PORT": str(port),
            "STRATA_REDIS_URL": redis_url,
            "BENCH_GOVERNED": "1" if governed else "0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        python = sys.executable if self.tree == ROOT else str(self.tree / ".venv" / "bin" / "python")
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--factory",
                "--no-ws",
                "--log-level",
                "error",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "bench.app:create_bench_app",
            ],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/live", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("bench server did not start")

    def __exit__(self, *exc: Any) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_UNIT = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def wrk(url: str, token: str, duration: int, connections: int) -> dict[str, float]:
    """Run wrk and parse requests/s and latency percentiles (µs)."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {"rps": float(_RPS.search(output).group(1))}  # type: ignore[union-attr]
    for percentile, value, unit in _LATENCY.findall(output):
        result[f"p{percentile}_us"] = float(value) * _UNIT[unit]
    non2xx = _NON2XX.search(output)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def redis_calls(redis_url: str) -> int:
    """Round trips the gateway made to Redis: top-level commands, i.e. EVALSHA calls.

    (``total_commands_processed`` would also count the GET/INCRBY/EXPIRE each script runs
    inside Redis, which cost no round trip.)
    """
    import redis

    stats = redis.Redis.from_url(redis_url).info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def run_http(prepared: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved rounds of every configuration; medians per configuration."""
    token = prepared["token"]
    account_id = first_account_id(prepared, token)
    configs = [
        ("cheap, pipeline off", "/system/bench/v1/ping", False, ""),
        ("cheap, governed (memory)", "/system/bench/v1/ping", True, ""),
        ("cheap, governed (Redis)", "/system/bench/v1/ping", True, args.redis_url),
        ("CRM get account, pipeline off", f"/system/crm/v1/accounts/{account_id}", False, ""),
        ("CRM get account, governed (memory)", f"/system/crm/v1/accounts/{account_id}", True, ""),
    ]
    trees: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline_tree:
        trees.append((" [baseline]", Path(args.baseline_tree).resolve()))
    runs = [
        (name + suffix, path, governed, redis_url, tree)
        for name, path, governed, redis_url in configs
        for suffix, tree in trees
    ]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in runs}
    for round_number in range(args.rounds):
        for name, path, governed, redis_url, tree in runs:
            if redis_url and not redis_available(redis_url):
                continue
            port = free_port()
            with Server(prepared["env"], port, governed, redis_url, tree):
                url = f"http://127.0.0.1:{port}{path}"
                check = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert check.status_code == 200, (name, check.status_code, check.text[:300])
                wrk(url, token, 2, args.connections)  # warm-up
                before = redis_calls(redis_url) if redis_url else 0
                result = wrk(url, token, args.duration, args.connections)
                if redis_url:
                    requests = result["rps"] * args.duration
                    result["redis_round_trips_per_request"] = (redis_calls(redis_url) - before) / max(requests, 1)
                samples[name].append(result)
                print(
                    f"round {round_number + 1} {name:49} {result['rps']:9.0f} rps"
                    f"  p50 {result.get('p50_us', 0):7.0f} µs  p99 {result.get('p99_us', 0):7.0f} µs"
                    f"  non-2xx {result['non2xx']:.0f}",
                    flush=True,
                )
    return {
        name: {key: statistics.median(sample[key] for sample in runs) for key in runs[0]}
        for name, runs in samples.items()
        if runs
    }


def free_port() -> int:
    """A loopback port nothing listens on (so a stray server can never answer for ours)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_available(redis_url: str) -> bool:
    try:
        redis_calls(redis_url)
        return True
    except Exception:
        return False


def first_account_id(prepared: dict[str, Any], token: str) -> str:
    """An account id from the sandbox, through the real API (started once, off the clock)."""
    port = free_port()
    with Server(prepared["env"], port, True):
        response = httpx.get(
            f"http://127.0.0.1:{port}/system/crm/v1/accounts?limit=1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["items"][0]["id"])


def run_policies(prepared: dict[str, Any], iterations: int) -> dict[str, float]:
    """In-process CPU µs per request of each policy on the cheap route (token cache warm)."""
    from bench.policy_costs import measure

    return asyncio.run(measure(prepared, iterations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--policy-iterations", type=int, default=5000)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--baseline-tree",
        help="another checkout of Strata (with its own .venv) whose servers run interleaved with this one's, "
        "each configuration's line marked [baseline]: before/after of a change in one run",
    )
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.skip_http:
        sys.exit("bench/pipeline.py needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        prepared = prepare(Path(tmp))
        report: dict[str, Any] = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "policies_us": run_policies(prepared, args.policy_iterations),
        }
        print(json.dumps(report["policies_us"], indent=2))
        if not args.skip_http:
            report["http"] = run_http(prepared, args)
            http = report["http"]
            off, mem = http.get("cheap, pipeline off"), http.get("cheap, governed (memory)")
            if off and mem:
                report["cheap_governed_ratio"] = mem["rps"] / off["rps"]
                report["cheap_added_us_per_request"] = 1e6 / mem["rps"] - 1e6 / off["rps"]
            redis_line = http.get("cheap, governed (Redis)")
            if redis_line and mem:
                report["redis_vs_memory_ratio"] = redis_line["rps"] / mem["rps"]
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        path = out / f"pipeline-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2))
        print(json.dumps({k: v for k, v in report.items() if k != "policies_us"}, indent=2))
        print(f"written to {path}")


if __name__ == "__main__":
    main()
