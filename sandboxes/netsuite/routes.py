"""Route handlers of the NetSuite sandbox: token, records, SuiteQL, async jobs, control API, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec
from joserfc.errors import JoseError
from litestar import Request, Response, delete, get, patch, post, put
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.netsuite import suiteql
from sandboxes.netsuite.auth import TOKEN_PATH, OAuthError
from sandboxes.netsuite.records import DEFAULT_PAGE, SUITEQL_RESULT_CAP, page, paging, record_href, render
from sandboxes.netsuite.schema import NsError, RecordType, get_record_type

if TYPE_CHECKING:
    from sandboxes.netsuite.app import NetSuiteSandbox

JSON = "application/vnd.oracle.resource+json; type=singular; charset=UTF-8"
COLLECTION = "application/vnd.oracle.resource+json; type=collection; charset=UTF-8"
ERROR = "application/vnd.oracle.resource+json; type=error; charset=UTF-8"
RECORD = "/services/rest/record/v1"


def _json(content: Any, status: int = 200, media_type: str = JSON) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=media_type)


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in NetSuite's error format."""
    code, detail = {
        401: ("INVALID_LOGIN", "Invalid login attempt."),
        403: ("INSUFFICIENT_PERMISSION", "Permission Violation: you need a higher permission for this request."),
        404: ("NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID."),
        429: ("CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."),
        503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Try again later."),
    }.get(status, ("UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: sandbox-injected"))
    if status < 500 and status not in (401, 403, 404, 429):
        code = "USER_ERROR"
    return NsError(status, code, detail).encode(), ERROR


def _sandbox(request: Request[Any, Any, Any]) -> NetSuiteSandbox:
    sandbox: NetSuiteSandbox = request.app.state.sandbox
    return sandbox


def rest_base(scope: Any) -> str:
    """``<scheme>://<host><mount prefix>/services/rest`` for the URLs NetSuite answers with."""
    headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
    host = headers.get("host") or "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{_mount_prefix(scope)}/services/rest"


def _mount_prefix(scope: Any) -> str:
    """Where the sandbox is mounted: ``root_path``, or what a mount stripped from ``raw_path``."""
    if scope.get("root_path"):
        return str(scope["root_path"]).rstrip("/")
    raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0].rstrip("/")
    path = str(scope.get("path", "")).rstrip("/")
    return raw[: -len(path)] if path and raw.endswith(path) and raw != path else ""


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise NsError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise NsError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
    return body


def _locate(sandbox: NetSuiteSandbox, record_type: RecordType, key: str) -> str:
    """An internal id from a path segment: ``647`` or ``eid:<externalId>``."""
    if key.startswith("eid:"):
        found = sandbox.store.by_external_id(record_type, key[4:])
        if found is None:
            raise NsError(
                404, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID."
            )
        return str(found["id"])
    return key


def _created(request: Request[Any, Any, Any], record_type: RecordType, record_id: str) -> Response[bytes]:
    location = record_href(rest_base(request.scope), record_type.name, record_id)
    return Response(content=b"", status_code=204, headers={"Location": location})


# -- OAuth ----------------------------------------------------------------------------------------
@post(TOKEN_PATH, status_code=200)
async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Client credentials with a JWT client assertion (RFC 7523)."""
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    token_url = rest_base(request.scope) + TOKEN_PATH.removeprefix("/services/rest")
    try:
        answer = _sandbox(request).tokens.token(form, token_url)
    except OAuthError as error:
        return _json(error.body(), error.status, "application/json")
    return Response(
        content=msgspec.json.encode(answer),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- records --------------------------------------------------------------------------------------
@get(f"{RECORD}/{{type_name:str}}")
async def list_records(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[bytes]:
    """A page of record references (``limit``, ``offset``)."""
    record_type = get_record_type(type_name)
    limit, offset = paging(request.query_params.get("limit"), request.query_params.get("offset"))
    base = rest_base(request.scope)
    refs = [
        {"links": [{"rel": "self", "href": record_href(base, record_type.name, r["id"])}], "id": r["id"]}
        for r in _sandbox(request).store.all(record_type.name)
    ]
    return _json(page(refs, f"{base}/record/v1/{record_type.name}", limit, offset), media_type=COLLECTION)


@post(f"{RECORD}/{{type_name:str}}", status_code=200)
async def create_record(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[bytes]:
    """Insert: 204 with ``Location``, no body."""
    record_type = get_record_type(type_name)
    record_id = _sandbox(request).store.create(record_type, await _body(request))
    return _created(request, record_type, record_id)


@get(f"{RECORD}/{{type_name:str}}/{{key:str}}")
async def get_record(request: Request[Any, Any, Any], type_name: FromPath[str], key: FromPath[str]) -> Response[bytes]:
    """One record; ``expandSubResources=true`` inlines the sublists' lines."""
    sandbox, record_type = _sandbox(request), get_record_type(type_name)
    record = sandbox.store.get(record_type, _locate(sandbox, record_type, key))
    expand = request.query_params.get("expandSubResources", "false").lower() == "true"
    return _json(render(sandbox.store, record_type, record, rest_base(request.scope), expand=expand))


@patch(f"{RECORD}/{{type_name:str}}/{{key:str}}", status_code=200)
async def update_record(
    request: Request[Any, Any, Any], type_name: FromPath[str], key: FromPath[str]
) -> Response[bytes]:
    """Update: 204, no body."""
    sandbox, record_type = _sandbox(request), get_record_type(type_name)
    sandbox.store.update(record_type, _locate(sandbox, record_type, key), await _body(request))
    return Response(content=b"", status_code=204)


@put(f"{RECORD}/{{type_name:str}}/{{key:str}}", status_code=200)
async def upsert_record(
    request: Request[Any, Any, Any], type_name: FromPath[str], key: FromPath[str]
) -> Response[bytes]:
    """Upsert ``PUT /<type>/eid:<externalId>``: 204 with ``Location``, created or updated."""
    record_type = get_record_type(type_name)
    if not key.startswith("eid:") or len(key) == 4:
        raise NsError(405, "INVALID_REQUEST", "PUT is only supported as upsert on eid:<externalId>.")
    _created_now, record_id = _sandbox(request).store.upsert(record_type, key[4:], await _body(request))
    return _created(request, record_type, record_id)


@delete(f"{RECORD}/{{type_name:str}}/{{key:str}}", status_code=200)
async def delete_record(
    request: Request[Any, Any, Any], type_name: FromPath[str], key: FromPath[str]
) -> Response[bytes]:
    """Delete: 204, no body."""
    sandbox, record_type = _sandbox(request), get_record_type(type_name)
    sandbox.store.delete(record_type, _locate(sandbox, record_type, key))
    return Response(content=b"", status_code=204)


@post(f"{RECORD}/{{type_name:str}}/{{key:str}}/!transform/{{target:str}}", status_code=200)
async def transform(
    request: Request[Any, Any, Any], type_name: FromPath[str], key: FromPath[str], target: FromPath[str]
) -> Response[bytes]:
    """``!transform``: 204 with the ``Location`` of the new record."""
    sandbox, source_type, target_type = _sandbox(request), get_record_type(type_name), get_record_type(target)
    source_id = _locate(sandbox, source_type, key)
    record_id = sandbox.store.transform(source_type, source_id, target_type, await _body(request))
    return _created(request, target_type, record_id)


# -- SuiteQL and async jobs -----------------------------------------------------------------------
@post("/services/rest/query/v1/suiteql", status_code=200)
async def run_suiteql(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A page of a SuiteQL query; needs ``Prefer: transient``, as NetSuite does."""
    if "transient" not in request.headers.get("prefer", "").lower():
        raise NsError(
            400, "INVALID_HEADER", "The Prefer header must be set to transient.", "Prefer", where="o:errorHeader"
        )
    body = await _body(request)
    limit, offset = paging(request.query_params.get("limit"), request.query_params.get("offset"))
    if offset >= SUITEQL_RESULT_CAP:
        raise NsError(
            400,
            "INVALID_PARAMETER",
            f"Invalid value for offset: {offset}. A SuiteQL query returns at most {SUITEQL_RESULT_CAP} results.",
        )
    items = suiteql.run(_sandbox(request).store, body.get("q") or "")[:SUITEQL_RESULT_CAP]
    return _json(page(items, f"{rest_base(request.scope)}/query/v1/suiteql", limit, offset), media_type=COLLECTION)


@get("/services/rest/async/v1/job/{job_id:str}")
async def get_job(request: Request[Any, Any, Any], job_id: FromPath[str]) -> Response[bytes]:
    """An async job: ``{links: [self], completed, id, progress, task: {links: [self → its tasks]}}``.

    A new job answers ``completed: false, progress: "pending"`` for the sandbox's
    ``job_pending_polls`` reads, then its outcome.
    """
    job = _job(request, job_id)
    pending = int(job.get("pending_polls", 0)) > 0
    if pending:  # no await between the read and the write: one request at a time counts
        job["pending_polls"] = int(job["pending_polls"]) - 1
    href = f"{rest_base(request.scope)}/async/v1/job/{job_id}"
    return _json(
        {
            "links": [{"rel": "self", "href": href}],
            "completed": not pending,
            "id": job_id,
            "progress": "pending" if pending else job["progress"],
            "task": {"links": [{"rel": "self", "href": f"{href}/task"}]},
        }
    )


@get("/services/rest/async/v1/job/{job_id:str}/task")
async def list_tasks(request: Request[Any, Any, Any], job_id: FromPath[str]) -> Response[bytes]:
    """The job's tasks as a collection (one task per job here); the shape of this list is a guess."""
    _job(request, job_id)
    href = f"{rest_base(request.scope)}/async/v1/job/{job_id}/task"
    items = [{"links": [{"rel": "self", "href": f"{href}/{job_id}"}], "id": job_id}]
    return _json(page(items, href, DEFAULT_PAGE, 0), media_type=COLLECTION)


@get("/services/rest/async/v1/job/{job_id:str}/task/{task_id:str}")
async def get_task(request: Request[Any, Any, Any], job_id: FromPath[str], task_id: FromPath[str]) -> Response[bytes]:
    """A task: ``{links: [related → result, self], completed, endTime, id, progress, startTime}``."""
    job = _task(request, job_id, task_id)
    href = f"{rest_base(request.scope)}/async/v1/job/{job_id}/task/{task_id}"
    pending = int(job.get("pending_polls", 0)) > 0
    body: dict[str, Any] = {
        "links": [{"rel": "related", "href": f"{href}/result"}, {"rel": "self", "href": href}],
        "completed": not pending,
        "id": task_id,
        "progress": "pending" if pending else job["progress"],
        "startTime": job.get("startTime"),
    }
    if not pending:
        body["endTime"] = job.get("startTime")
    return _json(body)


@get("/services/rest/async/v1/job/{job_id:str}/task/{task_id:str}/result")
async def get_job_result(
    request: Request[Any, Any, Any], job_id: FromPath[str], task_id: FromPath[str]
) -> Response[bytes]:
    """The task's result: the synchronous answer's body when it had one (a record, an error), else
    ``{links: [self]}`` — a body that names no record (what a write's result carries is not
    documented; the sandbox assumes the least, so the record is found by its ``externalId``)."""
    job = _task(request, job_id, task_id)
    if int(job.get("pending_polls", 0)) > 0:
        raise NsError(400, "USER_ERROR", f"The task {task_id} of job {job_id} has not completed yet.")
    if job["body"]:
        return Response(content=job["body"].encode(), status_code=job["status"], media_type=job["media_type"])
    href = f"{rest_base(request.scope)}/async/v1/job/{job_id}/task/{task_id}/result"
    return _json({"links": [{"rel": "self", "href": href}]}, status=200 if job["status"] < 400 else job["status"])


def _task(request: Request[Any, Any, Any], job_id: str, task_id: str) -> dict[str, Any]:
    job = _job(request, job_id)
    if task_id != job_id:
        raise NsError(404, "NONEXISTENT_ID", f"The task {task_id} of job {job_id} does not exist.")
    return job


def _job(request: Request[Any, Any, Any], job_id: str) -> dict[str, Any]:
    job = _sandbox(request).store.jobs.get(job_id)
    if job is None:
        raise NsError(404, "NONEXISTENT_ID", f"The async job {job_id} does not exist.")
    return job


# -- control API (faults and reset: sandboxes.shared_app) -------------------------------------------
class _Certificate(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    certificate_id: str
    public_key_pem: str


@post("/_control/certificates", status_code=201)
async def add_certificate(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Register a client's certificate (its public key PEM) under a certificate id (the JWT ``kid``)."""
    try:
        certificate = msgspec.json.decode(await request.body(), type=_Certificate)
        _sandbox(request).tokens.register(certificate.client_id, certificate.certificate_id, certificate.public_key_pem)
    except (msgspec.DecodeError, msgspec.ValidationError, JoseError, ValueError, TypeError) as error:
        return _json({"error": str(error)}, 400, "application/json")
    return _json({"certificate_id": certificate.certificate_id}, 201, "application/json")


@post("/_control/expire-tokens", status_code=204)
async def expire_tokens(request: Request[Any, Any, Any]) -> None:
    """Invalidate every issued token (the next call answers INVALID_LOGIN)."""
    _sandbox(request).tokens.expire_all()


@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Records of each type, writes applied by type, request and fault counters, concurrency refusals."""
    sandbox = _sandbox(request)
    extra = {
        "records": sandbox.store.record_counts(),
        "writes": dict(sandbox.store.writes),
        "concurrency_refused": sandbox.concurrency_refused,
        "in_flight": sandbox.in_flight,
    }
    return _json({**sandbox.faults.counts(), **extra}, media_type="application/json")


def _ns_error(_: Request[Any, Any, Any], error: NsError) -> Response[bytes]:
    return _json(error.body(), error.status, ERROR)


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if error.status_code == 404:
        return _ns_error(_, NsError(404, "NONEXISTENT_ID", "The requested resource does not exist."))
    if error.status_code == 405:
        return _ns_error(_, NsError(405, "INVALID_REQUEST", "The HTTP method is not allowed for this resource."))
    return _ns_error(_, NsError(error.status_code, "USER_ERROR", str(error.detail)))


def _unexpected(_: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    return _ns_error(_, NsError(500, "UNEXPECTED_ERROR", f"An unexpected error occurred: {type(error).__name__}"))


ROUTE_HANDLERS = [
    token, list_records, create_record, get_record, update_record, upsert_record, delete_record, transform,
    run_suiteql, get_job, list_tasks, get_task, get_job_result, add_certificate, expire_tokens, counts,
]  # fmt: skip
EXCEPTION_HANDLERS: dict[Any, Any] = {NsError: _ns_error, HTTPException: _http_error, Exception: _unexpected}
