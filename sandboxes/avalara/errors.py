"""AvaTax's error body, ``{"error": {"code", "message", "target", "details": [...]}}``, and the codes used."""

from __future__ import annotations

from typing import Any

import msgspec

JSON = "application/json; charset=utf-8"
HELP = "http://developer.avalara.com/avatax/errors/"

NUMBERS = {
    "EntityNotFoundError": 4,
    "ValueRequiredError": 5,
    "AuthenticationException": 30,
    "ValidationException": 32,
    "GetTaxError": 300,
    "DocumentCodeConflict": 303,
    "InvalidParameterValue": 306,
    "AddressIncomplete": 309,
    "MissingLine": 311,
    "InvalidDocumentType": 1310,
    "InvalidDocumentStatus": 1311,
    "ServerUnreachable": 500,
    "ServerConfiguration": 1,
    "RequestLimitExceeded": 1715,
}
"""Error code → ``details[].number`` (see the package docstring for which are unverified)."""


class AvaError(Exception):
    """An error the sandbox answers in AvaTax's format."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str = "IncorrectData",
        description: str | None = None,
        refers_to: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target
        self.description, self.refers_to = description or message, refers_to

    def body(self) -> dict[str, Any]:
        """The JSON body AvaTax writes for this error."""
        detail: dict[str, Any] = {
            "code": self.code,
            "number": NUMBERS.get(self.code, 0),
            "message": self.message,
            "description": self.description,
            "faultCode": "Server" if self.status >= 500 else "Client",
            "helpLink": HELP + self.code,
            "severity": "Error" if self.status < 500 else "Exception",
        }
        if self.refers_to is not None:
            detail["refersTo"] = self.refers_to
        return {"error": {"code": self.code, "message": self.message, "target": self.target, "details": [detail]}}

    def encode(self) -> bytes:
        """The body as JSON bytes."""
        return msgspec.json.encode(self.body())


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in AvaTax's error format."""
    if status == 401:
        error = AvaError(401, "AuthenticationException", "Authentication failed.", target="HttpRequestHeaders")
    elif status == 404:
        error = AvaError(404, "EntityNotFoundError", "Entity not found.", target="HttpRequest")
    elif status == 429:
        message = "The rate limit for this account has been exceeded. Please retry after some time."
        error = AvaError(429, "RequestLimitExceeded", message, target="HttpRequest")
    elif status >= 500:
        message = "The AvaTax service is temporarily unavailable. Please try again later."
        error = AvaError(status, "ServerUnreachable", message, target="AvaTaxApiServer")
    else:
        error = AvaError(status, "ValidationException", "The request could not be processed.", target="HttpRequest")
    return error.encode(), JSON
