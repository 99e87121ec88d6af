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
    # Only the seeded won deals of open ERP periods are submitted (three; those of 2024 are history
    # the seeded ERP already holds), and they complete.
    assert summary.groups() == ("3", "3")
    states = dict(re.findall(r"(\w+): (\d+)", first.output.splitlines()[-1 - first.output.count("  txn_")]))
    assert states == {"completed": "3"}
    assert re.findall(r"\): (\w+):", first.output) == []

    again = CliRunner().invoke(main, ["--state-dir", state, "demo", "--limit", "4", "--within", "60"], env=env)
    assert again.exit_code == 0, again.output
    assert "(0 new transactions)" in again.output
