"""Instants as every API writes them: RFC 3339 in UTC, milliseconds, ``Z``."""

from __future__ import annotations

import datetime as dt
from typing import overload


@overload
def rfc3339(epoch: float) -> str: ...
@overload
def rfc3339(epoch: None) -> None: ...
@overload
def rfc3339(epoch: float | None) -> str | None: ...
def rfc3339(epoch: float | None) -> str | None:
    """``2026-12-02T08:16:04.123Z`` for an epoch timestamp; ``None`` for none."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
