"""Stripe's error object: ``{"error": {"type", "code", "param", "message", "doc_url"}}``."""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An error answer in Stripe's format; raised anywhere in the simulator."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.should_retry = should_retry

    def body(self, request_log_url: str | None = None) -> dict[str, Any]:
        """The JSON body Stripe answers with."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        if request_log_url:
            error["request_log_url"] = request_log_url
        error.update(self.extra)
        return {"error": error}


def missing(kind: str, object_id: str, param: str | None = "id", status: int | None = None) -> StripeError:
    """``resource_missing`` as Stripe writes it: ``No such customer: 'cus_x'``.

    404 for the object the path names, 400 for an object a parameter names (as Stripe answers).
    """
    code = status or (404 if param == "id" else 400)
    return StripeError(code, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def invalid(param: str, message: str, code: str | None = "parameter_invalid_empty") -> StripeError:
    """A 400 naming the parameter."""
    return StripeError(400, message, code=code, param=param)


def required(param: str) -> StripeError:
    """``parameter_missing``."""
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown(param: str) -> StripeError:
    """``parameter_unknown``: Stripe refuses parameters it does not know."""
    return StripeError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected fault, in Stripe's format."""
    import msgspec

    if status == 429:
        error = StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            type="invalid_request_error",
            code="rate_limit",
        )
    elif status >= 500:
        error = StripeError(status, "An unknown error occurred", type="api_error")
    else:
        error = StripeError(status, f"Injected error {status}")
    return msgspec.json.encode(error.body()), "application/json"
