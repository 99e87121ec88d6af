"""Profile one bench server under load: py-spy samples the granian worker while wrk drives it.

Usage: ``uv run python bench/profile.py [governed|off|bare] [--seconds 10] [--out FILE]``.
Writes a flame graph (``.svg``) or, with ``--raw``, collapsed stacks (one line per stack and
its sample count, for ``grep`` or a summary). ``--gil`` (the default) samples only the thread
holding the GIL: where the worker's CPU goes, not where its idle threads wait.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import BARE_FACTORY, GATEWAY_FACTORY, Server, free_port, prepare, wrk  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", choices=["governed", "off", "bare"], nargs="?", default="governed")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=400, help="samples per second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--raw", action="store_true", help="collapsed stacks instead of an SVG flame graph")
    parser.add_argument("--all-threads", action="store_true", help="sample every thread, not only the GIL holder")
    parser.add_argument("--out", help="output file (default bench/results/profile-<config>-<time>.svg|.txt)")
    args = parser.parse_args()
    py_spy = Path(sys.executable).with_name("py-spy")
    suffix = "txt" if args.raw else "svg"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "bench" / "results" / f"profile-{args.config}-{stamp}.{suffix}")
    out.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="strata-profile-") as tmp:
        prepared = prepare(Path(tmp))
        factory = BARE_FACTORY if args.config == "bare" else GATEWAY_FACTORY
        port = free_port()
        with Server(prepared["env"], port, args.config == "governed", factory=factory) as server:
            url = f"http://127.0.0.1:{port}/system/bench/v1/ping"
            wrk(url, prepared["token"], 2, args.connections)  # warm-up
            command = [str(py_spy), "record", "-p", str(server.worker_pids()[0]), "-r", str(args.rate)]
            command += ["-d", str(args.seconds), "-o", str(out), "-f", "raw" if args.raw else "flamegraph"]
            if not args.all_threads:
                command.append("--gil")
            spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(wrk(url, prepared["token"], args.seconds + 2, args.connections))
            spy.wait()
    print(f"written to {out}")


if __name__ == "__main__":
    main()
