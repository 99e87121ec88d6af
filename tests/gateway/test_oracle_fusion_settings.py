"""Oracle Fusion as the production ERP: the start-up checks ask for the credentials of the configured
``oracle_fusion_auth`` (Basic: user and password; OAuth 2.0: client id and secret), and only those."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import load_settings
from gateway.startup_checks import startup_problems
from tests.gateway.test_production import production_environment

POD = "https://abcd.fa.ocs.oraclecloud.com"


def _problems(tmp_path: Path, **env: str) -> list[str]:
    environ = {**production_environment(tmp_path), "STRATA_ERP_VENDOR": "oracle-fusion", **env}
    return startup_problems(load_settings(environ=environ))


def test_basic_auth_needs_the_user_and_password_only(tmp_path: Path) -> None:
    assert _problems(tmp_path, STRATA_ORACLE_FUSION_URL=POD, STRATA_ORACLE_FUSION_USER="integration.user",
                     STRATA_ORACLE_FUSION_PASSWORD="a-real-password") == []  # fmt: skip
    [missing] = _problems(tmp_path, STRATA_ORACLE_FUSION_URL=POD, STRATA_ORACLE_FUSION_USER="integration.user")
    assert missing.startswith(f"oracle_fusion_password: empty while oracle_fusion_url is set ({POD})")


def test_oauth2_needs_the_client_and_its_secret_only(tmp_path: Path) -> None:
    oauth = {"STRATA_ORACLE_FUSION_URL": POD, "STRATA_ORACLE_FUSION_AUTH": "oauth2",
             "STRATA_ORACLE_FUSION_CLIENT_ID": "a1b2c3"}  # fmt: skip
    [missing] = _problems(tmp_path, **oauth)
    assert missing.startswith("oracle_fusion_client_secret: empty while oracle_fusion_url is set")
    assert _problems(tmp_path, **oauth, STRATA_ORACLE_FUSION_CLIENT_SECRET="a-real-secret") == []


def test_without_its_url_the_sandbox_would_be_mounted_and_the_password_is_asked_for(tmp_path: Path) -> None:
    sandbox, password = _problems(tmp_path)
    assert sandbox.startswith("oracle_fusion_url: not set, so the oracle-fusion sandbox would be mounted")
    assert password.startswith("oracle_fusion_password: has no value of its own")  # not the OAuth client's secret
