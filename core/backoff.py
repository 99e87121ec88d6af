"""How long to wait before trying again: the one backoff formula of the project.

Every retry in Strata waits ``base · 2^retry`` (``retry`` counts from 0 for the first
retry), capped at ``cap``, optionally jittered, and never less than the ``Retry-After`` the
other side asked for (itself capped at ``cap``: a longer one is the caller's to refuse or to
schedule). Who retries, and with which jitter:

=================================================  ==============  ===========================
caller                                             jitter          waits for
=================================================  ==============  ===========================
vendor connectors (:mod:`apis.system.kit.retry`)   ``full``        an in-memory retry
workflow steps (:class:`apis.process.engine.StepRetry`)  ``equal``   a durable sleep
outbox relay (:mod:`apis.process.events`)          ``none``        a subscriber's next try
partner webhooks (``webhooks.deliveries``)         ``none``        the delivery's next attempt
=================================================  ==============  ===========================

Full jitter (a uniform draw from ``[0, ceiling]``) spreads a herd of clients best; equal
jitter (``[ceiling/2, ceiling]``) keeps a floor under a durable pause; no jitter where one
process paces one queue. See "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015).

The formula is unit-free: pass seconds or milliseconds, and get the same unit back.
"""

from __future__ import annotations

import random
from typing import Literal

Jitter = Literal["none", "full", "equal"]
"""How much of the exponential ceiling is drawn at random (see the module docstring)."""

_RNG = random.Random()


def backoff_delay(
    retry: int,
    *,
    base: float,
    cap: float,
    jitter: Jitter = "none",
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The pause before retry number ``retry`` (0 = the first retry).

    Args:
        retry: how many retries came before this one.
        base: the pause before the first retry (before jitter).
        cap: the longest pause; also the most of a ``retry_after`` that is honoured.
        jitter: ``none`` (exactly the ceiling), ``full`` or ``equal``.
        retry_after: the other side's ``Retry-After``, in the same unit; the pause is never shorter.
        rng: the random source of the jitter (a seeded one in tests).
    """
    ceiling = min(cap, base * 2 ** max(0, retry))
    if jitter == "full":
        delay = (rng or _RNG).uniform(0, ceiling)
    elif jitter == "equal":
        delay = (rng or _RNG).uniform(ceiling / 2, ceiling)
    else:
        delay = ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
