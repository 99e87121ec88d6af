"""Governance hot reload: check a new governance document and put it in force without a restart.

Where a new document comes from:

* ``PUT /gateway/v1/governance`` (the management API, ``gateway:governance:admin``);
* ``SIGHUP``: the governance file is read again (config management edited it);
* with Redis, channel ``strata:governance``: a document another process put in force.

A document is parsed and checked in full first (:func:`policies.governance.parse_governance`
lists every problem); an invalid one changes nothing. A valid one is applied on the event
loop in one step (no ``await`` in between, so a request sees the old settings or the new
ones, never a mix): every policy's :meth:`~policies.base.Policy.reconfigure`, the trusted
issuers, the edge's CORS allowlist, and the compiled chain of every route (a policy switched
``off`` or back on leaves or joins the chains). Then it is written to the governance file
atomically (a temporary file renamed over it), so a restart keeps it; where the file cannot
be written (a read-only mount) the change holds until the next restart, and the answer says
so. With Redis the document is published; every other process checks, applies and writes it
in turn. Without Redis, the other processes take it on their next SIGHUP or restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
import yaml

from core.audit import AuditRecord
from core.background import cancel_and_wait
from core.redis_pool import listen_forever
from policies.governance import Governance, GovernanceError, parse_governance

if TYPE_CHECKING:
    from litestar import Litestar

log = structlog.get_logger(__name__)

GOVERNANCE_CHANNEL = "strata:governance"
REDIS_RETRY_SECONDS = 1.0
_DOTTED = re.compile(r"^(?:[^:]*?: )?(?P<path>[A-Za-z0-9_.\-/]+): ")
_MSGSPEC_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")


@dataclass(frozen=True, slots=True)
class AppliedGovernance:
    """What was put in force."""

    digest: str
    """SHA-256 of the canonical JSON of the document."""
    applied_at: float
    persisted: bool
    """Whether the governance file now holds it (a restart keeps it)."""
    source: str
    """``api``, ``sighup``, ``peer`` or ``start``."""


def digest_of(governance: Governance) -> str:
    """A stable digest of a governance document (canonical JSON, sorted keys)."""
    canonical = json.dumps(msgspec.to_builtins(governance), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def governance_field_errors(error: GovernanceError) -> list[dict[str, str]]:
    """Every problem of a refused document as a body field error with a JSON Pointer."""
    fields = []
    for problem in error.errors:
        pointer = ""
        found = _MSGSPEC_PATH.search(problem)
        if found:
            pointer = re.sub(r"\[(\d+)\]", r".\1", found["path"]).replace(".", "/")
        else:
            dotted = _DOTTED.match(problem)
            if dotted:
                pointer = "/" + dotted["path"].replace(".", "/")
        fields.append({"in": "body", "pointer": pointer, "detail": problem})
    return fields


class GovernanceReloader:
    """Owns the governance in force in one process."""

    def __init__(self, app: Litestar, read_path: Path, write_path: Path, redis_url: str | None) -> None:
        self.app = app
        self.path = read_path
        self.write_path = write_path
        self.redis_url = redis_url or None
        self._token = uuid.uuid4().hex  # tells our own publishes apart (pids repeat across machines)
        self.current = AppliedGovernance(
            digest=digest_of(app.state.governance), applied_at=time.time(), persisted=True, source="start"
        )
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._own_issuer: str = app.state.settings.issuer
        """No document may declare an external issuer with this URL (it is built in)."""

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Listen for SIGHUP and, with Redis, for documents other processes applied."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload_file()))
        if self.redis_url:
            from core.redis_pool import redis_client

            self._redis = redis_client(self.redis_url)
            self._task = asyncio.create_task(self._listen(), name="strata-governance-listener")
            with contextlib.suppress(TimeoutError):  # a publish before the subscription would be missed
                await asyncio.wait_for(self._subscribed.wait(), timeout=2.0)

    async def stop(self) -> None:
        """Stop listening."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        await cancel_and_wait(self._task)
        self._task = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # ------------------------------------------------------------------ sources

    async def replace(self, document: dict[str, Any], *, dry_run: bool = False) -> AppliedGovernance:
        """Check ``document`` and (unless ``dry_run``) put it in force here and in every process.

        Raises:
            GovernanceError: listing every problem; nothing changed.
        """
        governance = parse_governance(json.dumps(document), "governance", own_issuer=self._own_issuer)
        if dry_run:
            return AppliedGovernance(digest_of(governance), time.time(), persisted=False, source="dry-run")
        applied = self._apply(governance, "api")
        applied = await self._persist(governance, applied)
        await self._publish(document)
        return applied

    async def reload_file(self) -> AppliedGovernance | None:
        """SIGHUP: read the governance file again and apply it; an invalid file is logged and ignored."""
        try:
            governance = parse_governance(self.path.read_text(), str(self.path), own_issuer=self._own_issuer)
        except (OSError, GovernanceError) as exc:
            problems = exc.errors if isinstance(exc, GovernanceError) else [str(exc)]
            log.error("governance reload refused; the running governance stays", problems=problems)
            self._audit("sighup", 422, "denied", f"refused: {'; '.join(problems)}")
            return None
        applied = self._apply(governance, "sighup")
        self._audit("sighup", 200, "allowed", f"governance {applied.digest[:12]} applied from the file")
        return applied

    # ------------------------------------------------------------------ applying

    def _apply(self, governance: Governance, source: str) -> AppliedGovernance:
        """Put ``governance`` in force in this process, in one step (no awaits)."""
        state = self.app.state
        components = state.components
        components.governance = governance
        state.governance = governance
        state.chain.reconfigure(governance)  # after the components: trusted issuers read their governance
        state.cors.replace(governance.cors)
        table = state.route_table
        if table is not None:
            for route in table.routes:
                state.chain.compile(route)
        self.current = AppliedGovernance(digest_of(governance), time.time(), persisted=False, source=source)
        log.info("governance applied", digest=self.current.digest, source=source)
        return self.current

    async def _persist(self, governance: Governance, applied: AppliedGovernance) -> AppliedGovernance:
        text = yaml.safe_dump(msgspec.to_builtins(governance), sort_keys=False, allow_unicode=True)
        header = f"# Written by Strata's governance reload ({applied.source}, {applied.digest[:12]}).\n"
        try:
            await asyncio.to_thread(_write_atomically, self.write_path, header + text)
        except OSError as exc:
            log.warning("governance applied but not written to its file", path=str(self.write_path), error=str(exc))
            return applied
        self.path = self.write_path  # SIGHUP reads what was written
        self.current = AppliedGovernance(applied.digest, applied.applied_at, persisted=True, source=applied.source)
        return self.current

    def _audit(self, source: str, status: int, outcome: str, reason: str) -> None:
        self.app.state.components.audit.record(
            AuditRecord(
                at=time.time(),
                request_id="-",
                method=source.upper(),
                route="governance file",
                status=status,
                outcome=outcome,
                reason=reason[:300],
            )
        )

    # ------------------------------------------------------------------ other processes

    async def _publish(self, document: dict[str, Any]) -> None:
        if self._redis is None:
            return
        try:
            await self._redis.publish(GOVERNANCE_CHANNEL, json.dumps({"from": self._token, "document": document}))
        except Exception as exc:  # applied here; the others take it on SIGHUP or restart
            log.warning("governance publish failed", error=str(exc))

    async def _listen(self) -> None:
        await listen_forever(
            self._redis,
            GOVERNANCE_CHANNEL,
            self._on_message,
            self._subscribed,
            retry_seconds=REDIS_RETRY_SECONDS,
            name="governance listener",
        )

    async def _on_message(self, data: Any) -> None:
        try:
            message = json.loads(data)
            if message.get("from") == self._token:
                return  # our own publish
            governance = parse_governance(
                json.dumps(message["document"]), "published governance", own_issuer=self._own_issuer
            )
        except (ValueError, TypeError, KeyError, AttributeError, GovernanceError) as exc:
            log.warning("ignoring a published governance document", error=str(exc))
            return
        if digest_of(governance) == self.current.digest:
            return
        applied = self._apply(governance, "peer")
        await self._persist(governance, applied)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".governance-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
