"""``strata vendors check``: one line per check, JSON on request, exit 1 when a check fails."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["vendors", "check", *args], env={"STRATA_STATE_DIR": str(tmp_path)}, catch_exceptions=False
    )
    return result.exit_code, result.output


def test_a_passing_vendor_exits_0_and_a_failing_one_1(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--vendor", "avalara")
    assert code == 0
    # The sandbox's account is drawn for this state directory, like every sandbox credential.
    account = json.loads((tmp_path / "sandbox-credentials.json").read_text())["avalara"]["account_id"]
    assert output.splitlines()[0] == f"ok   avalara credentials: account {account} authenticated"
    # The embedded Stripe sandbox has no webhook endpoint until the gateway's webhook URL is set.
    code, output = _run(tmp_path, "--vendor", "stripe", "--json")
    assert code == 1
    report = json.loads(output)
    failed = [c for v in report["vendors"] for c in v["checks"] if c["status"] == "failed"]
    assert report["ok"] is False and [c["name"] for c in failed] == ["webhook_endpoint"]


def test_without_urls_nothing_is_checked_and_an_unknown_vendor_is_a_usage_error(tmp_path: Path) -> None:
    code, output = _run(tmp_path)
    assert (code, output.strip()) == (
        0,
        "no vendor has a URL configured: every vendor is its sandbox (name one with --vendor)",
    )
    code, output = _run(tmp_path, "--vendor", "oracle")
    assert code == 2 and "no vendor 'oracle'" in output


def test_a_vendor_with_a_url_is_checked_at_that_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["vendors", "check"],
        env={"STRATA_STATE_DIR": str(tmp_path), "STRATA_AVALARA_URL": "http://127.0.0.1:9"},  # nothing listens
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("FAIL avalara credentials: ") and "STRATA_AVALARA_ACCOUNT_ID" in line
