"""``/system/data/v1``: land batches of business events and records in the data lake.

A batch is ``PUT`` under its id: the id is part of every object name, so repeating the PUT
(a retry) overwrites the same objects. Handlers read ``request.app.state.data``.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, Router, put
from litestar.exceptions import ClientException, ValidationException
from litestar.params import FromPath

from apis.canonical import EventBatch, RecordBatch
from apis.system.data.service import DataService

T = TypeVar("T")
JSON = "application/json"


def _service(request: Request[Any, Any, Any]) -> DataService:
    service: DataService = request.app.state.data
    return service


async def _decode(request: Request[Any, Any, Any], kind: type[T]) -> T:
    body = await request.body()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        raise ClientException(status_code=422, detail=f"Request body violates the contract: {error}") from None
    except msgspec.DecodeError:
        raise ValidationException(detail="Request body is not valid JSON") from None


def _json(content: Any) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=200, media_type=JSON)


@put("/event-batches/{batch_id:str}", operation_id="putEventBatch")
async def put_event_batch(request: Request[Any, Any, Any], batch_id: FromPath[str]) -> Response[bytes]:
    """Land business events: one object per (type, UTC date)."""
    batch = await _decode(request, EventBatch)
    return _json(await _service(request).ingest_events(batch_id, batch))


@put("/record-batches/{batch_id:str}", operation_id="putRecordBatch")
async def put_record_batch(request: Request[Any, Any, Any], batch_id: FromPath[str]) -> Response[bytes]:
    """Land records: one object per (object, UTC date)."""
    batch = await _decode(request, RecordBatch)
    return _json(await _service(request).ingest_records(batch_id, batch))


router = Router(path="/system/data/v1", route_handlers=[put_event_batch, put_record_batch])
