"""``/system/data/v1``: land batches of business events and records in the data lake.

A batch is ``PUT`` under its id: the id is part of every object name, so repeating the PUT
(a retry) overwrites the same objects. Handlers declare the :class:`DataService` as the
``data_platform`` dependency (``data`` is Litestar's name for the request body).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from apis.canonical import EventBatch, RecordBatch
from apis.system.data.service import DataService
from apis.system.http import decode_body, json_response


@put("/event-batches/{batch_id:str}", operation_id="putEventBatch")
async def put_event_batch(
    request: Request[Any, Any, Any], data_platform: NamedDependency[DataService], batch_id: FromPath[str]
) -> Response[bytes]:
    """Land business events: one object per (type, UTC date)."""
    batch = await decode_body(request, EventBatch)
    return json_response(await data_platform.ingest_events(batch_id, batch))


@put("/record-batches/{batch_id:str}", operation_id="putRecordBatch")
async def put_record_batch(
    request: Request[Any, Any, Any], data_platform: NamedDependency[DataService], batch_id: FromPath[str]
) -> Response[bytes]:
    """Land records: one object per (object, UTC date)."""
    batch = await decode_body(request, RecordBatch)
    return json_response(await data_platform.ingest_records(batch_id, batch))


router = Router(path="/system/data/v1", route_handlers=[put_event_batch, put_record_batch])
