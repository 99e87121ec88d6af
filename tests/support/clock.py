"""A wall clock the test moves: time runs on as usual and jumps forward when the test says.

Tokens carry whole-second ``iat`` values, so "a change made after the token was issued" needs
a later second. Sleeping for it costs a second a time; :func:`movable_clock` shifts the clock
instead (time-machine patches ``time.time`` and ``datetime.now`` for the in-process gateway;
``time.monotonic`` is left alone, so timeouts and the event loop are unaffected).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import time_machine


@contextmanager
def movable_clock() -> Iterator[time_machine.Coordinates]:
    """Travel to now with the clock ticking; ``shift(seconds)`` on the yielded value jumps ahead."""
    with time_machine.travel(time.time(), tick=True) as traveller:
        yield traveller
