"""One suite, both backends (local directory and S3 on moto): layout, lineage, overwrite, all-or-nothing."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from apis.canonical import BusinessEvent, DataRecord, EventBatch, RecordBatch
from core.errors import InvalidInput
from tests.apis.system.data.conftest import Lake

T0 = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))  # 2026-03-02 01:30 UTC


def events() -> EventBatch:
    def event(number: int, kind: str, at: dt.datetime) -> BusinessEvent:
        return BusinessEvent(
            id=f"evt-{number}",
            type=kind,
            source="billing",
            time=at,
            subject=f"inv_{number}",
            correlation_id="quote-to-cash:006A",
            schema_version="2",
            data={"amount": {"amount": "10.00", "currency": "EUR"}, "n": number},
        )

    return EventBatch(
        events=[
            event(1, "strata.invoice.finalized", T0),
            event(2, "strata.invoice.finalized", T0 + dt.timedelta(hours=1)),
            event(3, "strata.invoice.finalized", T0 - dt.timedelta(hours=3)),  # 2026-03-01 22:30 UTC
            event(4, "strata.payment.applied", T0),
        ]
    )


async def test_events_land_by_type_and_utc_date_with_lineage(lake: Lake) -> None:
    result = await lake.service.ingest_events("b-001", events())
    expected = [
        "events/type=strata.invoice.finalized/date=2026-03-01/part-b-001.jsonl",
        "events/type=strata.invoice.finalized/date=2026-03-02/part-b-001.jsonl",
        "events/type=strata.payment.applied/date=2026-03-02/part-b-001.jsonl",
    ]
    assert [o.key for o in result.objects] == expected and [o.items for o in result.objects] == [1, 2, 1]
    stored = lake.objects()
    assert sorted(stored) == expected
    lines = [msgspec.json.decode(line) for line in stored[expected[1]].splitlines()]
    assert [line["event_id"] for line in lines] == ["evt-1", "evt-2"]
    assert lines[0] == {
        "event_id": "evt-1",
        "type": "strata.invoice.finalized",
        "source_system": "billing",
        "time": "2026-03-02T01:30:00Z",
        "subject": "inv_1",
        "correlation_id": "quote-to-cash:006A",
        "schema_version": "2",
        "batch_id": "b-001",
        "data": {"amount": {"amount": "10.00", "currency": "EUR"}, "n": 1},
    }


async def test_a_retried_batch_overwrites_itself(lake: Lake) -> None:
    await lake.service.ingest_events("b-002", events())
    first = lake.objects()
    await lake.service.ingest_events("b-002", events())
    await lake.service.ingest_events("b-002", events())
    assert lake.objects() == first  # same keys, same bytes: no duplicate object, no duplicate line
    await lake.service.ingest_events("b-003", events())
    assert len(lake.objects()) == 2 * len(first)  # another batch id is another batch


async def test_a_bad_item_is_422_with_its_pointer_and_nothing_is_written(lake: Lake) -> None:
    batch = events()
    duplicate = EventBatch(events=[*batch.events, batch.events[1]])
    with pytest.raises(InvalidInput) as raised:
        await lake.service.ingest_events("b-004", duplicate)
    assert raised.value.status == 422
    assert raised.value.field_errors == [
        {"in": "body", "pointer": "/events/4/id", "detail": "the batch already has an event with this id and source"}
    ]
    bad_type = EventBatch(events=[*batch.events[:2], msgspec.structs.replace(batch.events[2], type="Bad/Type")])
    with pytest.raises(InvalidInput) as raised:
        await lake.service.ingest_events("b-004", bad_type)
    assert raised.value.field_errors[0]["pointer"] == "/events/2/type"
    far = dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    far_batch = EventBatch(events=[msgspec.structs.replace(batch.events[0], time=far)])
    with pytest.raises(InvalidInput) as raised:
        await lake.service.ingest_events("b-004", far_batch)
    assert raised.value.field_errors[0]["pointer"] == "/events/0/time"
    assert lake.objects() == {}


async def test_records_land_by_object_and_date(lake: Lake) -> None:
    at = dt.datetime(2026, 4, 30, 12, tzinfo=dt.UTC)
    records = RecordBatch(
        records=[
            DataRecord(object_type="invoice", id="INV-1", source="netsuite", updated_at=at, data={"total": "5.00"}),
            DataRecord(object_type="customer", id="C-1", source="salesforce", updated_at=at, correlation_id="c"),
        ]
    )
    result = await lake.service.ingest_records("r-1", records)
    assert [o.key for o in result.objects] == [
        "records/customer/date=2026-04-30/part-r-1.jsonl",
        "records/invoice/date=2026-04-30/part-r-1.jsonl",
    ]
    line = msgspec.json.decode(lake.objects()["records/invoice/date=2026-04-30/part-r-1.jsonl"])
    assert line["record_id"] == "INV-1" and line["source_system"] == "netsuite" and line["schema_version"] == "1"
    with pytest.raises(InvalidInput) as raised:
        await lake.service.ingest_records("r-2", RecordBatch(records=[records.records[0], records.records[0]]))
    assert raised.value.field_errors[0]["pointer"] == "/records/1/id"
    with pytest.raises(InvalidInput):
        await lake.service.ingest_records("../escape", records)
