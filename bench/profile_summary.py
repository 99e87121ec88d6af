"""Summarise py-spy collapsed stacks (``py-spy record -f raw``): where the samples went.

    uv run python bench/profile_summary.py FILE [FILE ...] [--top 40] [--match apis/process]

Prints each function's **inclusive** share (the samples with it anywhere on the stack, counted
once per sample), the largest first, and each sample in one bucket (our state writes, vendor
calls, serving HTTP, the engine, ...). Used for the quote-to-cash profile of issue 18
(``bench/README.md``).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")

BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # py-spy names files relative to their sys.path entry ("dbos/_core.py", "apis/process/steps.py").
    # A sample goes to the first bucket any frame of its stack matches: the steps' own state
    # writes and vendor calls run inside the engine's frames, so they are looked for first.
    (
        "process state, lineage, outbox, xref (ours, SQLAlchemy included)",
        ("apis/process/transactions.py", "apis/process/xref.py", "apis/process/step_writes.py"),
    ),
    ("vendor calls (connectors, httpx, httpcore)", ("apis/system/", "httpx/", "httpcore/")),
    ("serving HTTP (API requests, the bench's status polls)", ("litestar/", "policies/")),
    ("workflow engine (dbos: checkpoints, queues, polling)", ("dbos/",)),
    ("outbox relay, leases, other background work of ours", ("apis/", "core/")),
    # SQLAlchemy's async API runs its sync core in a greenlet: py-spy shows that stack without the
    # caller's frames. Only the async engine (our stores, the relay, the API's reads) does that;
    # the engine's own database work runs in its threads, under dbos/ frames.
    (
        "SQLAlchemy async + aiosqlite thread (callers not on the stack: our stores mostly)",
        ("sqlalchemy/", "aiosqlite/"),
    ),
)


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        out.append((match["func"], match["file"]) if match else (frame, ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="list only functions whose file contains this")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    total = 0
    for path in args.files:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            seen = {f"{func} ({_short(file)})" for func, file in frames(stack)}
            for name in seen:
                inclusive[name] += count
            files = [file for _, file in frames(stack)]
            groups[_bucket(files)] += count
    print(f"{total} samples")
    print("\nbuckets (each sample in one):")
    for bucket in [name for name, _ in BUCKETS] + ["other"]:
        print(f"  {100 * groups[bucket] / max(total, 1):5.1f} %  {bucket}")
    print(f"\ntop {args.top} functions, inclusive:")
    shown = 0
    for name, count in inclusive.most_common():
        if args.match and args.match not in name:
            continue
        print(f"  {100 * count / max(total, 1):5.1f} %  {name}")
        shown += 1
        if shown >= args.top:
            break


def _bucket(files: list[str]) -> str:
    for name, needles in BUCKETS:
        if any(file.startswith(needle) or f"/{needle}" in file for file in files for needle in needles):
            return name
    return "other"


def _short(file: str) -> str:
    for marker in ("site-packages/", "/wt/p4-before/", "/wt/p4/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


if __name__ == "__main__":
    main()
