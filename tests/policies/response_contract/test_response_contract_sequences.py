"""Response contract on NDJSON bodies: every line is one JSON document checked against the item schema."""

from __future__ import annotations

from policies.context import CapturedResponse
from policies.request_contract import compile_operation
from policies.response_contract import response_violations

OPERATION = {
    "responses": {
        "200": {
            "description": "lines",
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "x-strata-item-schema": {
                        "type": "object",
                        "required": ["id"],
                        "additionalProperties": False,
                        "properties": {"id": {"type": "string"}},
                    },
                }
            },
        }
    }
}


def _ndjson(body: bytes) -> CapturedResponse:
    return CapturedResponse(status=200, headers=[(b"content-type", b"application/x-ndjson")], body=body)


def test_conforming_lines_pass() -> None:
    validators = compile_operation(OPERATION, None)
    assert response_violations(validators, _ndjson(b'{"id": "1"}\n{"id": "2"}\n')) == []
    assert response_violations(validators, _ndjson(b"")) == []


def test_each_bad_line_is_named() -> None:
    validators = compile_operation(OPERATION, None)
    violations = response_violations(validators, _ndjson(b'{"id": "1"}\nnot json\n{"id": 3}\n{"id": "4", "x": 1}\n'))
    assert [violation.split(":")[0] for violation in violations] == ["line 2", "line 3", "line 4"]
