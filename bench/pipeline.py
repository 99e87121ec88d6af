"""Benchmark: what the governance pipeline costs, side by side in one run.

Starts the real server (granian, 1 worker, the production app factory plus one cheap
route) in several configurations and loads each with wrk from a second process on loopback:

* cheap route, bare Litestar       — Litestar alone serving the same handler: the framework's ceiling;
* cheap route, pipeline off        — the gateway app (edge, correlation) with contracts not bound;
* cheap route, governed (memory)   — token check, scopes, rate limit, contract, audit, metrics;
* cheap route, governed, token churn — the same, every request one of ``--churn-tokens`` distinct
  valid tokens in rotation (more than the verified-token cache holds): RS256 on every request;
* cheap route, governed (Redis)    — rate limits in Redis (one Lua round trip per request);
* CRM ``GET /accounts/{id}``, governed and off — a realistic read through the connector to the
  in-process Salesforce sandbox.

``--memory`` measures instead one governed worker's resident memory: idle, after 10,000
requests and after ``--memory-requests`` (1,000,000 by default; ``make bench-memory``).

Configurations run interleaved for ``--rounds`` rounds, so drift on a noisy machine hits all
of them alike; medians are reported with ratios. Also measured in-process: CPU microseconds
per request of each policy (``--policies``).

Usage: ``uv run python bench/pipeline.py [--duration 8] [--rounds 3] [--connections 64] [--threads 2]``;
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


def prepare(workdir: Path, churn_tokens: int = 0) -> dict[str, Any]:
    """Contracts with the bench probe, a governance file with the bench tier, a client and a token.

    With ``churn_tokens``, that many more distinct valid tokens of the same client are signed
    (with the gateway's own signing key and token code) and written one a line to a file.
    """
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
    from gateway.state import issue_token, open_client_store, open_key_store, prepare_state
    from policies.oauth.access_tokens import issue_access_token

    settings = load_settings(environ=env)
    tokens_file = workdir / "tokens.txt"

    async def setup() -> tuple[str, str]:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(
                name="bench", scopes=["system:bench:read", "system:crm:read"], tier=BENCH_TIER
            )
        assert secret is not None
        if churn_tokens:
            async with open_key_store(settings) as keys:
                with tokens_file.open("w") as out:
                    for _ in range(churn_tokens):
                        token, _claims = issue_access_token(
                            keys, record, tuple(record.oauth_scopes), issuer=settings.issuer, ttl_seconds=3600
                        )
                        out.write(token + "\n")
        return record.client_id, await issue_token(settings, record.client_id, secret, None)

    started = time.monotonic()
    client_id, token = asyncio.run(setup())
    if churn_tokens:
        print(f"signed {churn_tokens} tokens in {time.monotonic() - started:.0f} s", flush=True)
    return {
        "env": env,
        "token": token,
        "client_id": client_id,
        "settings": settings,
        "tokens_file": tokens_file if churn_tokens else None,
    }


GATEWAY_FACTORY = "bench.app:create_bench_app"
PII_ON = "CRM list 50 contacts, governed, PII policy masking"
PII_OFF = "CRM list 50 contacts, governed, PII policy out"
BARE_FACTORY = "bench.app:create_bare_app"


class Server:
    """One granian process serving the bench app."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        governed: bool,
        redis_url: str = "",
        tree: Path | None = None,
        factory: str = GATEWAY_FACTORY,
    ) -> None:
        self.port = port
        self.tree = tree or ROOT
        """The checkout whose code serves (another one with ``--baseline-tree``), with its own venv."""
        self.factory = factory
        # Start-up imports ~1,000 modules; with PYTHONDONTWRITEBYTECODE set (as on the CI
        # machines) every server of the run would compile them all again (~30 s each on a
        # busy machine). The first server writes the bytecode; the others read it.
        inherited = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        self.env = {
            **inherited,
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
                self.factory,
            ],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180  # start-up takes 10-40 s on a busy machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/live", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("bench server did not start")

    def worker_pids(self) -> list[int]:
        """The granian worker processes (children of the main process)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def __exit__(self, *exc: Any) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS = re.compile(r"(\d+) requests in")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_UNIT = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}

# Rotates through a file of tokens, one a line; thread k of n starts k/n of the way in, so a
# token comes back only after every other token was sent once (no thread reuses another's
# recent tokens, which would turn misses into cache hits).
CHURN_SCRIPT = """
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  tokens = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  threads = tonumber(os.getenv("BENCH_THREADS"))
  position = math.floor(#tokens * offset / threads)
end
function request()
  position = position % #tokens + 1
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[position]})
end
"""


def wrk(
    url: str,
    token: str,
    duration: int,
    connections: int,
    threads: int = 2,
    tokens_file: Path | None = None,
) -> dict[str, float]:
    """Run wrk and parse requests/s and latency percentiles (µs).

    With ``tokens_file``, every request carries the next token of the file instead of ``token``.
    """
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    env = dict(os.environ)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if tokens_file is not None:
            script.write(CHURN_SCRIPT)
            script.flush()
            command += ["-s", script.name]
            env.update(BENCH_TOKENS=str(tokens_file), BENCH_THREADS=str(threads))
        else:
            command += ["-H", f"Authorization: Bearer {token}"]
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, check=True, env=env, timeout=duration + 60
        ).stdout
    result = {"rps": float(_RPS.search(output).group(1))}  # type: ignore[union-attr]
    result["requests"] = float(_REQUESTS.search(output).group(1))  # type: ignore[union-attr]
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


BARE = "cheap, bare Litestar"
OFF = "cheap, pipeline off"
MEMORY = "cheap, governed (memory)"
CHURN = "cheap, governed, token churn"
REDIS = "cheap, governed (Redis)"


def run_http(prepared: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved rounds of every configuration; medians per configuration, and every round."""
    token = prepared["token"]
    ping = "/system/bench/v1/ping"
    # name, path, governed, redis, factory, rotate tokens
    configs: list[tuple[str, str, bool, str, str, bool]] = [
        (BARE, ping, False, "", BARE_FACTORY, False),
        (OFF, ping, False, "", GATEWAY_FACTORY, False),
        (MEMORY, ping, True, "", GATEWAY_FACTORY, False),
    ]
    if prepared["tokens_file"] is not None:
        configs.append((CHURN, ping, True, "", GATEWAY_FACTORY, True))
    configs.append((REDIS, ping, True, args.redis_url, GATEWAY_FACTORY, False))
    if not args.skip_crm:
        account_id = first_account_id(prepared, token)
        crm = f"/system/crm/v1/accounts/{account_id}"
        configs.append(("CRM get account, pipeline off", crm, False, "", GATEWAY_FACTORY, False))
        configs.append(("CRM get account, governed (memory)", crm, True, "", GATEWAY_FACTORY, False))
        # Personal data by scope: the same route with marked fields, the PII policy in and out.
        contacts = "/system/crm/v1/contacts?limit=50"
        configs.append((PII_ON, contacts, True, "", GATEWAY_FACTORY, False))
        configs.append((PII_OFF, contacts, True, "", GATEWAY_FACTORY, False))
    if args.only:
        configs = [config for config in configs if config[0] in args.only]
    trees: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline_tree:
        trees.append((" [baseline]", Path(args.baseline_tree).resolve()))
    runs = [
        (name + suffix, path, governed, redis_url, factory, churn, tree)
        for name, path, governed, redis_url, factory, churn in configs
        for suffix, tree in trees
    ]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in runs}
    for round_number in range(args.rounds):
        for name, path, governed, redis_url, factory, churn, tree in runs:
            if redis_url and not redis_available(redis_url):
                continue
            port = free_port()
            tokens_file = prepared["tokens_file"] if churn else None
            env = {**prepared["env"], "BENCH_PII": "0" if name.startswith(PII_OFF) else "1"}
            with Server(env, port, governed, redis_url, tree, factory):
                url = f"http://127.0.0.1:{port}{path}"
                check = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert check.status_code == 200, (name, check.status_code, check.text[:300])
                wrk(url, token, 2, args.connections, args.threads, tokens_file)  # warm-up
                before = redis_calls(redis_url) if redis_url else 0
                result = wrk(url, token, args.duration, args.connections, args.threads, tokens_file)
                if redis_url:
                    result["redis_round_trips_per_request"] = (redis_calls(redis_url) - before) / max(
                        result["requests"], 1
                    )
                samples[name].append(result)
                print(
                    f"round {round_number + 1} {name:49} {result['rps']:9.0f} rps"
                    f"  p50 {result.get('p50_us', 0):7.0f} µs  p99 {result.get('p99_us', 0):7.0f} µs"
                    f"  non-2xx {result['non2xx']:.0f}",
                    flush=True,
                )
    return {name: rounds for name, rounds in samples.items() if rounds}


def summarise(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Median of every measured key per configuration."""
    return {
        name: {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}
        for name, samples in rounds.items()
    }


RATIOS = (
    # target name, numerator, denominator, key, target, at least (True) or at most
    ("P1 governed (memory) / pipeline off, req/s", MEMORY, OFF, "rps", 0.70, True),
    ("P1b pipeline off / bare Litestar, req/s", OFF, BARE, "rps", 0.90, True),
    ("P1c governed (Redis) / governed (memory), req/s", REDIS, MEMORY, "rps", 0.80, True),
    ("P1d token churn / governed (memory), req/s", CHURN, MEMORY, "rps", 0.50, True),
    ("latency: governed p99 / pipeline off p99", MEMORY, OFF, "p99_us", 1.30, False),
    ("PII policy masking / PII policy out, CRM contacts, req/s", PII_ON, PII_OFF, "rps", 0.90, True),
)


def ratios(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Each target's ratio per round (configurations of one round ran next to each other) and its median."""
    out: dict[str, dict[str, Any]] = {}
    for label, top, bottom, key, target, at_least in RATIOS:
        if top not in rounds or bottom not in rounds:
            continue
        per_round = [a[key] / b[key] for a, b in zip(rounds[top], rounds[bottom], strict=False)]
        median = statistics.median(per_round)
        out[label] = {
            "median": round(median, 3),
            "rounds": [round(value, 3) for value in per_round],
            "target": target,
            "met": median >= target if at_least else median <= target,
        }
    return out


def rss_kib(pids: list[int]) -> int:
    """Resident memory (KiB) of processes, from ``/proc/<pid>/status``."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def run_memory(prepared: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One governed worker's resident memory: idle, after 10,000 requests and after ``--memory-requests``."""
    token = prepared["token"]
    port = free_port()
    with Server(prepared["env"], port, True) as server:
        url = f"http://127.0.0.1:{port}/system/bench/v1/ping"
        workers = server.worker_pids()
        time.sleep(1)
        checkpoints: dict[str, Any] = {"idle_kib": rss_kib(workers)}
        sent = 0
        targets = [10_000, args.memory_requests]
        chunk = 10
        for target in targets:
            while sent < target:
                # Short wrk runs until the count is reached (wrk takes a duration, not a count).
                seconds = 1 if target <= 10_000 else chunk
                result = wrk(url, token, seconds, args.connections, args.threads)
                sent += int(result["requests"])
                print(f"memory: {sent:>9} requests, RSS {rss_kib(workers) / 1024:.1f} MiB", flush=True)
            checkpoints[f"after_{target}_kib"] = rss_kib(workers)
            checkpoints[f"after_{target}_requests_sent"] = sent
        checkpoints["ratio"] = checkpoints[f"after_{args.memory_requests}_kib"] / checkpoints["after_10000_kib"]
        checkpoints["target"] = 1.1
        checkpoints["met"] = checkpoints["ratio"] <= 1.1
        return checkpoints


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


def run_validation(iterations: int, rounds: int) -> dict[str, Any]:
    """P3: in-process cost of validating a 2 KB JSON body next to parsing it with msgspec."""
    from bench.request_validation import measure

    return measure(iterations, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--policy-iterations", type=int, default=5000)
    parser.add_argument("--churn-tokens", type=int, default=50_000, help="0 leaves the token-churn line out")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-crm", action="store_true", help="leave the CRM lines out")
    parser.add_argument("--only", nargs="*", help="configurations to run, by name")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="measure one governed worker's resident memory (idle, after 10,000 and --memory-requests requests)",
    )
    parser.add_argument("--memory-requests", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-tree",
        help="another checkout of Strata (with its own .venv) whose servers run interleaved with this one's, "
        "each configuration's line marked [baseline]: before/after of a change in one run",
    )
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.skip_http:
        sys.exit("bench/pipeline.py needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        churn = 0 if (args.memory or args.skip_http or (args.only and CHURN not in args.only)) else args.churn_tokens
        prepared = prepare(Path(tmp), churn)
        report: dict[str, Any] = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average": os.getloadavg(),
            },
            "arguments": vars(args),
        }
        kind = "pipeline"
        if args.memory:
            kind = "memory"
            report["memory"] = run_memory(prepared, args)
        else:
            report["policies_us"] = run_policies(prepared, args.policy_iterations)
            print(json.dumps(report["policies_us"], indent=2))
            report["request_validation"] = run_validation(2000, args.rounds)
            print(json.dumps(report["request_validation"], indent=2))
            if not args.skip_http:
                rounds = run_http(prepared, args)
                report["http_rounds"] = rounds
                report["http"] = summarise(rounds)
                report["ratios"] = ratios(rounds)
                http = report["http"]
                off, mem = http.get(OFF), http.get(MEMORY)
                if off and mem:
                    report["cheap_added_us_per_request"] = 1e6 / mem["rps"] - 1e6 / off["rps"]
        report["machine"]["load_average_after"] = os.getloadavg()
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        path = out / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        print(
            json.dumps(
                {k: v for k, v in report.items() if k not in ("policies_us", "http_rounds", "arguments")},
                indent=2,
                default=str,
            )
        )
        print(f"written to {path}")


if __name__ == "__main__":
    main()
