"""S3 connector for the data lake: boto3 ``PutObject`` under deterministic keys.

boto3 is synchronous: every call runs in a bounded thread pool of this connector
(``max_workers``), under an asyncio deadline as well as botocore's own connect/read
timeouts. botocore's retries are switched off (one attempt per call); retries are ours
(:func:`apis.system.kit.vendor_http.call_with_retries`) and always safe, because a key names a
fixed content and ``PutObject`` replaces the whole object. ``endpoint_url`` points it at
MinIO, moto, LocalStack or a VPC endpoint (path-style addressing then).

=====================================================  ==============================
S3                                                     Strata
=====================================================  ==============================
503 ``SlowDown`` (and any 503)                         UpstreamRateLimited (retryable)
other 5xx (``InternalError``, ...)                     UpstreamUnavailable (retryable)
connection refused / closed, endpoint unreachable      UpstreamUnavailable (retryable)
connect or read timeout, or our deadline               UpstreamTimeout (retryable)
``NoSuchBucket``, ``AccessDenied``, bad credentials    UpstreamContractViolation (502:
                                                       the gateway's set-up is wrong)
=====================================================  ==============================
"""

from __future__ import annotations

import asyncio
import functools
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.vendor_http import RetryPolicy, call_with_retries, parse_retry_after
from core.errors import (
    StrataError,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

VENDOR = "data-platform"
CONTENT_TYPE = "application/x-ndjson"


class S3Config(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts, retries and threads of the S3 connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`)."""

    timeout_seconds: float = 15.0
    """Deadline of one PutObject, connect to last byte (botocore's read timeout too)."""
    connect_timeout_seconds: float = 3.0
    """Deadline of opening the connection."""
    max_workers: int = 8
    """Threads running boto3 calls at once (also caps connections in flight)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_workers < 1 or self.connect_timeout_seconds <= 0:
            raise ValueError("max_workers must be at least 1 and connect_timeout_seconds positive")


class S3Connector:
    """A lake in ``bucket`` under ``prefix``, through boto3."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        config: S3Config | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.config = config or S3Config()
        self.bucket = bucket
        self.prefix = prefix
        self.breaker = breaker
        client_config = botocore.config.Config(
            connect_timeout=self.config.connect_timeout_seconds,
            read_timeout=self.config.timeout_seconds,
            retries={"total_max_attempts": 1},
            max_pool_connections=self.config.max_workers,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=client_config,
        )
        self._executor = ThreadPoolExecutor(max_workers=self.config.max_workers, thread_name_prefix="strata-s3")
        self._random = random.Random()

    @property
    def root(self) -> str:
        """``s3://<bucket>/<prefix>``."""
        return f"s3://{self.bucket}/{self.prefix}"

    async def put(self, key: str, body: bytes) -> None:
        """PutObject ``<prefix><key>``; retried on throttling, 5xx, dropped connections, timeouts."""
        await call_with_retries(
            lambda: self._put_once(self.prefix + key, body),
            policy=self.config,
            idempotent=True,
            breaker=self.breaker,
            rng=self._random,
        )

    async def aclose(self) -> None:
        """Stop the threads (waiting for calls in progress) and close the client."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        self._client.close()

    async def _put_once(self, key: str, body: bytes) -> None:
        call = functools.partial(
            self._client.put_object, Bucket=self.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE
        )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                await loop.run_in_executor(self._executor, call)
        except TimeoutError:
            raise UpstreamTimeout(f"S3 did not answer within {self.config.timeout_seconds}s") from None
        except botocore.exceptions.BotoCoreError as error:
            raise error_for_transport(error) from None
        except botocore.exceptions.ClientError as error:
            raise error_for_response(error) from None


def error_for_transport(error: botocore.exceptions.BotoCoreError) -> StrataError:
    """The Strata error for a failure below HTTP (no S3 answer)."""
    if isinstance(error, botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError):
        return UpstreamTimeout(f"S3 timed out: {type(error).__name__}")
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return UpstreamContractViolation("S3 credentials are missing or incomplete")
    return UpstreamUnavailable(f"S3 unreachable: {type(error).__name__}")


def error_for_response(error: botocore.exceptions.ClientError) -> StrataError:
    """The Strata error for an S3 error answer (``<Error><Code>``, HTTP status)."""
    response: dict[str, Any] = dict(error.response or {})
    code = str(response.get("Error", {}).get("Code", ""))
    metadata = response.get("ResponseMetadata", {})
    status = int(metadata.get("HTTPStatusCode", 0) or 0)
    retry_after = parse_retry_after((metadata.get("HTTPHeaders") or {}).get("retry-after"))
    if code == "SlowDown" or status == 503:
        return UpstreamRateLimited(
            f"S3 throttled the write ({code or status})", retry_after=retry_after, vendor_code=code
        )
    if status >= 500:
        unavailable = UpstreamUnavailable(f"S3 answered {status} {code}", vendor_code=code or None)
        unavailable.retry_after = retry_after
        return unavailable
    return UpstreamContractViolation(f"S3 refused the write: {code or status}", vendor_code=code or None)
