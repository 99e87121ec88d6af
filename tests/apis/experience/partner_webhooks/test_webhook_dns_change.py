"""A webhook URL whose name resolves to this machine at delivery time is not sent to.

In a module of its own: it runs a gateway of its own (the production default on URLs), and the
workflow engine is one per process, so no other module's gateway may run meanwhile.
"""

from __future__ import annotations

import re
from pathlib import Path

from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.master_key import resolve_master_key
from tests.apis.experience.partner_webhooks.portal import (
    FAST_WEBHOOK_SETTINGS,
    customer_synced,
    local_host_name,
    make_hooks,
)
from tests.apis.experience.partner_webhooks.receiver import Receiver
from tests.support.harness import running_gateway


async def test_a_url_whose_name_now_resolves_to_this_machine_is_not_sent_to(tmp_path: Path, receiver: Receiver) -> None:
    # The production default (no loopback destinations), unlike the module's gateway: this
    # machine's name resolves to a loopback or private address here, never acceptable then.
    settings = {**FAST_WEBHOOK_SETTINGS, "allow_loopback_destinations": False}
    async with running_gateway(tmp_path, workflows_enabled=True, reconciliation_schedule_hour=-1, **settings) as gw:
        hooks = await make_hooks(gw)
        # As if the name resolved to a public address when it was registered and its DNS changed
        # since: the subscription is stored directly, past the registration check.
        port = receiver.url.rsplit(":", 1)[1].split("/", 1)[0]
        url = f"https://{local_host_name()}:{port}/hook"
        state = hooks.gw.app.state
        store = SubscriptionStore(state.components.engine, SecretBox(resolve_master_key(state.settings)))
        subscription, _ = await store.create(hooks.a.partner_id, url, ["strata.customer.synced"], None)
        event = customer_synced(hooks.a.account_id)
        await hooks.happen(event)
        dead = await hooks.delivery_when(hooks.a, subscription.id, event.id, "dead")
    assert dead["last_status_code"] is None
    assert dead["last_error"].startswith("not sent: destination not allowed: not a public address"), dead
    assert not re.search(r"\d+\.\d+\.\d+\.\d+|::", dead["last_error"]), "the resolved address is never shown"
    assert receiver.with_id(event.id) == []
