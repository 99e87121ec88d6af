"""Settings: precedence flags > environment > TOML file > defaults; clear errors, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.port == 8080
    assert settings.issuer == "http://127.0.0.1:8080"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("/var/strata.db")


def test_precedence_flag_over_environment_over_file(tmp_path: Path) -> None:
    config = tmp_path / "strata.toml"
    config.write_text('port = 7000\nlog_level = "debug"\nstate_dir = "from-file"\n')
    environ = {"STRATA_CONFIG": str(config), "STRATA_PORT": "7100"}
    assert load_settings(environ=environ).port == 7100
    assert load_settings({"port": 7200}, environ=environ).port == 7200
    from_file = load_settings(environ=environ)
    assert from_file.log_level == "debug"
    assert from_file.state_dir == "from-file"


def test_public_url_sets_the_issuer() -> None:
    settings = load_settings(environ={"STRATA_PUBLIC_URL": "https://api.example.com/"})
    assert settings.issuer == "https://api.example.com"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STRATA_PORT": "eighty"}, "port: 'eighty' is not an integer"),
        ({"STRATA_PORT": "70000"}, "port: 70000 is out of range; allowed values are 1..65535"),
        (
            {"STRATA_LOG_LEVEL": "loud"},
            "log_level: 'loud' is not allowed; allowed values are debug, info, warning, error",
        ),
        ({"STRATA_RESPONSE_CONTRACT_MODE": "maybe"}, "allowed values are enforce, shadow, off"),
        ({"STRATA_SEED_DEMO": "perhaps"}, "seed_demo: 'perhaps' is not a boolean; allowed values are true, false"),
        ({"STRATA_PUBLIC_URL": "ftp://x"}, "public_url"),
        ({"STRATA_REDIS_URL": "127.0.0.1:6379"}, "redis_url"),
        (
            {"STRATA_OTLP_ENDPOINT": "127.0.0.1:4318"},
            "otlp_endpoint: '127.0.0.1:4318' is not an http:// or https:// URL",
        ),
        ({"STRATA_OTLP_ENDPOINT": "http://"}, "otlp_endpoint: 'http://' has no host"),
        ({"STRATA_LOG_REDACT_FIELDS": "email,e mail"}, "log_redact_fields: 'e mail' is not a field name"),
    ],
)
def test_wrong_values_name_the_key_and_the_allowed_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_settings(environ=environ)


def test_loopback_destinations_are_off_by_default_and_the_old_switch_names_the_new(tmp_path: Path) -> None:
    assert load_settings(environ={}).allow_loopback_destinations is False
    assert load_settings(environ={"STRATA_ALLOW_LOOPBACK_DESTINATIONS": "true"}).allow_loopback_destinations
    with pytest.raises(SettingsError, match="renamed to STRATA_ALLOW_LOOPBACK_DESTINATIONS"):
        load_settings(environ={"STRATA_PARTNER_WEBHOOK_ALLOW_HTTP_LOCALHOST": "true"})
    config = tmp_path / "strata.toml"
    config.write_text("partner_webhook_allow_http_localhost = true\n")
    with pytest.raises(SettingsError, match="renamed to allow_loopback_destinations"):
        load_settings(environ={"STRATA_CONFIG": str(config)})


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "strata.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="prot: unknown setting"):
        load_settings(environ={"STRATA_CONFIG": str(config)})


def test_the_cli_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "clients", "list"],
        env={"STRATA_PORT": "nope", "STRATA_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "port: 'nope' is not an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_tracing_and_redaction_settings() -> None:
    defaults = load_settings(environ={})
    assert defaults.otlp_endpoint == "" and defaults.otlp_traces_url == ""
    assert defaults.log_redact_field_names == frozenset({"email", "phone", "tax_id"})
    settings = load_settings(
        environ={"STRATA_OTLP_ENDPOINT": "https://otel.example:4318", "STRATA_LOG_REDACT_FIELDS": " IBAN, email ,"}
    )
    assert settings.otlp_traces_url == "https://otel.example:4318/v1/traces"
    assert settings.log_redact_field_names == frozenset({"iban", "email"})


def test_a_bad_otlp_endpoint_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "clients", "list"],
        env={"STRATA_OTLP_ENDPOINT": "collector:4318", "STRATA_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "otlp_endpoint: 'collector:4318' is not an http:// or https:// URL" in result.stderr
