"""Request limits: size and shape checked before anything interprets the request (policy 3).

* header block larger than ``max_header_bytes`` → 431;
* body larger than ``max_body_bytes`` → 413 (the declared ``Content-Length`` is checked
  before reading; a body without one is counted while read and refused at the limit);
* a body whose media type the operation does not accept → 415;
* malformed JSON → 400; JSON nested deeper than ``max_json_depth``, an object with more
  than ``max_json_members`` members or an array longer than ``max_json_array`` → 400.

The decoded JSON is kept on the context so no later policy decodes it again.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from core.echo import shorten
from policies.base import Policy
from policies.context import BodyTooLarge, Denial, RequestContext, read_body
from policies.governance import Governance, RequestLimitsConfig

_decoder = msgspec.json.Decoder()


class _ShapeError(Exception):
    pass


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


class RequestLimitsPolicy(Policy):
    """Refuse requests over the configured size and shape limits."""

    name: ClassVar[str] = "request_limits"

    def __init__(self, config: RequestLimitsConfig) -> None:
        self.config = config
        self.mode = config.mode

    def reconfigure(self, governance: Governance) -> None:
        """New size and shape limits."""
        self.config, self.mode = governance.request_limits, governance.request_limits.mode

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        config = self.config
        if ctx.state.get("header_bytes", 0) > config.max_header_bytes:
            return Denial(
                status=431,
                problem="request-header-fields-too-large",
                title="Request header fields too large",
                detail=f"the request headers exceed {config.max_header_bytes} bytes",
            )
        try:
            body = await read_body(ctx, config.max_body_bytes)
        except BodyTooLarge:
            return Denial(
                status=413,
                problem="payload-too-large",
                title="Payload too large",
                detail=f"the request body exceeds {config.max_body_bytes} bytes",
            )
        accepted: tuple[str, ...] = ctx.route.validators.body_media_types if ctx.route.validators else ()
        if not body:
            return None
        if not accepted:
            # The operation takes no body; what was sent is ignored, never interpreted.
            return None
        received = media_type(ctx.headers.get("content-type"))
        if received not in accepted:
            return Denial(
                status=415,
                problem="unsupported-media-type",
                title="Unsupported media type",
                detail=f"expected {', '.join(accepted)}, got {shorten(received) or 'no Content-Type'}",
                headers={"accept": ", ".join(accepted)},
                errors=[{"in": "header", "name": "Content-Type", "detail": f"must be one of {', '.join(accepted)}"}],
            )
        if received.endswith("json"):
            return self._decode_json(ctx, body)
        return None

    def _decode_json(self, ctx: RequestContext, body: bytes) -> Denial | None:
        try:
            value = _decoder.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            return _bad_body(f"the body is not valid JSON: {exc}")
        except UnicodeDecodeError:  # msgspec raises this, not DecodeError, for invalid UTF-8 in an object key
            return _bad_body("the body is not valid UTF-8")
        if not self._within_limits_by_count(body):
            try:
                self._check_shape(value, 1)
            except _ShapeError as exc:
                return _bad_body(str(exc))
        ctx.json_body = value
        ctx.has_json_body = True
        return None

    def _within_limits_by_count(self, body: bytes) -> bool:
        """True when counting bytes proves the decoded body breaks no shape limit (no walk needed).

        Each count is an upper bound (the same bytes inside strings only raise it): a container
        nested deeper than ``max_json_depth`` needs more openers than that, an object with more
        than ``max_json_members`` members as many colons and 5 bytes a member (``"":0,``), an
        array of more than ``max_json_array`` items at least that many commas and 2 bytes an
        item. The length is free and the counts cost ~1 µs per 2 KB each, so they are taken
        only when the length does not settle it. When a bound is not met the body is walked
        (:meth:`_check_shape`), so the outcome is always the walk's.
        """
        config = self.config
        size = len(body)
        return (
            body.count(b"{") + body.count(b"[") <= config.max_json_depth
            and (size <= 5 * config.max_json_members or body.count(b":") <= config.max_json_members)
            and (size <= 2 * config.max_json_array or body.count(b",") < config.max_json_array)
        )

    def _check_shape(self, value: Any, depth: int) -> None:
        # Only containers can break a limit: scalars (most of a body) cost one type test
        # here instead of a call each. Containers are visited in the same order as before,
        # so the first limit broken is still the one reported.
        config = self.config
        if type(value) is dict:
            if depth > config.max_json_depth:
                raise _ShapeError(f"the JSON body is nested deeper than {config.max_json_depth} levels")
            if len(value) > config.max_json_members:
                raise _ShapeError(f"a JSON object has more than {config.max_json_members} members")
            items: Any = value.values()
        elif type(value) is list:
            if depth > config.max_json_depth:
                raise _ShapeError(f"the JSON body is nested deeper than {config.max_json_depth} levels")
            if len(value) > config.max_json_array:
                raise _ShapeError(f"a JSON array has more than {config.max_json_array} items")
            items = value
        else:
            return
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                self._check_shape(item, depth + 1)


def _bad_body(detail: str) -> Denial:
    return Denial(
        status=400,
        problem="malformed-body",
        title="Malformed request body",
        detail=detail,
        errors=[{"in": "body", "pointer": "", "detail": detail}],
    )
