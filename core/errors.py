"""The gateway's error tree, written once.

Everything a connector, a policy or a handler raises on purpose is a :class:`StrataError`.
The split that matters to callers (and later to the workflow engine's retry decision) is
the first level::

    StrataError
    ├── RetryableError            # the same call may succeed later
    │   ├── UpstreamTimeout       # the vendor did not answer within its deadline (504)
    │   ├── UpstreamRateLimited   # 429 / REQUEST_LIMIT_EXCEEDED; carries retry_after (503)
    │   └── UpstreamUnavailable   # 5xx, connection refused or dropped (503)
    └── PermanentError            # retrying the same call cannot help
        ├── InvalidInput          # the caller's input is wrong; names the fields (422)
        ├── Forbidden             # the caller may not do this; the problem type names the rule (403)
        ├── NotFound              # the object does not exist (404)
        ├── Conflict              # state conflict, e.g. duplicate or several matches (409)
        │   └── PeriodClosed      # posting dated in a closed accounting period (409)
        ├── BusinessRuleViolation # the data breaks a business rule; names the rule and its owner (422)
        ├── UpstreamRejected      # the vendor refused our input (422)
        └── UpstreamContractViolation  # the vendor answered something we cannot read (502)

Each error knows the HTTP status and problem ``type`` suffix it maps to, so the handler
layer turns any of them into an RFC 9457 problem without a table of its own. An error a vendor
connector raises also knows the ``system`` it came from (``"netsuite"``), set by the connector
kit: the process layer reads it to name the system that owns a failure.
"""

from __future__ import annotations


class StrataError(Exception):
    """Base of every deliberate error. ``detail`` is safe to show to a caller."""

    status: int = 500
    problem: str = "internal-error"
    title: str = "Internal error"
    system: str | None = None
    """The system (vendor) the error came from, as lineage names it (``"stripe"``); None when it
    is none's. A class-level default: errors pickled before the attribute existed still load."""

    def __init__(self, detail: str, *, vendor_code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.vendor_code = vendor_code


class RetryableError(StrataError):
    """The same call may succeed later (timeouts, throttling, vendor 5xx)."""

    retry_after: float | None = None


class StateUnavailable(RetryableError):
    """The gateway's own state database is out of reach for now (see :mod:`core.state_outage`)."""

    status = 503
    problem = "state-unavailable"
    title = "State unavailable"

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UpstreamTimeout(RetryableError):
    """The vendor did not answer within the configured deadline."""

    status = 504
    problem = "upstream-timeout"
    title = "Upstream timeout"


class UpstreamRateLimited(RetryableError):
    """The vendor throttled us; ``retry_after`` is its advice in seconds, if it gave one."""

    status = 503
    problem = "upstream-rate-limited"
    title = "Upstream rate limited"

    def __init__(self, detail: str, *, retry_after: float | None = None, vendor_code: str | None = None) -> None:
        super().__init__(detail, vendor_code=vendor_code)
        self.retry_after = retry_after


class UpstreamUnavailable(RetryableError):
    """The vendor answered 5xx or could not be reached."""

    status = 503
    problem = "upstream-unavailable"
    title = "Upstream unavailable"


class PermanentError(StrataError):
    """Retrying the same call cannot help: the input or the state must change first."""


class InvalidInput(PermanentError):
    """The caller's input is wrong in a way the contract cannot express (e.g. a forged cursor)."""

    status = 422
    problem = "validation-failed"
    title = "Request does not match the contract"

    def __init__(self, detail: str, *, field_errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.field_errors = field_errors or []


class Forbidden(PermanentError):
    """The caller may not do this to this object, whatever the input; subclasses name the rule.

    Unlike authorization's ``insufficient-scope`` (decided from the route alone), this is
    decided by the handler from the object acted on (e.g. the grant rule of the management API).
    ``field_errors`` point at the input that breaks the rule, as for InvalidInput.
    """

    status = 403
    problem = "forbidden"
    title = "Forbidden"

    def __init__(self, detail: str, *, field_errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.field_errors = field_errors or []


class NotFound(PermanentError):
    """The requested object does not exist (or is not visible to the caller)."""

    status = 404
    problem = "not-found"
    title = "Not found"


class Conflict(PermanentError):
    """The request conflicts with the current state of the object."""

    status = 409
    problem = "conflict"
    title = "Conflict"


class PeriodClosed(Conflict):
    """A posting is dated in an accounting period that is closed (or locked) in the ERP."""

    problem = "period-closed"
    title = "Accounting period closed"


class BusinessRuleViolation(PermanentError):
    """The data breaks a business rule a workflow checks (an unmapped product, a closed period).

    ``code`` names the rule (``product_unmapped``), ``owner_system`` the system whose data must
    change (``product-platform``); ``field_errors`` point into that data, as for InvalidInput.
    """

    status = 422
    problem = "business-rule-violated"
    title = "Business rule violated"

    def __init__(
        self, code: str, detail: str, *, owner_system: str, field_errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.owner_system = owner_system
        self.field_errors = field_errors or []

    def __reduce__(self) -> tuple[object, ...]:
        # The engine stores a failed step's error pickled; keep every field through the round trip.
        return (_rebuild_violation, (self.code, self.detail, self.owner_system, self.field_errors))


def _rebuild_violation(
    code: str, detail: str, owner_system: str, field_errors: list[dict[str, str]]
) -> BusinessRuleViolation:
    return BusinessRuleViolation(code, detail, owner_system=owner_system, field_errors=field_errors)


class UpstreamRejected(PermanentError):
    """The vendor refused the data we sent (validation, missing field, business rule)."""

    status = 422
    problem = "upstream-rejected"
    title = "Upstream rejected the request"


class UpstreamContractViolation(PermanentError):
    """The vendor answered with something we cannot interpret."""

    status = 502
    problem = "upstream-contract-violation"
    title = "Upstream contract violation"


class WorkflowEngineOff(StrataError):
    """This process does not run the workflow engine (``workflows_enabled = false``)."""

    status = 503
    problem = "workflow-engine-off"
    title = "Workflow engine not running"
