"""The data system API's operations: validate a whole batch, then land it in the lake.

A batch is validated item by item *before* anything is written: the first bad item (bad
type or object name, a duplicate id within the batch, a time with no UTC equivalent) is a
422 naming its JSON pointer, and nothing is written. Then every object of the batch is put,
a few at a time. Storage is atomic per object, not per batch: if a put fails, the batch
answers 503/504 and the caller retries it — the same keys with the same bytes, so the
retry completes the batch and never duplicates it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from apis.canonical import BusinessEvent, DataRecord, EventBatch, IngestResult, LandedObject, RecordBatch
from apis.system.data import layout
from apis.system.data.connectors import LakeWriter
from core.errors import InvalidInput
from core.settings import SettingsError

if TYPE_CHECKING:
    from apis.system.data.settings import DataPlatformSettings
    from apis.system.kit.circuit_breaker import CircuitBreaker

PUTS_IN_FLIGHT = 8
"""Objects of one batch written at once."""


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


def _check_batch_id(batch_id: str) -> None:
    if not layout.BATCH_ID.match(batch_id):
        detail = "batch_id is 1-128 letters, digits, '_' and '-', starting with a letter or digit"
        raise InvalidInput(detail, field_errors=[{"in": "path", "name": "batch_id", "detail": detail}])


def _check_events(events: list[BusinessEvent]) -> None:
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        if not layout.EVENT_TYPE.match(event.type):
            raise _invalid(f"/events/{index}/type", "type must be lower-case letters, digits, '.', '_' or '-'")
        try:
            layout.utc(event.time)
        except OverflowError:
            raise _invalid(f"/events/{index}/time", "time is out of range once converted to UTC") from None
        if (event.source, event.id) in seen:
            raise _invalid(f"/events/{index}/id", "the batch already has an event with this id and source")
        seen.add((event.source, event.id))


def _check_records(records: list[DataRecord]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for index, record in enumerate(records):
        if not layout.OBJECT_NAME.match(record.object_type):
            raise _invalid(f"/records/{index}/object_type", "object_type must be lower-case letters, digits and '_'")
        try:
            layout.utc(record.updated_at)
        except OverflowError:
            raise _invalid(f"/records/{index}/updated_at", "updated_at is out of range once converted to UTC") from None
        key = (record.object_type, record.source, record.id)
        if key in seen:
            raise _invalid(f"/records/{index}/id", "the batch already has this record of this object and source")
        seen.add(key)


class DataService:
    """Lands batches through one :class:`~apis.system.data.connectors.LakeWriter`."""

    def __init__(self, writer: LakeWriter) -> None:
        self.writer = writer

    async def aclose(self) -> None:
        """Release the writer's threads and clients."""
        await self.writer.aclose()

    async def ingest_events(self, batch_id: str, batch: EventBatch) -> IngestResult:
        """Validate every event, then write one object per (type, UTC date)."""
        _check_batch_id(batch_id)
        _check_events(batch.events)
        return await self._land(batch_id, len(batch.events), layout.event_objects(batch.events, batch_id))

    async def ingest_records(self, batch_id: str, batch: RecordBatch) -> IngestResult:
        """Validate every record, then write one object per (object, UTC date)."""
        _check_batch_id(batch_id)
        _check_records(batch.records)
        return await self._land(batch_id, len(batch.records), layout.record_objects(batch.records, batch_id))

    async def _land(self, batch_id: str, items: int, objects: dict[str, list[dict[str, object]]]) -> IngestResult:
        gate = asyncio.Semaphore(PUTS_IN_FLIGHT)

        async def put(key: str, lines: list[dict[str, object]]) -> None:
            async with gate:
                await self.writer.put(key, layout.jsonl(lines))

        try:
            async with asyncio.TaskGroup() as group:
                for key, lines in objects.items():
                    group.create_task(put(key, lines))
        except BaseExceptionGroup as failed:
            # One failed put cancels the others; the caller sees that first failure as is.
            raise failed.exceptions[0] from None
        landed = [LandedObject(key=key, items=len(lines)) for key, lines in objects.items()]
        return IngestResult(batch_id=batch_id, items=items, objects=landed)


def build_data_service(
    settings: DataPlatformSettings, *, state_path: Path, breaker: CircuitBreaker | None = None
) -> DataService:
    """The data service: batches land in ``<state_path>/lake`` (``data_backend`` ``local``) or in S3.

    Args:
        settings: the data platform's settings (backend, bucket, credentials).
        state_path: the gateway's state directory (the local lake lives under it).
        breaker: S3's circuit breaker in this process (``None``: no breaker).
    """
    if settings.backend == "s3":
        from apis.system.data.connectors.s3 import S3Connector

        if not settings.s3_bucket:
            raise SettingsError("data_s3_bucket: a bucket is required when data_backend is s3")
        writer: LakeWriter = S3Connector(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key or None,
            breaker=breaker,
        )
    else:
        from apis.system.data.connectors.local_dir import LocalDirConnector

        writer = LocalDirConnector(state_path / "lake")
    return DataService(writer)
