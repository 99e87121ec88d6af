"""Alert events by e-mail over SMTP: an outbox subscriber sending one message per event.

Settings ``alert_smtp_*``: host and port, sender, recipients, an optional login (the password is a
secret, never logged) and STARTTLS (on by default, refused when the server does not offer it).
The standard library's :mod:`smtplib` runs in a worker thread so the event loop is never blocked.
The ``Message-ID`` is derived from the event id, so a redelivered event is the same message to a
mail client that de-duplicates.

What a failure means for the outbox relay (:class:`~apis.process.events.OutboxRelay`):

* the server is out of reach, drops the connection or answers 4xx (a temporary failure in SMTP):
  :class:`~apis.process.alerts.outbound.AlertChannelUnreachable`, an outage: the event is held
  until the server is back, so no alert is lost;
* 5xx (a refused login, sender or recipient) or no STARTTLS: :class:`~apis.process.alerts.outbound.AlertChannelRefused`,
  retried a few times then dead-lettered with the error.

The SMTP host is the operator's own relay, named in the settings: it is not an HTTP destination
and does not go through :mod:`core.destinations`.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import msgspec

from apis.process.alerts.message import alert_message
from apis.process.alerts.outbound import AlertChannelRefused, AlertChannelUnreachable
from apis.process.events import CloudEvent, Handler, Subscriber

SUBSCRIBER = "alert-email"
TIMEOUT_SECONDS = 20.0


class SmtpTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how alert e-mails are sent (from the ``alert_smtp_*`` settings)."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str = ""
    password: str = msgspec.field(default="")
    """A secret: never logged (``__repr__`` leaves it out)."""
    starttls: bool = True

    def __repr__(self) -> str:
        return (
            f"SmtpTarget(host={self.host!r}, port={self.port}, sender={self.sender!r}, recipients={self.recipients!r})"
        )


def alert_email(event: CloudEvent, target: SmtpTarget) -> EmailMessage:
    """The e-mail of one alert event: the headline as subject, the details as plain text."""
    words = alert_message(event)
    message = EmailMessage()
    message["Subject"] = words.headline[:200]
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{event.id}@strata.alerts>"
    message["X-Strata-Event-Type"] = event.type
    message.set_content(words.text + "\n")
    return message


def _send(message: EmailMessage, target: SmtpTarget, tls: ssl.SSLContext) -> None:
    try:
        with smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS) as smtp:
            if target.starttls:
                smtp.starttls(context=tls)
            if target.username:
                smtp.login(target.username, target.password)
            smtp.send_message(message)
    except smtplib.SMTPNotSupportedError:
        raise AlertChannelRefused("the SMTP server does not offer STARTTLS (or AUTH)") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        if all(code >= 500 for code in codes):
            raise AlertChannelRefused(f"the SMTP server refused the recipients: {codes}") from None
        raise AlertChannelUnreachable(f"the SMTP server deferred the recipients: {codes}") from None
    except smtplib.SMTPResponseException as exc:
        error = f"{type(exc).__name__}: the SMTP server answered {exc.smtp_code}"
        if exc.smtp_code >= 500:
            raise AlertChannelRefused(error) from None
        raise AlertChannelUnreachable(error) from None
    except (OSError, smtplib.SMTPException) as exc:  # refused, cut, timed out, TLS failed
        raise AlertChannelUnreachable(f"{type(exc).__name__}: could not reach the SMTP server") from None


def email_handler(target: SmtpTarget, *, tls: ssl.SSLContext | None = None) -> Handler:
    """Sends one alert event as an e-mail to ``target`` (raising: not sent)."""
    context = tls or ssl.create_default_context()

    async def deliver(event: CloudEvent) -> None:
        await asyncio.to_thread(_send, alert_email(event, target), target, context)

    return deliver


def email_subscribers(target: SmtpTarget | None, *, tls: ssl.SSLContext | None = None) -> list[Subscriber]:
    """The outbox subscriber e-mailing alert events; none without a target."""
    if target is None:
        return []
    return [Subscriber(name=SUBSCRIBER, handler=email_handler(target, tls=tls), types=("strata.alert.",))]
