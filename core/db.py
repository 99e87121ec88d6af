"""The gateway's state database: table definitions and the async engine.

SQLite under the state directory by default, PostgreSQL when ``STRATA_DATABASE_URL`` points
at it. Tables are SQLAlchemy Core (no ORM): the gateway reads and writes a handful of narrow
rows, and Core keeps every statement visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

metadata = MetaData()

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(128), nullable=True, doc="HMAC-SHA256 of the secret, hex"),
    Column("secret_salt", String(64), nullable=True),
    Column("auth_method", String(40), nullable=False, default="client_secret_basic"),
    Column("jwks", Text, nullable=True, doc="public JWK set for private_key_jwt, JSON"),
    Column("jwks_uri", String(500), nullable=True, doc="or where the client publishes it (RFC 7591 §2)"),
    Column("scopes", Text, nullable=False, doc="space-separated allowed scopes"),
    Column("tier", String(40), nullable=False),
    Column("partner_id", String(64), nullable=True),
    Column("customer_id", String(64), nullable=True),
    Column("status", String(16), nullable=False, default="active", doc="active | disabled | deleted"),
    Column("created_at", Float, nullable=False),
    Column("disabled_at", Float, nullable=True),
    Column("updated_at", Float, nullable=False, doc="last change; other processes poll for newer rows"),
    Column("tokens_not_before", Float, nullable=True, doc="tokens issued before this are refused"),
    Column("previous_secret_hash", String(128), nullable=True, doc="the secret a rotation replaced"),
    Column("previous_secret_salt", String(64), nullable=True),
    Column("previous_secret_expires_at", Float, nullable=True, doc="when the replaced secret stops working"),
    Column("rate_limits", Text, nullable=True, doc="per-client limits replacing the tier's, JSON list"),
    Column("grantable_scopes", Text, nullable=True, doc="the most it may grant others, JSON list; null: its scopes"),
)
Index("ix_oauth_clients_updated_at", oauth_clients.c.updated_at)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("private_jwk", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float, nullable=True, doc="when it stopped signing; still published"),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=False),
)
Index("ix_revoked_tokens_revoked_at", revoked_tokens.c.revoked_at)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("partner_id", String(64), nullable=True),
    Column("method", String(10), nullable=False),
    Column("route", String(300), nullable=False, doc="route template, never the raw path"),
    Column("api", String(100), nullable=True),
    Column("status", Integer, nullable=False),
    Column("outcome", String(16), nullable=False, doc="allowed | denied | replayed | error"),
    Column("policy", String(40), nullable=True, doc="policy that denied, if any"),
    Column("reason", String(300), nullable=True),
    Column("source", String(64), nullable=True),
    Column("duration_ms", Float, nullable=True),
)
Index("ix_audit_events_at", audit_events.c.at)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("route", String(300), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False, doc="in_flight | done"),
    Column("claim_token", String(32), nullable=True, doc="random token of the in-flight claim"),
    Column("status_code", Integer, nullable=True),
    Column("headers", Text, nullable=True, doc="JSON list of [name, value]"),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
Index("ix_idempotency_expires_at", idempotency_records.c.expires_at)

xrefs = Table(
    "xrefs",
    metadata,
    Column("kind", String(32), primary_key=True, doc="customer | product | order | invoice | ..."),
    Column("canonical_id", String(40), primary_key=True, doc="<prefix>_<ULID>"),
    Column("system", String(40), primary_key=True, doc="vendor: salesforce, netsuite, stripe, ..."),
    Column("vendor_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ux_xrefs_vendor", xrefs.c.kind, xrefs.c.system, xrefs.c.vendor_id, unique=True)

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True, doc="deterministic: a re-run step writes the same"),
    Column("type", String(120), nullable=False),
    Column("subject", String(200), nullable=True),
    Column("correlation_id", String(64), nullable=True),
    Column("envelope", Text, nullable=False, doc="the CloudEvent, structured JSON mode"),
    Column("created_at", Float, nullable=False),
)
Index("ix_outbox_events_created_at", outbox_events.c.created_at)

outbox_cursors = Table(
    "outbox_cursors",
    metadata,
    Column("subscriber", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False, doc="every event up to this one was delivered"),
    Column("leased_by", String(64), nullable=True, doc="relay (process) delivering this subscriber's batch"),
    Column("lease_until", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
)

outbox_dead_letters = Table(
    "outbox_dead_letters",
    metadata,
    Column("subscriber", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", String(500), nullable=False),
    Column("at", Float, nullable=False),
)
vendor_event_inbox = Table(
    "vendor_event_inbox",
    metadata,
    Column("vendor", String(32), primary_key=True, doc="who sent the event, e.g. stripe"),
    Column("event_id", String(255), primary_key=True, doc="the vendor's event id: the de-duplication key"),
    Column("event_type", String(120), nullable=False),
    Column("payload", LargeBinary, nullable=False, doc="the verified raw body, as received"),
    Column("received_at", Float, nullable=False),
    Column("processed_at", Float, nullable=True, doc="set by the consumer once it handled the event"),
)
Index("ix_vendor_event_inbox_pending", vendor_event_inbox.c.processed_at, vendor_event_inbox.c.received_at)

process_transactions = Table(
    "process_transactions",
    metadata,
    Column("id", String(40), primary_key=True, doc="txn_<ULID>; also the workflow id in the engine"),
    Column("workflow", String(64), nullable=False, doc="e.g. quote-to-cash"),
    Column("business_key", String(200), nullable=False, doc="e.g. the opportunity id; unique per workflow"),
    Column("state", String(32), nullable=False, doc="business state, see apis.process.transactions"),
    Column("customer_id", String(128), nullable=True, doc="the CRM account the transaction is about"),
    Column("correlation_id", String(64), nullable=False),
    Column("input", Text, nullable=False, doc="the start input, JSON"),
    Column("overrides", Text, nullable=True, doc="corrected input of the last replay, JSON"),
    Column("reason_code", String(64), nullable=True),
    Column("reason", String(1000), nullable=True),
    Column("owner_system", String(40), nullable=True, doc="the system whose data or outage stopped it"),
    Column("failed_step", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("attention_since", Float, nullable=True, doc="when it became an exception (its age)"),
    Column("completed_at", Float, nullable=True),
    Column(
        "about",
        Text,
        nullable=True,
        doc="what a person knows the transaction by, JSON (customer, deal, amount, currency); see migration 0015",
    ),
    UniqueConstraint("workflow", "business_key", name="ux_process_transactions_key"),
)
Index("ix_process_transactions_created", process_transactions.c.created_at, process_transactions.c.id)
Index("ix_process_transactions_state", process_transactions.c.state, process_transactions.c.workflow)
Index("ix_process_transactions_customer", process_transactions.c.customer_id)
# Covers the dashboard's reads by completion time (throughput, SLA durations); see migration 0011.
Index(
    "ix_process_transactions_completed",
    process_transactions.c.completed_at,
    process_transactions.c.workflow,
    process_transactions.c.created_at,
)

process_lineage = Table(
    "process_lineage",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("transaction_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(16), nullable=False, doc="record (a vendor record a step created or matched) | action"),
    Column("step", String(64), nullable=True),
    Column("system", String(40), nullable=True),
    Column("object", String(40), nullable=True),
    Column("vendor_id", String(128), nullable=True),
    Column("actor", String(64), nullable=True, doc="client id of the operator, for actions"),
    Column("detail", String(1000), nullable=True),
    Column("dedupe_key", String(200), nullable=True, unique=True, doc="a re-run step records its record once"),
)
Index("ix_process_lineage_transaction", process_lineage.c.transaction_id, process_lineage.c.id)


reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", String(40), primary_key=True, doc="rec_<ULID>"),
    Column("workflow_id", String(80), nullable=False, doc="the run id, or reconciliation:daily:<date>"),
    Column("period", String(7), nullable=False, doc="YYYY-MM"),
    Column("trigger", String(16), nullable=False, doc="api | schedule"),
    Column("status", String(16), nullable=False, doc="running | completed | failed"),
    Column("active_period", String(7), nullable=True, unique=True, doc="the period while running: one run at a time"),
    Column("requested_by", String(64), nullable=True, doc="client id of the caller, for api runs"),
    Column("correlation_id", String(64), nullable=True),
    Column("mismatch_count", Integer, nullable=True),
    Column("by_kind", Text, nullable=True, doc="mismatches per kind, JSON"),
    Column("summary", Text, nullable=True, doc="what was compared: record counts, invoice totals per customer, JSON"),
    Column("error", String(1000), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("completed_at", Float, nullable=True),
)
Index("ix_reconciliation_runs_created", reconciliation_runs.c.created_at, reconciliation_runs.c.id)

reconciliation_mismatches = Table(
    "reconciliation_mismatches",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("position", Integer, nullable=False, doc="order in the report"),
    Column("kind", String(48), nullable=False),
    Column("customer_id", String(128), nullable=True, doc="the CRM account it concerns, when known"),
    Column("detail", Text, nullable=False, doc="ids on each side, amounts, explanation: JSON"),
)
Index("ix_reconciliation_mismatches_run", reconciliation_mismatches.c.run_id, reconciliation_mismatches.c.position)

usage_events = Table(
    "usage_events",
    metadata,
    Column("subscription_id", String(64), primary_key=True, doc="the billing subscription the usage is for"),
    Column("event_id", String(200), primary_key=True, doc="the usage event's own id (its sender's)"),
    Column("transaction_id", String(40), nullable=False, doc="the usage-to-billing transaction that claimed it"),
    Column("period", String(7), nullable=False, doc="YYYY-MM it was billed in"),
    Column("seen_at", Float, nullable=False),
)


console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True, doc="SHA-256 of the session cookie's value"),
    Column("client_id", String(128), nullable=False, doc="the operations client signed in as"),
    Column("csrf_token", String(64), nullable=False),
    Column("sealed", Text, nullable=False, doc="client secret and access token, encrypted with the master key"),
    Column("token_expires_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, doc="idle timeout, pushed on by each request"),
)
Index("ix_console_sessions_expires", console_sessions.c.expires_at)


partner_webhook_subscriptions = Table(
    "partner_webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True, doc="whs_<ULID>"),
    Column("partner_id", String(64), nullable=False, doc="the partner owning it (its clients' partner_id)"),
    Column("url", String(2048), nullable=False),
    Column("event_types", Text, nullable=False, doc="event types delivered, JSON list"),
    Column("description", String(500), nullable=True),
    Column("secret_sealed", Text, nullable=False, doc="the signing secret, encrypted with the master key"),
    Column("previous_secret_sealed", Text, nullable=True, doc="the secret a rotation replaced, encrypted"),
    Column("previous_secret_expires_at", Float, nullable=True, doc="until then deliveries carry both signatures"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_partner_webhook_subscriptions_partner", partner_webhook_subscriptions.c.partner_id)

partner_webhook_deliveries = Table(
    "partner_webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True, doc="whd_<ULID>"),
    Column("subscription_id", String(40), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("event_id", String(80), nullable=False, doc="also the webhook-id header: receivers de-duplicate by it"),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False, doc="the CloudEvents envelope sent, JSON"),
    Column("status", String(16), nullable=False, doc="pending | delivered | failed | dead"),
    Column("attempts", Integer, nullable=False, doc="attempts since it was enqueued or last redelivered"),
    Column("next_attempt_at", Float, nullable=True, doc="when it is due (null once delivered or dead)"),
    Column("claimed_by", String(64), nullable=True, doc="the worker attempting it now"),
    Column("claimed_until", Float, nullable=True, doc="another worker may take it over after this"),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("last_attempt_at", Float, nullable=True),
    Column("delivered_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("subscription_id", "event_id", name="ux_partner_webhook_deliveries_event"),
)
Index(
    "ix_partner_webhook_deliveries_due",
    partner_webhook_deliveries.c.status,
    partner_webhook_deliveries.c.next_attempt_at,
)
Index(
    "ix_partner_webhook_deliveries_subscription",
    partner_webhook_deliveries.c.subscription_id,
    partner_webhook_deliveries.c.id,
)

partner_webhook_attempts = Table(
    "partner_webhook_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True, doc="the receiver's answer; null when none came"),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)
Index("ix_partner_webhook_attempts_delivery", partner_webhook_attempts.c.delivery_id, partner_webhook_attempts.c.id)


async def insert_ignoring(connection: AsyncConnection, table: Table, row: dict[str, Any], *keys: str) -> bool:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` on SQLite or PostgreSQL (no ``keys``: a conflict on
    any unique key); whether a row was added."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = pg_insert(table).values(**row).on_conflict_do_nothing(index_elements=list(keys) or None)
    elif dialect == "sqlite":
        statement = sqlite_insert(table).values(**row).on_conflict_do_nothing(index_elements=list(keys) or None)
    else:  # pragma: no cover - the gateway runs on SQLite or PostgreSQL only
        raise RuntimeError(f"unsupported database {dialect}")
    result = await connection.execute(statement)
    return bool(result.rowcount)


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine; for SQLite, make the directory and use WAL so readers never block."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


workflow_executors = Table(
    "workflow_executors",
    metadata,
    Column("executor_id", String(200), primary_key=True, doc="the workflow engine's executor id a process runs as"),
    Column("holder", String(64), nullable=False, doc="random token of the process holding the lease"),
    Column("heartbeat_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, doc="past it, a live process takes the executor's workflows over"),
)


business_alerts = Table(
    "business_alerts",
    metadata,
    Column("id", String(40), primary_key=True, doc="alr_<ULID>"),
    Column("rule", String(64), nullable=False, doc="the rule's name in the governance file"),
    Column("kind", String(40), nullable=False, doc="workflow_sla | exception_age | reconciliation_mismatch | ..."),
    Column("subject", String(200), nullable=False, doc="a workflow, vendor, period, partner; '' for all"),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False, doc="pending | firing | resolved"),
    Column("active_key", String(270), nullable=True, unique=True, doc="<rule>|<subject> while pending or firing"),
    Column("summary", String(500), nullable=False),
    Column("detail", Text, nullable=False, doc="the signal's figures, JSON"),
    Column("since", Float, nullable=False, doc="when the condition began (as far as known)"),
    Column("created_at", Float, nullable=False),
    Column("fired_at", Float, nullable=True),
    Column("last_notified_at", Float, nullable=True),
    Column("notifications", Integer, nullable=False, doc="strata.alert.fired events sent (1 + repeats)"),
    Column("resolved_at", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
)
Index("ix_business_alerts_created", business_alerts.c.created_at, business_alerts.c.id)

alert_evaluations = Table(
    "alert_evaluations",
    metadata,
    Column("period", String(40), primary_key=True, doc="the evaluation period: whoever inserts it evaluates it"),
    Column("evaluated_at", Float, nullable=False),
    Column("evaluated_by", String(200), nullable=True, doc="the executor id of the evaluating process"),
)

vendor_circuit_reports = Table(
    "vendor_circuit_reports",
    metadata,
    Column("reporter", String(200), primary_key=True, doc="the reporting process's executor id"),
    Column("vendor", String(64), primary_key=True),
    Column("state", String(16), nullable=False, doc="closed | open | half_open"),
    Column("not_closed_since", Float, nullable=True, doc="since when it has not been closed (null: closed)"),
    Column("reported_at", Float, nullable=False),
)
