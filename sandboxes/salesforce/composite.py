"""``POST /composite``: subrequests run in order through the same app, in one API call."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from sandboxes.faults import ASGIApp
from sandboxes.salesforce.schema import SfError
from sandboxes.salesforce.store import Store

MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same transaction failed.",
    }
]


async def call_app(
    app: ASGIApp, method: str, url: str, body: Any, headers: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    """Call ``app`` in process; returns (status, headers, decoded JSON body or None)."""
    parts = urlsplit(url)
    payload = msgspec.json.encode(body) if body is not None else b""
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items() if k.lower() not in ("content-length",)]
    raw_headers.append((b"content-length", str(len(payload)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "server": ("salesforce.sandbox", 80),
        "client": ("127.0.0.1", 0),
    }
    sent = False
    status, response_headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    content = b"".join(chunks)
    return status, response_headers, msgspec.json.decode(content) if content else None


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    return value


def _lookup(results: dict[str, Any], reference: str, path: str) -> Any:
    if reference not in results:
        raise SfError(400, "PROCESSING_HALTED", f"Invalid reference specified. No value for {reference}.{path} found.")
    current = results[reference]
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        try:
            current = current[int(index)] if index else current[key]
        except (KeyError, IndexError, TypeError):
            raise SfError(
                400, "PROCESSING_HALTED", f"Invalid reference specified. No value for {reference}.{path} found."
            ) from None
    return current


async def run_composite(app: ASGIApp, store: Store, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Run a composite request; all-or-none rolls the store back on the first failure."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SfError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    requests = body["compositeRequest"]
    if not requests or len(requests) > MAX_SUBREQUESTS:
        raise SfError(400, "INVALID_BATCH_REQUEST", f"compositeRequest must have 1 to {MAX_SUBREQUESTS} subrequests")
    all_or_none = bool(body.get("allOrNone", False))
    forwarded = {k: v for k, v in headers.items() if k.lower() in ("authorization", "sforce-query-options")}
    forwarded["content-type"] = "application/json"
    snapshot = store.snapshot() if all_or_none else None
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    failed = False
    for item in requests:
        reference = item.get("referenceId", "")
        if failed and all_or_none:
            responses.append({"body": _HALTED, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference})
            continue
        try:
            url = _resolve(item["url"], results)
            sub_body = _resolve(item.get("body"), results)
            status, sub_headers, sub_result = await call_app(app, item["method"], url, sub_body, forwarded)
        except SfError as error:
            status, sub_headers, sub_result = error.status, {}, error.body()
        except KeyError:
            status, sub_headers, sub_result = (
                400,
                {},
                [{"errorCode": "INVALID_INPUT", "message": "method and url are required"}],
            )
        kept_headers = {"Location": sub_headers["location"]} if "location" in sub_headers else {}
        responses.append(
            {"body": sub_result, "httpHeaders": kept_headers, "httpStatusCode": status, "referenceId": reference}
        )
        if status >= 400:
            failed = True
        else:
            results[reference] = sub_result
    if failed and snapshot is not None:
        store.restore(snapshot)
        for response in responses:
            if response["httpStatusCode"] < 400:
                response.update(body=_HALTED, httpHeaders={}, httpStatusCode=400)
    return {"compositeResponse": responses}
