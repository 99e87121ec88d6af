"""Requests that reach no route (404, 405) still leave a log line carrying their request id."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.harness import problem, running_gateway


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/no/such/api", 404), ("DELETE", "/health/live", 405)])
async def test_an_unrouted_request_is_a_problem_and_a_log_line_with_its_id(
    tmp_path: Path, method: str, path: str, status: int
) -> None:
    lines: list[logging.LogRecord] = []
    # A handler on the logger itself: the app's start-up reconfigures the root handlers.
    handler = logging.Handler(logging.INFO)
    handler.emit = lines.append  # type: ignore[method-assign]
    errors_logger = logging.getLogger("strata.errors")
    async with running_gateway(tmp_path / "state") as gw:
        errors_logger.addHandler(handler)
        try:
            response = await gw.client.request(method, path)
        finally:
            errors_logger.removeHandler(handler)
    assert response.status_code == status
    assert problem(response)["request_id"] == response.headers["x-request-id"]
    # Our code logs through structlog: a record's message is the event with its fields.
    events = [record.msg for record in lines]
    assert [event["request_id"] for event in events] == [response.headers["x-request-id"]]
    assert f"{method} {path} answered {status}" in events[0]["event"]
