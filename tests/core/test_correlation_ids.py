"""Request ids and our span ids are random: none repeats, not in one process nor across forked workers."""

from __future__ import annotations

import multiprocessing
import re

from core.correlation import correlation_ids, new_request_id

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_ids_are_hex_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(20_000)]
    assert all(HEX32.match(value) for value in ids)
    assert len(set(ids)) == len(ids)
    traces = {correlation_ids(None, None)[1] for _ in range(5_000)}
    assert len(traces) == 5_000
    assert all(re.match(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", value) for value in traces)


def _child_ids(queue: multiprocessing.Queue[list[str]]) -> None:
    queue.put([new_request_id() for _ in range(100)])


def test_forked_workers_do_not_share_a_sequence() -> None:
    # granian forks its workers from one parent: each must draw ids of its own.
    new_request_id()  # the parent's generator is in use before the fork
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    children = [context.Process(target=_child_ids, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    from_children = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    parent = [new_request_id() for _ in range(100)]
    every = [*parent, *from_children[0], *from_children[1]]
    assert len(set(every)) == len(every)
