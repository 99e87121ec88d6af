"""The alert channels — signed webhook, Slack-compatible webhook, e-mail — each receive a fired and
a resolved alert; a channel that is down holds its alerts in the outbox without holding up the others.

HTTP channels are received by a local server (``Receiver``), whose signature check is written
from the Standard Webhooks spec, not from our signing code; e-mail by a local aiosmtpd server.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.alerts.channels import alert_channel_subscribers, smtp_target
from apis.process.alerts.email import SmtpTarget, email_handler
from apis.process.alerts.outbound import AlertChannelRefused, AlertChannelUnreachable
from apis.process.alerts.slack import slack_handler
from apis.process.alerts.webhook import alert_webhook_handler
from apis.process.events import OutboxRelay, RelayConfig, append, is_outage, new_event
from core.db import create_engine, outbox_dead_letters
from core.migrations import create_schema
from core.settings import SettingsError
from core.webhook_signing import new_secret
from gateway.settings import load_settings
from tests.apis.experience.partner_webhooks.receiver import InvalidSignature, Receiver, verify
from tests.support.tls_server import TestCA

FIRED = new_event(
    "strata.alert.fired",
    event_id="evt_alert_fired",
    subject="alr_1",
    data={
        "alert_id": "alr_1",
        "rule": "vendor-down",
        "kind": "circuit_open",
        "severity": "critical",
        "subject": "netsuite",
        "summary": "netsuite: circuit not closed for 12 min",
        "detail": {"minutes": 12},
        "since": "2026-12-07T10:00:00Z",
        "notification": 1,
    },
)
RESOLVED = new_event(
    "strata.alert.resolved",
    event_id="evt_alert_resolved",
    subject="alr_1",
    data={
        "alert_id": "alr_1",
        "rule": "vendor-down",
        "kind": "circuit_open",
        "severity": "critical",
        "subject": "netsuite",
        "summary": "netsuite: circuit not closed for 12 min",
        "fired_at": "2026-12-07T10:05:00Z",
        "resolved_at": "2026-12-07T10:20:00Z",
    },
)
FAST = RelayConfig(poll_seconds=0.01, max_attempts=2, backoff_base_seconds=0.001, retention_seconds=0)


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, _class=EmailMessage, policy=policy.default)
        self.messages.append((envelope, message))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def _target(controller: Controller, **changes: object) -> SmtpTarget:
    target = SmtpTarget(
        host="127.0.0.1",
        port=controller.port,
        sender="strata@example.com",
        recipients=("ops@example.com", "erp@example.com"),
        starttls=False,
    )
    return msgspec.structs.replace(target, **changes)


def _free_port() -> int:
    """A port nothing listens on (for a server about to start there, or for a channel that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_webhook_signs_a_fired_and_a_resolved_alert_as_standard_webhooks(receiver: Receiver) -> None:
    secret = new_secret()
    deliver = alert_webhook_handler(receiver.url, allow_loopback=True, signing_secret=secret)
    await deliver(FIRED)
    await deliver(RESOLVED)
    fired, resolved = receiver.requests
    for request, event in ((fired, FIRED), (resolved, RESOLVED)):
        assert request.headers["webhook-id"] == event.id == request.headers["ce-id"]
        verify(secret, request.headers, request.body)
        assert msgspec.json.decode(request.body)["type"] == event.type
    with pytest.raises(InvalidSignature):
        verify(new_secret(), fired.headers, fired.body)  # another secret does not verify it
    with pytest.raises(InvalidSignature):
        verify(secret, fired.headers, fired.body.replace(b"vendor-down", b"vendor-up!!"))


async def test_without_a_secret_the_webhook_is_unsigned(receiver: Receiver) -> None:
    await alert_webhook_handler(receiver.url, allow_loopback=True)(FIRED)
    assert "webhook-signature" not in receiver.requests[0].headers


async def test_slack_gets_text_and_blocks_for_a_fired_and_a_resolved_alert(receiver: Receiver) -> None:
    deliver = slack_handler(receiver.url, allow_loopback=True)
    await deliver(FIRED)
    await deliver(RESOLVED)
    fired, resolved = (msgspec.json.decode(request.body) for request in receiver.requests)
    assert fired["text"] == "[FIRING critical] vendor-down: netsuite: circuit not closed for 12 min"
    assert resolved["text"].startswith("[RESOLVED critical] vendor-down")
    assert [block["type"] for block in fired["blocks"]] == ["header", "section"]
    assert "subject: netsuite" in fired["blocks"][1]["text"]["text"]
    assert "resolved at: 2026-12-07T10:20:00Z" in resolved["blocks"][1]["text"]["text"]
    assert receiver.requests[0].headers["content-type"] == "application/json"


async def test_http_channels_go_through_the_destination_policy(receiver: Receiver) -> None:
    from core.destinations import DestinationRefused

    with pytest.raises(DestinationRefused):
        await slack_handler(receiver.url, allow_loopback=False)(FIRED)
    assert receiver.requests == []


async def test_a_channel_down_or_overloaded_is_an_outage_and_a_wrong_url_a_refusal(receiver: Receiver) -> None:
    down = f"http://127.0.0.1:{_free_port()}/hook"
    with pytest.raises(AlertChannelUnreachable) as unreachable:
        await slack_handler(down, allow_loopback=True)(FIRED)
    assert is_outage(unreachable.value) and down not in str(unreachable.value)
    receiver.status = 503
    with pytest.raises(AlertChannelUnreachable, match="HTTP 503") as overloaded:
        await alert_webhook_handler(receiver.url, allow_loopback=True)(FIRED)
    assert is_outage(overloaded.value)
    receiver.status = 404
    with pytest.raises(AlertChannelRefused, match="HTTP 404") as refused:
        await slack_handler(receiver.url, allow_loopback=True)(FIRED)
    assert not is_outage(refused.value) and receiver.path not in str(refused.value)


async def test_an_email_is_sent_for_a_fired_and_a_resolved_alert(smtp_server: tuple[Controller, Mailbox]) -> None:
    controller, mailbox = smtp_server
    deliver = email_handler(_target(controller))
    await deliver(FIRED)
    await deliver(RESOLVED)
    (fired_envelope, fired), (_, resolved) = mailbox.messages
    assert fired_envelope.mail_from == "strata@example.com"
    assert fired_envelope.rcpt_tos == ["ops@example.com", "erp@example.com"]
    # A long subject is folded after "Subject:"; a reader drops the folding white space.
    assert fired["Subject"].strip() == "[FIRING critical] vendor-down: netsuite: circuit not closed for 12 min"
    assert fired["Message-ID"] == "<evt_alert_fired@strata.alerts>"
    assert resolved["Subject"].strip().startswith("[RESOLVED critical]")
    assert "resolved at: 2026-12-07T10:20:00Z" in resolved.get_content()


async def test_an_smtp_server_away_is_an_outage_and_a_missing_starttls_a_refusal(
    smtp_server: tuple[Controller, Mailbox],
) -> None:
    controller, mailbox = smtp_server
    with pytest.raises(AlertChannelUnreachable) as away:
        await email_handler(_target(controller, port=_free_port()))(FIRED)
    assert is_outage(away.value)
    with pytest.raises(AlertChannelRefused, match="STARTTLS") as refused:
        await email_handler(_target(controller, starttls=True))(FIRED)  # this server offers none
    assert not is_outage(refused.value) and mailbox.messages == []


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    await create_schema(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_channel_that_is_down_keeps_its_alerts_and_does_not_hold_up_the_others(
    engine: AsyncEngine, receiver: Receiver, smtp_server: tuple[Controller, Mailbox]
) -> None:
    controller, mailbox = smtp_server
    slack = Receiver(status=503).start()  # Slack is having an outage
    try:
        secret = new_secret()
        settings = load_settings(
            {
                "allow_loopback_destinations": True,
                "alert_webhook_url": receiver.url,
                "alert_webhook_secret": secret,
                "alert_slack_webhook_url": slack.url,
                "alert_smtp_host": "127.0.0.1",
                "alert_smtp_port": _target(controller).port,
                "alert_smtp_from": "strata@example.com",
                "alert_smtp_to": "ops@example.com",
                "alert_smtp_starttls": False,
            },
            environ={},
        )
        subscribers = alert_channel_subscribers(settings)
        assert [s.name for s in subscribers] == ["alert-webhook", "alert-slack", "alert-email"]
        async with engine.begin() as connection:
            for event in (FIRED, RESOLVED):
                await append(connection, event)
        relay = OutboxRelay(engine, subscribers, FAST)

        assert await relay.run_once() == 4  # the webhook's two and the e-mail's two
        assert [r.headers["webhook-id"] for r in receiver.requests] == [FIRED.id, RESOLVED.id]
        assert [m["Message-ID"] for _, m in mailbox.messages] == [f"<{e.id}@strata.alerts>" for e in (FIRED, RESOLVED)]
        assert await relay.run_once() == 0  # Slack still down: held, not dead-lettered

        slack.status = 200
        assert await relay.run_once() == 2
        texts = [msgspec.json.decode(r.body)["text"] for r in slack.requests if r.headers.get("content-type")]
        assert texts[-2].startswith("[FIRING") and texts[-1].startswith("[RESOLVED")
        async with engine.connect() as connection:
            assert (await connection.execute(select(outbox_dead_letters))).all() == []
    finally:
        slack.close()


def test_channel_secrets_are_settings_secrets_readable_from_files(tmp_path: Path) -> None:
    secret, password = tmp_path / "secret", tmp_path / "password"
    signing = new_secret()
    secret.write_text(signing + "\n")
    password.write_text("s3cret-pass\n")
    settings = load_settings(
        {"alert_smtp_host": "smtp.example.com", "alert_smtp_from": "a@example.com", "alert_smtp_to": "b@example.com"},
        environ={
            "STRATA_ALERT_WEBHOOK_SECRET_FILE": str(secret),
            "STRATA_ALERT_SMTP_PASSWORD_FILE": str(password),
            "STRATA_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
        },
    )
    assert settings.alert_webhook_secret == signing
    assert {"alert_webhook_secret", "alert_slack_webhook_url", "alert_smtp_password"} <= set(settings.SECRETS)
    target = smtp_target(settings)
    assert target is not None and target.password == "s3cret-pass"
    assert "s3cret-pass" not in repr(target)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"alert_webhook_secret": "not-a-secret"}, "alert_webhook_secret"),
        ({"alert_smtp_host": "smtp.example.com", "alert_smtp_from": "a@example.com"}, "alert_smtp_to"),
        ({"alert_smtp_host": "smtp.example.com", "alert_smtp_to": "b@example.com"}, "alert_smtp_from"),
        ({"alert_slack_webhook_url": "hooks.slack.com/x"}, "alert_slack_webhook_url"),
        ({"alert_smtp_port": 0}, "alert_smtp_port"),
    ],
)
def test_a_wrong_channel_setting_is_refused_by_name(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError, match=key) as refused:
        load_settings(overrides, environ={})
    assert "not-a-secret" not in str(refused.value)


async def test_an_email_goes_over_starttls_with_a_login_and_a_wrong_password_is_a_refusal() -> None:
    ca = TestCA()
    cert, key = ca.server_files("localhost", ip="127.0.0.1")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[str, bytes]] = []

    def check(mechanism: str, login: bytes, password: bytes) -> bool:
        logins.append((mechanism, login))
        return password == b"s3cret-pass"

    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_tls,
        require_starttls=True,  # nothing, not even the login, before STARTTLS
        auth_callback=check,
    )
    controller.start()
    try:
        target = _target(controller, starttls=True, username="strata", password="s3cret-pass")
        await email_handler(target, tls=ca.client_context())(FIRED)
        assert [m["Message-ID"] for _, m in mailbox.messages] == ["<evt_alert_fired@strata.alerts>"]
        assert logins and logins[0][1] == b"strata"
        wrong = msgspec.structs.replace(target, password="wrong")
        with pytest.raises(AlertChannelRefused, match="535") as refused:
            await email_handler(wrong, tls=ca.client_context())(RESOLVED)
        assert "wrong" not in str(refused.value) and len(mailbox.messages) == 1
    finally:
        controller.stop()
