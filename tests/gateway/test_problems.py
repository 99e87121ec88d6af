"""Problem bodies always encode, whatever caller input a detail quotes."""

from __future__ import annotations

import json

from gateway.problems import problem_body


def test_lone_surrogates_in_quoted_input_become_replacement_characters() -> None:
    body = problem_body(
        status=422,
        problem="validation-failed",
        title="Invalid",
        detail="tiers.\ud800: not a tier",
        errors=[{"in": "body", "pointer": "/tiers/\udc00", "detail": "bad"}],
    )
    decoded = json.loads(body)
    assert decoded["detail"] == "tiers.\ufffd: not a tier"
    assert decoded["errors"][0]["pointer"] == "/tiers/\ufffd"
