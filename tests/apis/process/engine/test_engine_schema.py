"""The engine launched with its migrations off only verifies its schema; ``strata db upgrade`` makes it.

Each launch runs in a process of its own (DBOS is one engine per process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[4]
LAUNCH = textwrap.dedent(
    """
    import sys
    from apis.process.engine import WorkflowEngine
    engine = WorkflowEngine(system_database_url=sys.argv[1], executor_id="schema-test", run_migrations=False)
    try:
        engine.launch()
    except Exception as exc:
        print(f"refused: {type(exc).__name__}: {exc}")
    else:
        print("launched")
    finally:
        engine.shutdown()
    """
)

MIGRATE = "import sys; from apis.process.engine import migrate_engine_schema; migrate_engine_schema(sys.argv[1])"


def _launch(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, url], cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_without_migrations_the_engine_refuses_a_missing_schema_and_runs_once_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'workflows.sqlite'}"
    refused = _launch(url)
    assert refused.startswith(
        "refused: SchemaNotCurrent: the workflow engine's schema is missing or behind: run `strata db upgrade`"
    )
    migrated = subprocess.run(
        [sys.executable, "-c", MIGRATE, url],
        cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert _launch(url) == "launched"
