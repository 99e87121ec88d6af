"""What a person reads of an alert event: one headline and a few lines, for chat and e-mail.

Built from the event's ``data`` (``strata.alert.fired`` / ``strata.alert.resolved``, see
:mod:`apis.process.event_types`) only; a field missing from an older event reads as empty.
"""

from __future__ import annotations

from typing import Any

import msgspec

from apis.process.events import CloudEvent

FIRED = "strata.alert.fired"


class AlertMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An alert event put into words."""

    headline: str
    """``[FIRING critical] vendor-down: netsuite: circuit not closed for 12 min``."""
    lines: tuple[str, ...]
    """``name: value`` lines (rule, subject, since/resolved, alert id, event id)."""

    @property
    def text(self) -> str:
        """Headline then the lines, one per line."""
        return "\n".join((self.headline, *self.lines))


def alert_message(event: CloudEvent) -> AlertMessage:
    """The words of one alert event."""
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}

    def field(name: str) -> str:
        return str(data.get(name, ""))

    fired = event.type == FIRED
    status = "FIRING" if fired else "RESOLVED"
    repeat = int(data.get("notification", 1) or 1) if fired else 1
    headline = f"[{status} {field('severity')}] {field('rule')}: {field('summary')}"
    if repeat > 1:
        headline += f" (reminder {repeat - 1})"
    lines = [f"rule: {field('rule')} ({field('kind')})"]
    if field("subject"):
        lines.append(f"subject: {field('subject')}")
    if fired:
        lines.append(f"since: {field('since')}")
    else:
        lines.append(f"fired at: {field('fired_at')}")
        lines.append(f"resolved at: {field('resolved_at')}")
    lines += [f"alert: {field('alert_id')}", f"event: {event.id}"]
    return AlertMessage(headline=headline, lines=tuple(lines))
