"""The one backoff formula, and the four retries that use it (connectors, steps, outbox, webhooks)."""

from __future__ import annotations

import random

import pytest

from apis.experience.partner_portal.webhooks.deliveries import backoff_seconds
from apis.process.engine import StepRetry
from core.backoff import backoff_delay


def test_the_pause_doubles_from_base_up_to_the_cap_in_any_unit() -> None:
    assert [backoff_delay(retry, base=0.5, cap=3.0) for retry in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [backoff_delay(retry, base=100, cap=1000) for retry in range(5)] == [100, 200, 400, 800, 1000]
    assert backoff_delay(-1, base=0.5, cap=3.0) == 0.5  # a retry count below 0 is the first retry


@pytest.mark.parametrize(("jitter", "low_share"), [("full", 0.0), ("equal", 0.5)])
def test_jitter_draws_below_the_ceiling(jitter: str, low_share: float) -> None:
    rng = random.Random(5)
    draws = [backoff_delay(3, base=1.0, cap=60.0, jitter=jitter, rng=rng) for _ in range(500)]  # type: ignore[arg-type]
    assert all(8.0 * low_share <= draw <= 8.0 for draw in draws)
    assert len(set(draws)) > 400  # spread, not one value


def test_retry_after_is_a_floor_itself_capped() -> None:
    assert backoff_delay(0, base=0.1, cap=30.0, jitter="full", retry_after=7.0, rng=random.Random(1)) == 7.0
    assert backoff_delay(0, base=0.1, cap=30.0, retry_after=120.0) == 30.0  # the caller refuses or schedules longer
    assert backoff_delay(4, base=1.0, cap=30.0, retry_after=2.0) == 16.0  # a shorter Retry-After changes nothing


def test_workflow_steps_and_webhooks_pause_by_it() -> None:
    retry = StepRetry(max_attempts=5, backoff_base_seconds=1.0, backoff_max_seconds=300.0)
    rng = random.Random(3)
    pauses = [retry.pause(attempt, None, rng) for attempt in (1, 2, 3)]
    assert [0.5 <= pauses[0] <= 1.0, 1.0 <= pauses[1] <= 2.0, 2.0 <= pauses[2] <= 4.0] == [True] * 3
    assert retry.pause(1, 500.0, rng) == 300.0  # Retry-After honoured up to the ceiling
    assert [backoff_seconds(n, 60_000, 3_600_000) for n in (1, 2, 7, 8)] == [60.0, 120.0, 3600.0, 3600.0]
