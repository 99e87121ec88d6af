"""The pipeline's request header map: lower-case names, first value wins, a bounded name cache."""

from __future__ import annotations

from typing import Any

from policies import pipeline
from policies.pipeline import request_headers


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"headers": headers}


def test_names_are_lower_case_the_first_value_wins_and_sizes_are_counted() -> None:
    sent = [(b"Authorization", b"Bearer a"), (b"X-Request-ID", b"r1"), (b"authorization", b"Bearer b")]
    state: dict[str, Any] = {}
    assert request_headers(_scope(sent), state) == {"authorization": "Bearer a", "x-request-id": "r1"}
    assert state["authorization_count"] == 2
    assert state["header_bytes"] == sum(len(name) + len(value) + 4 for name, value in sent)
    # The same raw names again, now from the name cache: the same answer.
    again = request_headers(_scope([(b"Authorization", b"Bearer c"), (b"X-Request-ID", b"r2")]), {})
    assert again == {"authorization": "Bearer c", "x-request-id": "r2"}


def test_a_client_inventing_header_names_cannot_grow_the_name_cache_without_bound() -> None:
    invented = [(f"X-Invented-{n}".encode(), b"v") for n in range(pipeline._HEADER_NAMES_MAX + 500)]
    headers = request_headers(_scope(invented), {})
    assert len(headers) == len(invented)
    assert headers[f"x-invented-{pipeline._HEADER_NAMES_MAX + 499}"] == "v"  # decoded past the bound too
    assert len(pipeline._HEADER_NAMES) <= pipeline._HEADER_NAMES_MAX
