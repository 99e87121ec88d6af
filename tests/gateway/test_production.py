"""Production mode: a deployment never carries the demo world.

Each refusal goes through the real CLI (``strata serve``, click's runner in this process: it stops
before granian starts, so nothing is served) and asserts exit code 2 and the one line naming the
setting and the fix. One test runs the CLI as its own process, as an operator would; another
builds and starts a production app in a process of its own and lists the ``sandboxes`` modules
it imported (none).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.settings import SettingsError, load_settings
from gateway.startup_checks import startup_problems
from gateway.state import prepare_state

PROJECT = Path(__file__).resolve().parents[2]


def production_environment(tmp_path: Path) -> dict[str, str]:
    """A production configuration with nothing of the demo left (it passes every check)."""
    from sandboxes.netsuite import generate_key_pair

    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "master-key").write_text("a-master-key-from-a-secret-mount-0123456789\n")
    (secrets_dir / "stripe-key").write_text("sk_live_from_a_mounted_file\n")
    pem = secrets_dir / "netsuite.pem"
    pem.write_text(generate_key_pair("cert-prod", "ES256").private_key.as_pem(private=True).decode())
    return {
        "STRATA_MODE": "production",
        "STRATA_STATE_DIR": str(tmp_path / "state"),
        "STRATA_SEED_DEMO": "false",
        "STRATA_PUBLIC_URL": "https://api.example.com",
        "STRATA_MASTER_KEY_FILE": str(secrets_dir / "master-key"),
        "STRATA_SALESFORCE_URL": "https://example.my.salesforce.com",
        "STRATA_SALESFORCE_CLIENT_ID": "3MVG9-real-consumer-key",
        "STRATA_SALESFORCE_CLIENT_SECRET": "real-consumer-secret",
        "STRATA_NETSUITE_URL": "https://1234567.suitetalk.api.netsuite.com",
        "STRATA_NETSUITE_CLIENT_ID": "real-integration-record",
        "STRATA_NETSUITE_CERTIFICATE_ID": "cert-prod",
        "STRATA_NETSUITE_SIGNING_ALGORITHM": "ES256",
        "STRATA_NETSUITE_PRIVATE_KEY_FILE": str(pem),
        "STRATA_PRODUCT_PLATFORM_URL": "https://product.example.com",
        "STRATA_PRODUCT_PLATFORM_API_KEY": "pp_live_real",
        "STRATA_AVALARA_URL": "https://rest.avatax.com",
        "STRATA_AVALARA_ACCOUNT_ID": "2000000001",
        "STRATA_AVALARA_LICENSE_KEY": "REALLICENSEKEY01",
        "STRATA_STRIPE_URL": "https://api.stripe.com",
        "STRATA_STRIPE_SECRET_KEY_FILE": str(secrets_dir / "stripe-key"),
        "STRATA_STRIPE_WEBHOOK_SECRET": "whsec_real_endpoint_secret",
        "STRATA_WORKFLOWS_ENABLED": "false",
    }


def serve(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    """``strata serve`` through the CLI; its exit code and its ``cannot start`` lines."""
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    lines = [line for line in result.output.splitlines() if line.startswith("strata: cannot start: ")]
    assert "Traceback" not in result.output
    return result.exit_code, [line.removeprefix("strata: cannot start: ") for line in lines]


def test_the_production_configuration_passes_every_check(tmp_path: Path) -> None:
    settings = load_settings(environ=production_environment(tmp_path))
    assert settings.stripe.secret_key == "sk_live_from_a_mounted_file"  # read from STRATA_STRIPE_SECRET_KEY_FILE
    assert startup_problems(settings) == []


def test_alert_mail_without_starttls_is_allowed_only_to_a_relay_on_this_machine(tmp_path: Path) -> None:
    env = {**production_environment(tmp_path), "STRATA_ALERT_SMTP_STARTTLS": "false"}
    env.update(STRATA_ALERT_SMTP_FROM="strata@example.com", STRATA_ALERT_SMTP_TO="ops@example.com")
    assert startup_problems(load_settings(environ={**env, "STRATA_ALERT_SMTP_HOST": "localhost"})) == []
    assert startup_problems(load_settings(environ={**env, "STRATA_ALERT_SMTP_HOST": "127.0.0.1"})) == []
    [problem] = startup_problems(load_settings(environ={**env, "STRATA_ALERT_SMTP_HOST": "10.0.0.25"}))
    assert problem.startswith("alert_smtp_starttls: off for the SMTP server 10.0.0.25")
    with_tls = {**env, "STRATA_ALERT_SMTP_HOST": "smtp.example.com", "STRATA_ALERT_SMTP_STARTTLS": "true"}
    assert startup_problems(load_settings(environ=with_tls)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"STRATA_SALESFORCE_URL": None},
            "salesforce_url: not set, so the salesforce sandbox would be mounted; set STRATA_SALESFORCE_URL",
            id="sandbox-for-a-served-api",
        ),
        pytest.param(
            {"STRATA_ERP_VENDOR": "business-central", "STRATA_BUSINESS_CENTRAL_CLIENT_ID": "app"},
            "business_central_url: not set, so the business-central sandbox would be mounted",
            id="sandbox-for-the-chosen-erp",
        ),
        pytest.param(
            {
                "STRATA_ERP_VENDOR": "business-central",
                "STRATA_BUSINESS_CENTRAL_URL": "https://api.businesscentral.dynamics.com",
                "STRATA_BUSINESS_CENTRAL_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
                "STRATA_BUSINESS_CENTRAL_CLIENT_SECRET": "a-real-secret",
            },
            "business_central_tenant_id: still the sandbox's tenant (strata-sandbox.onmicrosoft.com); set "
            "STRATA_BUSINESS_CENTRAL_TENANT_ID",
            id="sandbox-tenant-of-the-chosen-erp",
        ),
        pytest.param(
            {"STRATA_ERP_VENDOR": "sap-s4hana"},
            "sap_s4hana_url: not set, so the sap-s4hana sandbox would be mounted",
            id="sandbox-for-sap",
        ),
        pytest.param(
            {
                "STRATA_ERP_VENDOR": "sap-s4hana",
                "STRATA_SAP_S4HANA_URL": "https://my123456-api.s4hana.cloud.sap",
                "STRATA_SAP_S4HANA_USER": "STRATA_COMM",
            },
            "sap_s4hana_password: empty while sap_s4hana_url is set",
            id="sap-communication-user-without-password",
        ),
        pytest.param(
            {
                "STRATA_ERP_VENDOR": "sap-s4hana",
                "STRATA_SAP_S4HANA_URL": "https://my123456-api.s4hana.cloud.sap",
                "STRATA_SAP_S4HANA_AUTH": "oauth2",
                "STRATA_SAP_S4HANA_CLIENT_ID": "sb-strata",
            },
            "sap_s4hana_client_secret: empty while sap_s4hana_url is set",
            id="sap-oauth-client-without-secret",
        ),
        pytest.param(
            {"STRATA_NETSUITE_CERTIFICATE_ID": None},
            "netsuite_certificate_id: empty while netsuite_url is set",
            id="netsuite-key-without-its-certificate-id",
        ),
        pytest.param(
            {"STRATA_STRIPE_URL": None, "STRATA_STRIPE_WEBHOOK_SECRET": None},
            "stripe_webhook_secret: has no value of its own; set STRATA_STRIPE_WEBHOOK_SECRET "
            "(or STRATA_STRIPE_WEBHOOK_SECRET_FILE)",
            id="secret-with-no-value",
        ),
        pytest.param(
            {"STRATA_MASTER_KEY_FILE": None},
            "master_key: would be created automatically in",
            id="master-key-created-automatically",
        ),
        pytest.param(
            {"STRATA_PUBLIC_URL": "http://api.example.com"},
            "public_url: the issuer http://api.example.com is plain http:// on a non-loopback host; "
            "set STRATA_PUBLIC_URL to the https:// URL clients use",
            id="plain-http-issuer",
        ),
        pytest.param(
            {"STRATA_WORKERS": "2", "STRATA_REDIS_URL": "redis://127.0.0.1:6379/0"},
            "database_url: SQLite with 2 workers; set STRATA_DATABASE_URL to PostgreSQL",
            id="sqlite-with-workers",
        ),
        pytest.param(
            {"STRATA_WORKERS": "2", "STRATA_DATABASE_URL": "postgresql+asyncpg://db/strata"},
            "redis_url: rate limits would be counted per process with 2 workers; set STRATA_REDIS_URL",
            id="memory-rate-limits-with-workers",
        ),
        pytest.param(
            {"STRATA_WORKERS": "2", "STRATA_DATABASE_URL": "postgresql+asyncpg://db/strata"},
            "redis_url: failed-login lock-out counters would be per process with 2 workers; set STRATA_REDIS_URL",
            id="memory-lockout-counters-with-workers",
        ),
        pytest.param(
            {
                "STRATA_ALERT_SMTP_HOST": "smtp.example.com",
                "STRATA_ALERT_SMTP_STARTTLS": "false",
                "STRATA_ALERT_SMTP_FROM": "strata@example.com",
                "STRATA_ALERT_SMTP_TO": "ops@example.com",
            },
            "alert_smtp_starttls: off for the SMTP server smtp.example.com, which is not on this machine",
            id="alert-mail-in-the-clear",
        ),
        pytest.param(
            {"STRATA_SEED_DEMO": None},
            "seed_demo: demo seeding is on; set STRATA_SEED_DEMO=false (or strata serve --no-seed)",
            id="demo-seeding",
        ),
        pytest.param(
            {"STRATA_SANDBOX_CREDENTIALS_FILE": "/tmp/sandbox-credentials.json"},
            "sandbox_credentials_file: sandbox credentials are for demos and tests; unset "
            "STRATA_SANDBOX_CREDENTIALS_FILE",
            id="sandbox-credentials-file",
        ),
    ],
)
def test_production_refuses_to_start(tmp_path: Path, change: dict[str, str | None], expected: str) -> None:
    env = production_environment(tmp_path)
    for key, value in change.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    code, lines = serve(env)
    assert code == 2
    assert any(line.startswith(expected) for line in lines), lines
    assert not (tmp_path / "state" / "master.key").exists()  # refused before anything was written


def test_sap_needs_only_the_credentials_of_its_auth_method(tmp_path: Path) -> None:
    env = {**production_environment(tmp_path), "STRATA_ERP_VENDOR": "sap-s4hana",
           "STRATA_SAP_S4HANA_URL": "https://my123456-api.s4hana.cloud.sap", "STRATA_SAP_S4HANA_USER": "STRATA_COMM",
           "STRATA_SAP_S4HANA_PASSWORD": "a-real-password"}  # fmt: skip
    problems = startup_problems(load_settings(environ=env))
    assert not [p for p in problems if p.startswith("sap_s4hana")], problems


def test_serve_production_is_the_flag_too(tmp_path: Path) -> None:
    env = production_environment(tmp_path)
    env.pop("STRATA_MODE")
    env.pop("STRATA_STRIPE_URL")
    code, lines = serve(env, "--production", "--no-seed")
    assert code == 2 and lines[0].startswith("stripe_url: not set, so the stripe sandbox would be mounted")


def test_a_secret_at_a_sandbox_value_is_refused_in_production(tmp_path: Path) -> None:
    env = production_environment(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    (state / "sandbox-credentials.json").write_text(json.dumps({"stripe": {"secret_key": "sk_test_from_a_demo"}}))
    env["STRATA_STRIPE_SECRET_KEY"] = "sk_test_from_a_demo"
    env.pop("STRATA_STRIPE_SECRET_KEY_FILE")
    code, lines = serve(env)
    assert code == 2
    assert lines == [
        "stripe_secret_key: holds a sandbox's credential while stripe_url is set (https://api.stripe.com); "
        "set the vendor's own in STRATA_STRIPE_SECRET_KEY (or STRATA_STRIPE_SECRET_KEY_FILE)"
    ]


# -- every mode ----------------------------------------------------------------------------------
def test_a_vendor_url_with_placeholder_credentials_is_refused_in_demo_too(tmp_path: Path) -> None:
    env = {"STRATA_STATE_DIR": str(tmp_path), "STRATA_STRIPE_URL": "https://api.stripe.com"}
    code, lines = serve(env, "--no-seed")
    assert code == 2
    assert lines == [
        "stripe_secret_key: empty while stripe_url is set (https://api.stripe.com), so no real credential would "
        "go to the vendor; set STRATA_STRIPE_SECRET_KEY (or STRATA_STRIPE_SECRET_KEY_FILE)",
        "stripe_webhook_secret: empty while stripe_url is set (https://api.stripe.com), so no real credential "
        "would go to the vendor; set STRATA_STRIPE_WEBHOOK_SECRET (or STRATA_STRIPE_WEBHOOK_SECRET_FILE)",
    ]


def test_the_embedded_sandboxs_own_secret_is_refused_with_a_real_url(tmp_path: Path) -> None:
    from gateway.sandbox_credentials import credentials_path, load_or_create

    demo = load_settings({"state_dir": str(tmp_path)}, environ={})
    sandbox_key = load_or_create(credentials_path(demo))["salesforce"]["client_secret"]
    env = {
        "STRATA_STATE_DIR": str(tmp_path),
        "STRATA_SALESFORCE_URL": "https://example.my.salesforce.com",
        "STRATA_SALESFORCE_CLIENT_ID": "3MVG9-real",
        "STRATA_SALESFORCE_CLIENT_SECRET": sandbox_key,
    }
    code, lines = serve(env, "--no-seed")
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("salesforce_client_secret: holds a sandbox's credential while salesforce_url is set")
    assert sandbox_key not in lines[0]  # a secret is never echoed


def test_sandboxes_mount_only_on_loopback(tmp_path: Path) -> None:
    env = {"STRATA_STATE_DIR": str(tmp_path)}
    code, lines = serve(env, "--no-seed", "--host", "0.0.0.0")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("host: 0.0.0.0 is not loopback while the sandboxes of salesforce")
    assert "--allow-public-sandboxes" in lines[0]
    allowed = load_settings({"state_dir": str(tmp_path), "host": "0.0.0.0", "allow_public_sandboxes": True}, environ={})
    assert startup_problems(allowed) == []


def test_sandboxes_serve_and_the_demo_refuse_production_and_a_public_interface(tmp_path: Path) -> None:
    env = {"STRATA_STATE_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["sandboxes", "serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2 and "host: 0.0.0.0 is not loopback" in result.output
    result = CliRunner().invoke(main, ["sandboxes", "serve"], env={**env, "STRATA_MODE": "production"})
    assert result.exit_code == 2 and "never served in production" in result.output
    result = CliRunner().invoke(main, ["demo"], env={**env, "STRATA_MODE": "production"})
    assert result.exit_code == 2 and "the demo never runs in production" in result.output


# -- secrets as files ---------------------------------------------------------------------------
def test_every_secret_can_be_read_from_a_file(tmp_path: Path) -> None:
    from gateway.settings import secret_keys, settings_environment

    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    url = tmp_path / "url-secret"  # a secret that is a URL (an incoming webhook's) must be one
    url.write_text("https://hooks.example.com/from-a-file\n")
    signing = tmp_path / "signing-secret"  # a Standard Webhooks signing secret must be one
    signing.write_text("whsec_" + "A" * 44 + "\n")
    settings = load_settings(environ={"STRATA_AVALARA_LICENSE_KEY_FILE": str(secret)})
    assert settings.avalara.license_key == "from-a-file"
    for key in secret_keys(settings):
        if key in ("master_key", "netsuite_private_key"):
            continue  # their own *_file settings read them (a key file's format is theirs to know)
        file = url if key.endswith("_url") else signing if key == "alert_webhook_secret" else secret
        resolved = load_settings(environ={f"STRATA_{key.upper()}_FILE": str(file)})
        assert settings_environment(resolved)[f"STRATA_{key.upper()}"] == file.read_text().strip(), key
    with pytest.raises(SettingsError, match="STRATA_AVALARA_LICENSE_KEY and STRATA_AVALARA_LICENSE_KEY_FILE disagree"):
        load_settings(environ={"STRATA_AVALARA_LICENSE_KEY_FILE": str(secret), "STRATA_AVALARA_LICENSE_KEY": "other"})
    with pytest.raises(SettingsError, match="STRATA_STRIPE_SECRET_KEY_FILE: cannot read"):
        load_settings(environ={"STRATA_STRIPE_SECRET_KEY_FILE": str(tmp_path / "missing")})


# -- the CLI as its own process, and what a production app imports ---------------------------------
def test_the_cli_process_exits_2_naming_each_problem(tmp_path: Path) -> None:
    env = {**production_environment(tmp_path), "STRATA_SEED_DEMO": "true"}
    env.pop("STRATA_AVALARA_URL")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve"],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "strata: cannot start: avalara_url: not set, so the avalara sandbox would be mounted; set "
        "STRATA_AVALARA_URL to the vendor's URL",
        "strata: cannot start: seed_demo: demo seeding is on; set STRATA_SEED_DEMO=false (or strata serve --no-seed)",
    ]


def test_no_sandboxes_module_is_imported_in_production(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from gateway.asgi import create_app_from_environment

        async def main():
            app = create_app_from_environment()
            async with app.app.litestar.lifespan():
                assert app.state.crm is not None and app.state.billing is not None
                assert not app.state.components.sandbox_apps
        asyncio.run(main())
        print(sorted(name for name in sys.modules if name == "sandboxes" or name.startswith("sandboxes.")))
        """
    )
    env = {"PATH": "/usr/bin:/bin", **production_environment(tmp_path)}
    upgraded = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "db", "upgrade"], cwd=PROJECT, env=env, capture_output=True, check=False
    )
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_production_serve_migrates_nothing_it_needs_db_upgrade_or_migrate(tmp_path: Path) -> None:
    """The runtime role needs no DDL: an empty database stops the start, naming the migration step;
    ``strata db upgrade`` (ours and the engine's schema) or ``--migrate`` makes it current."""
    env = {"PATH": "/usr/bin:/bin", **production_environment(tmp_path)}

    def strata(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", *argv], cwd=PROJECT, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    refused = strata("serve")
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "cannot start: the database has no Strata schema: run `strata db upgrade`" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not any((tmp_path / "state").glob("*.sqlite")), "the refused start created the engine's database"
    current = strata("db", "current")
    assert current.stdout.strip() == "none (empty database)"

    # `serve --migrate` (STRATA_MIGRATE): the start itself migrates, as in demo mode.
    (tmp_path / "migrating").mkdir()
    other = production_environment(tmp_path / "migrating")
    assert asyncio.run(prepare_state(load_settings(environ={**other, "STRATA_MIGRATE": "true"}))) is False
    assert "(head)" in subprocess.run(
        [sys.executable, "-m", "gateway.cli", "db", "current"], cwd=PROJECT, env={"PATH": "/usr/bin:/bin", **other},
        capture_output=True, text=True, timeout=120, check=False,
    ).stdout  # fmt: skip

    upgraded = strata("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    assert "workflow engine: schema current" in upgraded.stdout
    assert strata("db", "current").stdout.strip().endswith("(head)")
    assert (tmp_path / "state" / "workflows.sqlite").is_file()  # the engine's own SQLite database
