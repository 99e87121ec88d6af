"""Settings: precedence flags > environment > TOML file > defaults; clear errors, exit code 2."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import CoreSettings, SettingsSection
from gateway.settings import Settings, SettingsError, load_settings, secret_keys, settings_environment


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
    # every personal-data kind (issue 19): names, e-mail, phone, address lines and tax ids
    assert defaults.log_redact_field_names == frozenset(
        {"email", "phone", "tax_id", "buyer_tax_id", "first_name", "last_name", "contact_name"}
        | {"line1", "line2", "city", "postal_code", "address", "billing_address"}
    )
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


# -- vendor sections -------------------------------------------------------------------------------
def test_each_vendor_has_a_section_read_from_the_same_names_as_before(tmp_path: Path) -> None:
    environ = {
        "STRATA_NETSUITE_MAX_RETRIES": "7",
        "STRATA_ERP_VENDOR": "business-central",
        "STRATA_DATA_BACKEND": "s3",
    }
    settings = load_settings({"stripe_webhook_secret": "whsec_new, whsec_old"}, environ=environ)
    assert settings.netsuite.max_retries == 7 and settings.erp.vendor == "business-central"
    assert settings.data.backend == "s3" and settings.stripe.webhook_secrets == ("whsec_new", "whsec_old")
    assert settings.salesforce.client_id == ""  # no credential is written in the code
    config = tmp_path / "strata.toml"
    config.write_text('port = 7000\nnetsuite_timeout_ms = 2000\n[business_central]\ncompany = "Contoso"\n')
    from_file = load_settings(environ={"STRATA_CONFIG": str(config)})
    assert (from_file.port, from_file.netsuite.timeout_ms, from_file.business_central.company) == (
        7000,
        2000,
        "Contoso",
    )
    config.write_text("[netsuite]\nmax_retrys = 2\n")
    with pytest.raises(SettingsError, match="netsuite_max_retrys: unknown setting"):
        load_settings(environ={"STRATA_CONFIG": str(config)})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STRATA_NETSUITE_MAX_RETRIES": "11"}, "netsuite_max_retries: 11 is out of range; allowed values are 0..10"),
        ({"STRATA_NETSUITE_TIMEOUT_MS": "soon"}, "netsuite_timeout_ms: 'soon' is not an integer"),
        (
            {"STRATA_ERP_VENDOR": "sap"},
            "erp_vendor: 'sap' is not allowed; allowed values are netsuite, business-central",
        ),
        ({"STRATA_STRIPE_URL": "api.stripe.com"}, "stripe_url: 'api.stripe.com' is not an http:// or https:// URL"),
        ({"STRATA_DATA_S3_ENDPOINT_URL": "minio:9000"}, "data_s3_endpoint_url: 'minio:9000' is not an http"),
    ],
)
def test_a_wrong_vendor_value_names_its_environment_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace(".", r"\.")):
        load_settings(environ=environ)


def test_workers_read_back_exactly_the_resolved_settings() -> None:
    settings = load_settings(
        {"port": 9100, "netsuite_max_retries": 1, "seed_demo": False, "stripe_webhook_secret": "whsec_a,whsec_b"},
        environ={},
    )
    environment = settings_environment(settings)
    assert environment["STRATA_NETSUITE_MAX_RETRIES"] == "1" and environment["STRATA_SEED_DEMO"] == "false"
    assert load_settings(environ=environment) == settings


def test_the_core_sees_no_vendor_and_every_secret_is_marked() -> None:
    settings = load_settings(environ={})
    assert not [name for name in CoreSettings.__struct_fields__ if name.startswith(VENDOR_PREFIXES)]
    assert isinstance(settings, CoreSettings)  # what core and the policies are typed against
    assert set(secret_keys(settings)) >= {
        "master_key",
        "salesforce_client_secret",
        "netsuite_private_key",
        "business_central_client_secret",
        "product_platform_api_key",
        "avalara_license_key",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "data_s3_secret_access_key",
    }
    for name in Settings.__struct_fields__:
        section = getattr(settings, name)
        if isinstance(section, SettingsSection):
            assert name == section.SECTION and set(section.SECRETS) <= set(section.__struct_fields__)


def test_every_settings_field_has_a_docstring() -> None:
    sources = [Path(inspect.getfile(CoreSettings))]
    sources += [Path(inspect.getfile(type(section))) for section in _sections()]
    for source in sources:
        tree = ast.parse(source.read_text())
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            body = cls.body
            for index, statement in enumerate(body):
                is_field = isinstance(statement, ast.AnnAssign) and "ClassVar" not in ast.unparse(statement.annotation)
                if is_field and isinstance(statement.target, ast.Name):
                    following = body[index + 1] if index + 1 < len(body) else None
                    documented = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    assert documented, f"{source.name}: {cls.name}.{statement.target.id} has no docstring"


VENDOR_PREFIXES = (
    "salesforce",
    "netsuite",
    "business_central",
    "stripe",
    "avalara",
    "product_platform",
    "data_",
    "erp",
)


def _sections() -> list[SettingsSection]:
    settings = load_settings(environ={})
    return [s for s in (getattr(settings, n) for n in Settings.__struct_fields__) if isinstance(s, SettingsSection)]
