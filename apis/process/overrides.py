"""Corrected input a replay may carry: how each workflow checks it (see ``WorkflowSpec.check_overrides``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from core.errors import InvalidInput

OverridesCheck = Callable[[dict[str, Any]], dict[str, Any]]


def overrides_of(kind: type[msgspec.Struct]) -> OverridesCheck:
    """A check that converts the input to ``kind`` (a Struct refusing unknown fields) and keeps
    the fields given; a wrong one raises InvalidInput naming ``/input``."""

    def check(raw: dict[str, Any]) -> dict[str, Any]:
        try:
            overrides = msgspec.convert(raw, kind)
        except msgspec.ValidationError as error:
            raise InvalidInput(
                f"input: {error}", field_errors=[{"in": "body", "pointer": "/input", "detail": str(error)}]
            ) from None
        return {k: v for k, v in msgspec.to_builtins(overrides).items() if v is not None}

    return check


def no_overrides(workflow: str, why: str) -> OverridesCheck:
    """A check for a workflow that takes no corrected input (``why``: what a replay does instead)."""

    def check(raw: dict[str, Any]) -> dict[str, Any]:
        if raw:
            raise InvalidInput(
                f"{workflow} takes no input on replay: {why}",
                field_errors=[{"in": "body", "pointer": "/input", "detail": f"must be empty for {workflow}"}],
            )
        return {}

    return check
