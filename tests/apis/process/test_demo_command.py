"""``strata demo``: seeded Closed Won opportunities through quote-to-cash, and a report."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main


def test_demo_submits_the_seeded_won_deals_and_reports_how_each_ended(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    env = {"STRATA_DATABASE_URL": "", "STRATA_REDIS_URL": ""}
    first = CliRunner().invoke(main, ["--state-dir", state, "demo", "--limit", "4", "--within", "60"], env=env)
    assert first.exit_code == 0, first.output
    summary = re.search(r"(\d+) closed-won opportunities submitted \((\d+) new transactions\)", first.output)
    assert summary is not None, first.output
    assert summary.groups() == ("4", "4")
    states = dict(re.findall(r"(\w+): (\d+)", first.output.splitlines()[-1 - first.output.count("  txn_")]))
    assert sum(int(n) for n in states.values()) == 4
    # The seeded deals closed in 2024, whose ERP periods are closed: those wait for an operator.
    assert all(code == "period_closed" for code in re.findall(r"\): (\w+):", first.output))

    again = CliRunner().invoke(main, ["--state-dir", state, "demo", "--limit", "4", "--within", "60"], env=env)
    assert again.exit_code == 0, again.output
    assert "(0 new transactions)" in again.output
