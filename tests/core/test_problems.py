"""Problem bodies always encode, whatever caller input a detail quotes."""

from __future__ import annotations

import json

from litestar.exceptions import ValidationException

from core.problems import problem_body
from gateway.exceptions import exception_to_response


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


BIG = "q" * 1_000_000


def test_every_quoted_value_is_cut_to_128_characters_and_the_rest_left_exact() -> None:
    body = json.loads(
        problem_body(
            status=422,
            problem="validation-failed",
            title="Invalid",
            detail=f"Invalid enum value '{BIG}' - at `$.mode`",
            instance="/gateway/v1/governance",
            errors=[
                {"in": "body", "pointer": "/request_limits/mode", "detail": f"Object contains unknown field `{BIG}`"},
                {"in": "query", "name": "limit", "detail": "'x' is not an integer"},
            ],
        )
    )
    cut = "q" * 128 + "…(truncated, 1000000 characters)"
    assert body["detail"] == f"Invalid enum value '{cut}' - at `$.mode`"
    assert body["errors"] == [
        {"in": "body", "pointer": "/request_limits/mode", "detail": f"Object contains unknown field `{cut}`"},
        {"in": "query", "name": "limit", "detail": "'x' is not an integer"},
    ]
    assert body["instance"] == "/gateway/v1/governance"


def test_an_unquoted_value_is_cut_with_the_message_keeping_its_head_and_tail() -> None:
    detail = json.loads(problem_body(status=404, problem="not-found", title="Not found", detail=f"No run {BIG} here"))[
        "detail"
    ]
    assert len(detail) == 512
    assert detail.startswith("No run qqq") and detail.endswith("qqq here")
    assert "…(truncated, 1000012 characters)…" in detail


def test_caller_segments_of_pointers_names_and_instances_are_cut_one_by_one() -> None:
    body = json.loads(
        problem_body(
            status=422,
            problem="validation-failed",
            title="Invalid",
            detail="2 field(s) are invalid",
            instance=f"/system/billing/v1/customers/{BIG}",
            errors=[
                {"in": "body", "pointer": f"/tiers/{BIG}/limits", "detail": "is not a list"},
                {"in": "query", "name": BIG, "detail": "unknown query parameter"},
            ],
        )
    )
    cut = "q" * 128 + "…(truncated, 1000000 characters)"
    assert body["instance"] == f"/system/billing/v1/customers/{cut}"
    assert [error.get("pointer") or error["name"] for error in body["errors"]] == [f"/tiers/{cut}/limits", cut]


def test_a_litestar_validation_error_quoting_a_parameter_is_bounded() -> None:
    """Litestar's own parameter errors (routes the contracts do not cover) end up here too."""
    extra = [{"message": f"Invalid enum value '{BIG}'", "key": "status", "source": "query"}]
    captured = exception_to_response("https://strata.dev/problems/")(ValidationException(extra=extra), "/x", "r1")
    assert captured.status == 400 and len(captured.body) < 1024
    [error] = json.loads(captured.body)["errors"]
    assert error == {"in": "query", "name": "status", "detail": error["detail"]}
    assert error["detail"].endswith("…(truncated, 1000000 characters)'")
