"""A stopped gateway leaves nothing behind in its process.

Start-up freezes what it built (``gc.freeze()``: full collections then skip the objects that
live as long as the process). A process that starts gateways one after another — a test
worker, an embedding application — must still get a stopped one's memory back: its objects
sit in reference cycles, which only the cycle collector frees.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from tests.support.harness import running_gateway


async def _start_and_stop(state_dir: Path) -> weakref.ref[object]:
    async with running_gateway(state_dir) as gateway:
        assert (await gateway.client.get("/health/live")).status_code == 200
        # The components: what the Litestar app's state (a web of cycles) holds.
        return weakref.ref(gateway.app.state.components)


async def test_a_stopped_gateway_is_collected(tmp_path: Path) -> None:
    first = await _start_and_stop(tmp_path / "first")
    # A second app: Litestar's module-level route handlers (OAuth, health) keep a reference
    # to the last app they were registered with, so the first is only unreachable now.
    await _start_and_stop(tmp_path / "second")
    gc.collect()
    assert first() is None, "the first gateway's components are still alive after a full collection"
    assert gc.get_freeze_count() == 0, "objects the stopped gateways froze are still frozen"
