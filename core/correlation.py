"""Correlation ids: W3C ``traceparent`` and ``X-Request-ID``, and the request they belong to.

The pipeline's first step (:func:`policies.correlation.correlate`) sets them on every request;
log processors, tracing and outbound vendor calls read them from :data:`CURRENT`.

An incoming ``X-Request-ID`` is kept when it is a sane token (1-128 of ``[A-Za-z0-9._:-]``),
otherwise one is generated. An incoming ``traceparent`` (W3C Trace Context level 1) keeps
its trace id; the gateway's own span gets a fresh parent id. Both are echoed on the response
and appear in every log line and audit record of the request: :data:`CURRENT` holds them
for the task handling the request (log processors and outbound vendor calls read it).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from contextvars import ContextVar
from typing import Any, NamedTuple

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TRACEPARENT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16

CURRENT: ContextVar[tuple[str, str] | None] = ContextVar("strata_correlation", default=None)
"""``(request_id, traceparent)`` of the request the current task is handling, else None."""


class _RandomHex:
    """Unpredictable bytes as hex: BLAKE2b keyed with 32 bytes from ``os.urandom``, over a counter.

    ``os.urandom`` releases the GIL, and in a gateway with background threads (the workflow
    engine's pollers, database drivers) getting it back cost ~10-40 µs a request under load,
    more than the rest of correlation. A keyed BLAKE2b of a counter is a PRF: its output
    cannot be told from random without the key, and hashing a few bytes keeps the GIL. The
    key is drawn again in a forked child (granian forks its workers), so no two processes
    share a sequence.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._key = os.urandom(32)
        self._counter = itertools.count()
        # Keyed states by output size, set up once (the key costs a compression of its own):
        # a call copies one and hashes the counter into the copy.
        self._keyed: dict[int, Any] = {}

    def __call__(self, nbytes: int) -> str:
        """``nbytes`` (at most 64) random bytes as lower-case hex."""
        keyed = self._keyed.get(nbytes)
        if keyed is None:
            keyed = self._keyed[nbytes] = hashlib.blake2b(key=self._key, digest_size=nbytes)
        digest = keyed.copy()
        digest.update(next(self._counter).to_bytes(8, "little"))
        return digest.hexdigest()


_random_hex = _RandomHex()


class TraceParent(NamedTuple):
    """The fields of a valid incoming W3C ``traceparent`` (lower-case hex)."""

    trace_id: str
    parent_id: str
    flags: str


def new_request_id() -> str:
    """A random request id (128 bits, hex)."""
    return _random_hex(16)


def parse_traceparent(incoming: str | None) -> TraceParent | None:
    """The caller's trace context, or None when absent or invalid (W3C Trace Context §3.2)."""
    if incoming:
        match = TRACEPARENT.match(incoming.strip().lower())
        if match and match["version"] != "ff" and match["trace"] != _ZERO_TRACE and match["parent"] != _ZERO_PARENT:
            return TraceParent(match["trace"], match["parent"], match["flags"])
    return None


def correlation_ids(incoming_request_id: str | None, incoming_traceparent: str | None) -> tuple[str, str]:
    """The request id and our span's ``traceparent``, from one read of the random source.

    The caller's request id is kept when sane; the caller's trace id (and flags) when its
    ``traceparent`` is valid, a new trace otherwise. Our span id is always fresh.
    """
    random_hex = _random_hex(40)
    if incoming_request_id and REQUEST_ID.match(incoming_request_id):
        request_id = incoming_request_id
    else:
        request_id = random_hex[:32]
    parent = parse_traceparent(incoming_traceparent)
    if parent is None:
        return request_id, f"00-{random_hex[48:]}-{random_hex[32:48]}-01"
    return request_id, f"00-{parent.trace_id}-{random_hex[32:48]}-{parent.flags}"
