"""Partner webhook attempts on the engine's queue: per-partner limits, and partners apart.

The receivers are real HTTP servers on 127.0.0.1 that hold each request for a while (a slow
endpoint) or longer than the delivery timeout (an endpoint that never answers), and count the
requests they hold at once. The module's gateway allows two attempts per partner at a time
(``FAST_WEBHOOK_SETTINGS``).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.apis.experience.partner_webhooks.portal import FAST_WEBHOOK_SETTINGS, Hooks, customer_synced
from tests.apis.experience.partner_webhooks.receiver import Receiver, verify

pytestmark = pytest.mark.asyncio(loop_scope="module")
PER_PARTNER = FAST_WEBHOOK_SETTINGS["partner_webhook_concurrency_per_partner"]


async def test_a_partner_never_has_more_attempts_in_flight_than_its_limit(hooks: Hooks) -> None:
    slow = Receiver(delay_seconds=0.5).start()
    try:
        created = await hooks.subscribe(hooks.a, slow.url)
        events = [customer_synced(hooks.a.account_id) for _ in range(3 * PER_PARTNER)]
        for event in events:
            await hooks.happen(event)
        for event in events:
            [request] = await slow.wait_for(event.id, within=20)
            verify(created["secret"], request.headers, request.body)
        for event in events:
            await hooks.delivery_when(hooks.a, created["id"], event.id, "delivered")
        assert slow.most_in_flight == PER_PARTNER  # reached, never passed
    finally:
        slow.close()


async def test_a_partner_whose_endpoint_never_answers_does_not_hold_another_partners_deliveries(
    hooks: Hooks,
) -> None:
    dead = Receiver(delay_seconds=30).start()  # past the 2 s delivery timeout: every attempt times out
    alive = Receiver().start()
    try:
        await hooks.subscribe(hooks.a, dead.url)
        await hooks.subscribe(hooks.b, alive.url)
        stuck = [customer_synced(hooks.a.account_id) for _ in range(4 * PER_PARTNER)]
        for event in stuck:
            await hooks.happen(event)
        deadline = time.monotonic() + 10
        while dead.in_flight < PER_PARTNER:  # partner A's slots are all taken
            assert time.monotonic() < deadline, "the dead endpoint never got its attempts"
            await asyncio.sleep(0.02)
        event = customer_synced(hooks.b.account_id)
        await hooks.happen(event)
        await alive.wait_for(event.id, within=5)
        # B's delivery went while A's backlog still waits on its timeouts (eight deliveries, three
        # attempts each, two at a time, two seconds per attempt): not behind it.
        assert len(dead.requests) < len(stuck), "partner B's delivery waited for partner A's backlog"
        assert dead.in_flight == PER_PARTNER
        assert dead.most_in_flight == PER_PARTNER
    finally:
        dead.close()
        alive.close()
