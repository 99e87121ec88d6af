"""Summarise py-spy collapsed stacks (``py-spy record -f raw``): where the samples went.

    uv run python bench/profile_summary.py FILE [FILE ...] [--top 40] [--match apis/process]

Prints each function's **inclusive** share (the samples with it anywhere on the stack, counted
once per sample), the largest first, and the share of a few groups (the workflow engine, the
database, the vendor calls, serving HTTP) by the outermost frame of ours or theirs that a
sample passes through. Used for the quote-to-cash profile of issue 18 (``bench/README.md``).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vendor calls (connectors, httpx)", ("/apis/system/", "/connectors/", "/httpx/", "/httpcore/")),
    ("process state writes/reads (ours)", ("apis/process/transactions.py", "apis/process/xref.py")),
    ("workflow engine (dbos)", ("/dbos/",)),
    ("SQLAlchemy / drivers (any caller)", ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/", "/sqlite3/")),
    ("serving HTTP (granian, litestar, pipeline)", ("/litestar/", "/granian/", "/gateway/pipeline", "/policies/")),
    ("logging / tracing", ("/structlog/", "/opentelemetry/", "/logging/")),
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
            for group, needles in GROUPS:
                if any(needle in file for file in files for needle in needles):
                    groups[group] += count
    print(f"{total} samples")
    print("\ngroups (a sample counts in every group it passes through):")
    for group, _ in GROUPS:
        print(f"  {100 * groups[group] / max(total, 1):5.1f} %  {group}")
    print(f"\ntop {args.top} functions, inclusive:")
    shown = 0
    for name, count in inclusive.most_common():
        if args.match and args.match not in name:
            continue
        print(f"  {100 * count / max(total, 1):5.1f} %  {name}")
        shown += 1
        if shown >= args.top:
            break


def _short(file: str) -> str:
    for marker in ("site-packages/", "/wt/p4-before/", "/wt/p4/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


if __name__ == "__main__":
    main()
