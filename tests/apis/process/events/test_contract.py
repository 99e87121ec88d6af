"""The event contract: a valid AsyncAPI 3 document that agrees with the registry and the envelopes.

No package installed here ships the official AsyncAPI 3 JSON schema, so the document is
checked structurally: the required top-level fields, the shape of channels, operations and
messages the spec prescribes, and that every ``$ref`` resolves.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pytest
import yaml
from litestar.datastructures import State
from litestar.testing import create_test_client

from apis.process.event_types import EVENT_TYPES, decode_data
from apis.process.events import CloudEvent
from core.settings import PROJECT_ROOT
from gateway.contracts.docs import build_docs_catalogue, docs_route_handlers
from gateway.contracts.loader import bundle, dereference, load_yaml
from tests.apis.process.events.samples import SAMPLES, sample_event

CONTRACTS = PROJECT_ROOT / "contracts"
DOCUMENT_PATH = CONTRACTS / "events" / "v1.yaml"
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0 §Components Object


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in [part for part in pointer.split("/") if part]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise LookupError(pointer)
    return node


def dangling_refs(path: Path) -> list[str]:
    """Every ``$ref`` reachable from the file at ``path`` (files it names included) that resolves nowhere."""
    dangling: list[str] = []
    pending, seen = [path.resolve()], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        stack = [load_yaml(current)]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                stack.extend(node.values())
                ref = node.get("$ref")
                if not isinstance(ref, str):
                    continue
                file_part, _, pointer = ref.partition("#")
                target = (current.parent / file_part).resolve() if file_part else current
                try:
                    _pointer(load_yaml(target), pointer)
                except Exception:  # unreadable file or missing pointer: both are dangling
                    dangling.append(f"{current.name}: {ref}")
                    continue
                pending.append(target)
    return dangling


def asyncapi3_problems(document: dict[str, Any]) -> list[str]:
    """What keeps ``document`` from being a structurally valid AsyncAPI 3.0 document."""
    problems: list[str] = []
    if not re.fullmatch(r"3\.0\.\d+", str(document.get("asyncapi", ""))):
        problems.append("asyncapi must be 3.0.x")
    info = document.get("info")
    if not isinstance(info, dict) or not all(isinstance(info.get(key), str) for key in ("title", "version")):
        problems.append("info needs title and version strings")
    channels, operations = document.get("channels", {}), document.get("operations", {})
    for name, channel in channels.items():
        if not isinstance(channel.get("address"), str | None):
            problems.append(f"channel {name}: address must be a string or null")
        for message_name, message in (channel.get("messages") or {}).items():
            if set(message) != {"$ref"} or not message["$ref"].startswith("#/components/messages/"):
                problems.append(f"channel {name}: message {message_name} must reference components/messages")
    for name, operation in operations.items():
        if operation.get("action") not in ("send", "receive"):
            problems.append(f"operation {name}: action must be send or receive")
        channel_ref = (operation.get("channel") or {}).get("$ref", "")
        if not channel_ref.startswith("#/channels/"):
            problems.append(f"operation {name}: channel must reference #/channels/...")
        # §Operation Object: the messages MUST be a subset of the channel's messages.
        for message in operation.get("messages", []):
            if not message.get("$ref", "").startswith(f"{channel_ref}/messages/"):
                problems.append(f"operation {name}: message {message} is not one of its channel's")
    for kind, entries in (document.get("components") or {}).items():
        problems.extend(f"components/{kind}: bad key {key!r}" for key in entries if not COMPONENT_KEY.match(key))
    for name, message in (document.get("components") or {}).get("messages", {}).items():
        if not isinstance(message.get("payload"), dict):
            problems.append(f"message {name}: no payload schema")
    return problems


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The bundled, dereferenced event contract."""
    return dereference(bundle(DOCUMENT_PATH))


def _messages(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Messages by their ``name`` (the CloudEvents type), with the channel that carries each."""
    found: dict[str, dict[str, Any]] = {}
    for channel_name, channel in document["channels"].items():
        for message in channel["messages"].values():
            found[message["name"]] = {**message, "channel": channel_name}
    return found


def _validator(document: dict[str, Any], event_type: str) -> Any:
    schema = _messages(document)[event_type]["payload"]
    return jsonschema_rs.Draft7Validator(schema, validate_formats=True)


def test_the_document_is_structurally_asyncapi_3_and_every_ref_resolves() -> None:
    raw = load_yaml(DOCUMENT_PATH)
    assert asyncapi3_problems(raw) == []
    assert dangling_refs(DOCUMENT_PATH) == []
    assert raw["components"]["schemas"]["ContractActivatedData"]["properties"]["total"] == {
        "$ref": "../components/common.yaml#/components/schemas/Money"  # the shared Money, not a copy
    }


def test_the_structural_checks_catch_what_they_claim_to(tmp_path: Path) -> None:
    raw = copy.deepcopy(load_yaml(DOCUMENT_PATH))
    raw["asyncapi"] = "2.6.0"
    raw["operations"]["sendContractEvents"]["action"] = "publish"
    raw["operations"]["sendContractEvents"]["messages"] = [
        {"$ref": "#/channels/transaction/messages/transactionCompensated"}
    ]
    raw["components"]["schemas"]["ContractActivatedData"]["properties"]["opportunity_id"] = {
        "$ref": "#/components/schemas/Nowhere"
    }
    broken = tmp_path / "events" / "v1.yaml"
    broken.parent.mkdir()
    broken.write_text(yaml.safe_dump(raw))
    problems = asyncapi3_problems(raw)
    assert len(problems) == 3 and "3.0.x" in problems[0]
    assert sorted(set(dangling_refs(broken))) == [
        "v1.yaml: #/components/schemas/Nowhere",
        "v1.yaml: ../components/common.yaml#/components/schemas/Money",  # not copied next to it
    ]


def test_the_document_has_exactly_the_registered_event_types(document: dict[str, Any]) -> None:
    messages = _messages(document)
    assert set(messages) == set(EVENT_TYPES)
    for event_type, message in messages.items():
        registered = EVENT_TYPES[event_type]
        assert message["channel"] == registered.channel, event_type
        assert document["channels"][registered.channel]["address"] == event_type.rsplit(".", 1)[0]
        payload = message["payload"]["allOf"][1]
        assert payload["properties"]["type"] == {"const": event_type}
        data_schema = payload["properties"]["data"]
        fields = msgspec.structs.fields(registered.data)
        assert set(data_schema["properties"]) == {field.encode_name for field in fields}, event_type
        assert set(data_schema["required"]) == {field.encode_name for field in fields if field.required}, event_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_an_envelope_from_new_event_matches_its_message_schema(document: dict[str, Any], event_type: str) -> None:
    event = sample_event(event_type)
    envelope = json.loads(msgspec.json.encode(event))
    validator = _validator(document, event_type)
    assert list(validator.iter_errors(envelope)) == []
    assert decode_data(event_type, event.data) == SAMPLES[event_type]  # consumers get the struct back


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_message_schema_rejects_envelopes_that_break_the_contract(document: dict[str, Any], event_type: str) -> None:
    validator = _validator(document, event_type)
    good = json.loads(msgspec.json.encode(sample_event(event_type)))
    other_type = next(name for name in sorted(EVENT_TYPES) if name != event_type)
    first_field = next(iter(good["data"]))
    broken = [
        {**good, "type": other_type},
        {**good, "correlationId": good["correlationid"]},  # extension names are lowercase alphanumerics
        {key: value for key, value in good.items() if key != "source"},
        {**good, "specversion": "0.3"},
        {**good, "traceparent": "not-a-traceparent"},
        {**good, "time": "yesterday"},
        {**good, "data": {key: value for key, value in good["data"].items() if key != first_field}},
        {**good, "data": {**good["data"], "unexpected": 1}},
    ]
    for envelope in broken:
        assert not validator.is_valid(envelope), envelope


def test_contract_activated_checks_the_canonical_customer_id_and_money(document: dict[str, Any]) -> None:
    validator = _validator(document, "strata.contract.activated")
    good = json.loads(msgspec.json.encode(sample_event("strata.contract.activated")))
    for data in (
        {**good["data"], "customer_id": "001Dn00000Q8rT2IAJ"},  # a CRM id, not the canonical one
        {**good["data"], "total": {"amount": 12000.0, "currency": "EUR"}},  # a float, not a decimal string
        {**good["data"], "total": {"amount": "12000.00", "currency": "euro"}},
    ):
        assert not validator.is_valid({**good, "data": data}), data


def test_the_docs_serve_the_bundled_event_contract(tmp_path: Path) -> None:
    # A real subset of contracts/ (the whole catalogue takes seconds to render).
    for part in ("events", "components", "system/crm"):
        shutil.copytree(CONTRACTS / part, tmp_path / part)
    catalogue = build_docs_catalogue(tmp_path)
    assert catalogue.errors == ()
    with create_test_client(route_handlers=docs_route_handlers, state=State({"docs": catalogue})) as client:
        response = client.get("/docs/events/v1/asyncapi.yaml")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/yaml")
        served = yaml.safe_load(response.text)
        assert served["asyncapi"] == "3.0.0"
        assert "Money" in served["components"]["schemas"]  # bundled from the shared file
        assert "../" not in response.text
        missing = client.get("/docs/events/v9/asyncapi.yaml")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        index = client.get("/docs", headers={"Accept": "application/json"}).json()
        assert index["events"] == [{"version": "v1", "links": {"asyncapi_yaml": "/docs/events/v1/asyncapi.yaml"}}]
        assert 'href="/docs/events/v1/asyncapi.yaml"' in client.get("/docs").text
        # The Swagger UI route has the same shape (/docs/{layer}/{api}/{version}): it must not shadow this one.
        assert client.get("/docs/system/crm/v1").status_code == 200


def test_envelope_struct_field_names_are_cloudevents_attribute_names() -> None:
    names = {field.encode_name for field in msgspec.structs.fields(CloudEvent)}
    schema = load_yaml(DOCUMENT_PATH)["components"]["schemas"]["CloudEvent"]
    assert names == set(schema["properties"])
    assert all(re.fullmatch(schema["propertyNames"]["pattern"], name) for name in names)
