"""Contract lint: each rule has a breaking fixture, and the fixture tree passes them all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.contracts.lint import LintFinding, lint_all, lint_contract, lint_main
from tests.gateway.contracts.conftest import FIXTURE_TREE, WIDGETS, Mutation, load_fixture, write_contract

WIDGETS_PATH = "/widgets"
ONE_WIDGET = "/widgets/{widget_id}"
READ = "system:widgets:read"


def _op(document: dict[str, Any], path: str = WIDGETS_PATH, method: str = "get") -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def _rules(findings: list[LintFinding]) -> set[str]:
    return {finding.rule_id for finding in findings}


def test_fixture_tree_is_clean() -> None:
    assert lint_all(FIXTURE_TREE) == []


def test_each_fixture_contract_is_clean() -> None:
    for relative in ("system/widgets/v1.yaml", "process/order-flow/v1.yaml", "gateway/v1.yaml"):
        assert lint_contract(FIXTURE_TREE / relative) == [], relative


def _set(path: str, method: str, key: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        _op(document, path, method)[key] = value

    return mutate


def _drop(path: str, method: str, key: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        del _op(document, path, method)[key]

    return mutate


def _response(status: str, response: Any, path: str = WIDGETS_PATH, method: str = "get") -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        responses = _op(document, path, method)["responses"]
        if response is None:
            del responses[status]
        else:
            responses[status] = response

    return mutate


def _info(key: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        if value is None:
            del document["info"][key]
        else:
            document["info"][key] = value

    return mutate


def _schema(name: str, key: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        if value is None:
            del document["components"]["schemas"][name][key]
        else:
            document["components"]["schemas"][name][key] = value

    return mutate


def _absolute_path(document: dict[str, Any]) -> None:
    document["paths"]["/system/widgets/v1/widgets"] = document["paths"].pop(WIDGETS_PATH)


def _undeclared_scope(document: dict[str, Any]) -> None:
    scopes = document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"]
    del scopes["system:widgets:admin"]


def _problem(media_type: str = "application/problem+json") -> dict[str, Any]:
    return {"description": "x", "content": {media_type: {"schema": {"type": "object"}}}}


def _body(schema: dict[str, Any]) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        _op(document, WIDGETS_PATH, "post")["requestBody"]["content"]["application/json"]["schema"] = schema

    return mutate


BROKEN: list[tuple[str, Mutation, str]] = [
    # STR001 operationId
    ("missing operationId", _drop(WIDGETS_PATH, "get", "operationId"), "STR001"),
    ("repeated operationId", _set(ONE_WIDGET, "get", "operationId", "listWidgets"), "STR001"),
    # STR002 security
    ("no security", _drop(WIDGETS_PATH, "get", "security"), "STR002"),
    ("empty security", _set(WIDGETS_PATH, "get", "security", []), "STR002"),
    ("anonymous alternative", _set(WIDGETS_PATH, "get", "security", [{"oauth2": [READ]}, {}]), "STR002"),
    ("no scopes", _set(WIDGETS_PATH, "get", "security", [{"oauth2": []}]), "STR002"),
    ("scope of another api", _set(WIDGETS_PATH, "get", "security", [{"oauth2": ["system:crm:read"]}]), "STR002"),
    ("scope of another layer", _set(WIDGETS_PATH, "get", "security", [{"oauth2": ["process:widgets:read"]}]), "STR002"),
    ("unknown access level", _set(WIDGETS_PATH, "get", "security", [{"oauth2": ["system:widgets:delete"]}]), "STR002"),
    ("malformed scope", _set(WIDGETS_PATH, "get", "security", [{"oauth2": ["widgets.read"]}]), "STR002"),
    # STR003 declared schemes and scopes
    ("scope not declared", _undeclared_scope, "STR003"),
    ("scheme not declared", _set(WIDGETS_PATH, "get", "security", [{"bearer": ["system:widgets:read"]}]), "STR003"),
    # STR004 problem responses
    ("404 as plain json", _response("404", _problem("application/json"), ONE_WIDGET), "STR004"),
    (
        "422 with a second media type",
        _response(
            "422", _problem() | {"content": {"application/problem+json": {}, "text/plain": {}}}, WIDGETS_PATH, "post"
        ),
        "STR004",
    ),
    ("500 without content", _response("500", {"description": "boom"}), "STR004"),
    # STR005 servers and paths
    ("wrong server", lambda d: d.update(servers=[{"url": "/system/widgets/v2"}]), "STR005"),
    ("absolute server", lambda d: d.update(servers=[{"url": "https://api.example.com/system/widgets/v1"}]), "STR005"),
    ("two servers", lambda d: d.update(servers=[{"url": "/system/widgets/v1"}, {"url": "/x"}]), "STR005"),
    ("path repeats the base path", _absolute_path, "STR005"),
    ("operation servers", _set(WIDGETS_PATH, "get", "servers", [{"url": "/system/widgets/v1"}]), "STR005"),
    # STR006 idempotency
    ("unsafe without idempotency", _drop(WIDGETS_PATH, "post", "x-strata-idempotency"), "STR006"),
    ("unknown idempotency", _set(WIDGETS_PATH, "post", "x-strata-idempotency", "sometimes"), "STR006"),
    ("required without header", _set(WIDGETS_PATH, "post", "parameters", []), "STR006"),
    ("optional with a required header", _set(WIDGETS_PATH, "post", "x-strata-idempotency", "optional"), "STR006"),
    # STR007 lifecycle
    ("no lifecycle", _info("x-strata-lifecycle", None), "STR007"),
    ("unknown state", _info("x-strata-lifecycle", {"state": "sunsetting"}), "STR007"),
    ("deprecated without dates", _info("x-strata-lifecycle", {"state": "deprecated"}), "STR007"),
    (
        "retired with a bad date",
        _info(
            "x-strata-lifecycle",
            {"state": "retired", "deprecated_at": "2026-01-01", "sunset_at": "2026-06-01T00:00:00Z"},
        ),
        "STR007",
    ),
    (
        "sunset before deprecation",
        _info(
            "x-strata-lifecycle",
            {"state": "deprecated", "deprecated_at": "2026-06-01T00:00:00Z", "sunset_at": "2026-01-01T00:00:00Z"},
        ),
        "STR007",
    ),
    ("unknown lifecycle key", _info("x-strata-lifecycle", {"state": "active", "sunset": "soon"}), "STR007"),
    # STR008 owner
    ("no owner", _info("x-strata-owner", None), "STR008"),
    ("blank owner", _info("x-strata-owner", "  "), "STR008"),
    # STR009 success media types
    ("text/plain success", _response("200", {"description": "x", "content": {"text/plain": {}}}), "STR009"),
    (
        "204 with a body",
        _response("204", {"description": "x", "content": {"application/json": {}}}, ONE_WIDGET, "delete"),
        "STR009",
    ),
    # STR010 rate cost
    ("rate cost zero", _set(WIDGETS_PATH, "get", "x-strata-rate-cost", 0), "STR010"),
    ("rate cost too high", _set(WIDGETS_PATH, "get", "x-strata-rate-cost", 101), "STR010"),
    ("rate cost as string", _set(WIDGETS_PATH, "get", "x-strata-rate-cost", "5"), "STR010"),
    ("rate cost as bool", _set(WIDGETS_PATH, "get", "x-strata-rate-cost", True), "STR010"),
    # STR011 closed request bodies
    ("open request body", _schema("WidgetCreate", "additionalProperties", None), "STR011"),
    (
        "open nested object",
        lambda d: d["components"]["schemas"]["WidgetCreate"]["properties"]["dimensions"].pop("additionalProperties"),
        "STR011",
    ),
    ("open array items", _body({"type": "array", "items": {"type": "object", "properties": {"a": {}}}}), "STR011"),
    ("additionalProperties true", _schema("WidgetCreate", "additionalProperties", True), "STR011"),
    ("allOf without unevaluatedProperties", _body({"allOf": [{"type": "object", "properties": {"a": {}}}]}), "STR011"),
    # STR012 401/403
    ("no 401", _response("401", None), "STR012"),
    ("no 403", _response("403", None, ONE_WIDGET), "STR012"),
    # STR013 statuses the pipeline itself answers
    ("no 429 (rate limit)", _response("429", None), "STR013"),
    ("no 422 with parameters", _response("422", None, ONE_WIDGET), "STR013"),
    ("no 415 with a body", _response("415", None, WIDGETS_PATH, "post"), "STR013"),
    ("no 409 with idempotency", _response("409", None, WIDGETS_PATH, "post"), "STR013"),
]


@pytest.mark.parametrize(("mutation", "rule"), [(m, r) for _, m, r in BROKEN], ids=[name for name, _, _ in BROKEN])
def test_rule_catches_its_breakage(contract_tree: Path, mutation: Mutation, rule: str) -> None:
    document = load_fixture()
    mutation(document)
    findings = lint_contract(write_contract(contract_tree, document))
    assert rule in _rules(findings), findings
    # each fixture breaks its own rule only (the OpenAPI validator may agree, e.g. on a bad server)
    assert _rules(findings) - {rule, "OAS"} == set(), findings
    assert all(finding.location.split("#")[0].endswith(str(WIDGETS)) for finding in findings)


ALLOWED: list[tuple[str, Mutation]] = [
    (
        "other media type when listed",
        lambda d: (
            _response("200", {"description": "x", "content": {"text/csv": {}}})(d),
            _set(WIDGETS_PATH, "get", "x-strata-media-types", ["text/csv"])(d),
        ),
    ),
    ("map of values", _body({"type": "object", "additionalProperties": {"type": "string"}})),
    ("rate cost 100", _set(WIDGETS_PATH, "get", "x-strata-rate-cost", 100)),
    (
        "retired with dates and successor",
        _info(
            "x-strata-lifecycle",
            {
                "state": "retired",
                "deprecated_at": "2026-01-01T00:00:00+01:00",
                "sunset_at": "2026-06-01T00:00:00Z",
                "successor": "/system/widgets/v2",
            },
        ),
    ),
    (
        "two alternatives",
        _set(
            WIDGETS_PATH, "get", "security", [{"oauth2": ["system:widgets:read"]}, {"oauth2": ["system:widgets:admin"]}]
        ),
    ),
]


@pytest.mark.parametrize("mutation", [m for _, m in ALLOWED], ids=[name for name, _ in ALLOWED])
def test_allowed_variants_pass(contract_tree: Path, mutation: Mutation) -> None:
    document = load_fixture()
    mutation(document)
    assert lint_contract(write_contract(contract_tree, document)) == []


def test_signature_scheme_needs_the_webhook_mark(contract_tree: Path) -> None:
    relative = Path("process/order-flow/v1.yaml")
    document = load_fixture(relative)
    del document["paths"]["/hooks/payments"]["post"]["x-strata-webhook"]
    findings = lint_contract(write_contract(contract_tree, document, relative))
    assert _rules(findings) == {"STR002"}
    assert "x-strata-webhook" in findings[0].message


@pytest.mark.parametrize(
    "scheme",
    [
        {"type": "apiKey", "in": "header", "name": "X-Signature"},  # not marked as a signature
        {"type": "apiKey", "in": "query", "name": "signature", "x-strata-webhook": True},
        {"type": "http", "scheme": "basic", "x-strata-webhook": True},
        {"type": "http", "scheme": "bearer", "x-strata-webhook": True},
    ],
    ids=["unmarked-header", "query", "http-basic", "http-bearer"],
)
def test_webhooks_may_only_use_a_marked_header_signature_scheme(contract_tree: Path, scheme: dict[str, Any]) -> None:
    relative = Path("process/order-flow/v1.yaml")
    document = load_fixture(relative)
    document["components"]["securitySchemes"]["signature"] = scheme
    findings = lint_contract(write_contract(contract_tree, document, relative))
    assert _rules(findings) == {"STR002"}, findings
    assert "signature" in findings[0].message


def test_a_marked_header_signature_scheme_passes_on_a_webhook(contract_tree: Path) -> None:
    relative = Path("process/order-flow/v1.yaml")
    document = load_fixture(relative)
    assert document["components"]["securitySchemes"]["signature"]["x-strata-webhook"] is True
    assert lint_contract(write_contract(contract_tree, document, relative)) == []


def test_unquoted_yaml_timestamp_is_refused(contract_tree: Path) -> None:
    path = contract_tree / "process/order-flow/v1.yaml"
    path.write_text(path.read_text().replace("'2026-01-01T00:00:00Z'", "2026-01-01T00:00:00Z"))
    findings = lint_contract(path)
    assert _rules(findings) == {"STR007"}
    assert "quoted RFC 3339" in findings[0].message


def test_operation_ids_unique_across_the_tree(contract_tree: Path) -> None:
    document = load_fixture(Path("gateway/v1.yaml"))
    document["paths"]["/clients"]["get"]["operationId"] = "listWidgets"
    write_contract(contract_tree, document, Path("gateway/v1.yaml"))
    findings = [finding for finding in lint_all(contract_tree) if finding.rule_id == "STR001"]
    assert len(findings) == 2
    assert {finding.location.split("#")[0].split("/")[-2] for finding in findings} == {"gateway", "widgets"}


def test_stray_yaml_under_a_layer_is_reported(contract_tree: Path) -> None:
    (contract_tree / "system/widgets/v1.yml").write_text("openapi: 3.1.0\n")
    (contract_tree / "system/widgets/draft.yaml").write_text("openapi: 3.1.0\n")
    findings = lint_all(contract_tree)
    assert [finding.rule_id for finding in findings] == ["STR000", "STR000"]


def test_unreadable_yaml_is_a_finding(contract_tree: Path) -> None:
    path = contract_tree / WIDGETS
    path.write_text("openapi: [unclosed\n")
    findings = lint_contract(path)
    assert _rules(findings) == {"STR000"}
    assert "not valid YAML" in findings[0].message


def test_dangling_external_ref_is_a_finding(contract_tree: Path) -> None:
    path = contract_tree / WIDGETS
    path.write_text(path.read_text().replace("common.yaml#/components/responses/NotFound", "missing.yaml#/x/y/z"))
    assert _rules(lint_contract(path)) == {"STR000"}


def test_dangling_local_ref_is_a_finding_not_a_crash(contract_tree: Path) -> None:
    path = contract_tree / WIDGETS
    path.write_text(path.read_text().replace("#/components/schemas/WidgetPage", "#/components/schemas/Nowhere"))
    findings = lint_contract(path)
    assert "OAS" in _rules(findings) or "STR000" in _rules(findings)
    assert any("Nowhere" in finding.message for finding in findings)


def test_invalid_openapi_is_reported_with_a_pointer(contract_tree: Path) -> None:
    document = load_fixture()
    _op(document)["responses"] = "none"
    findings = lint_contract(write_contract(contract_tree, document))
    oas = [finding for finding in findings if finding.rule_id == "OAS"]
    assert oas and "#/paths/~1widgets/get/responses" in oas[0].location


def test_misplaced_file_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "widgets.yaml"
    path.write_text("openapi: 3.1.0\n")
    assert _rules(lint_contract(path)) == {"STR000"}


def test_lint_main_prints_findings_and_exit_code(contract_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lint_main(contract_tree) == 0
    assert "3 contract(s) linted: 0 error(s)" in capsys.readouterr().out
    document = load_fixture()
    del document["info"]["x-strata-owner"]
    write_contract(contract_tree, document)
    assert lint_main(contract_tree) == 1
    out = capsys.readouterr().out
    assert "STR008 " in out and "v1.yaml#/info: info.x-strata-owner" in out
