"""Fixtures: moto's S3 server on loopback, and a lake of either backend with a way to read it back."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from apis.system.data.connectors.local_dir import LocalDirConnector
from apis.system.data.connectors.s3 import S3Config, S3Connector
from apis.system.data.service import DataService

BUCKET = "strata-lake-test"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
FAST_S3 = S3Config(
    timeout_seconds=1.0, connect_timeout_seconds=0.5, max_retries=2, backoff_base_seconds=0.001, backoff_max_seconds=0.1
)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's S3 in server mode, on 127.0.0.1 and a free port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint_url: str) -> Any:
    """A plain boto3 client for checking what landed."""
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION, **CREDENTIALS)


@pytest.fixture
def fresh_bucket(moto_url: str) -> str:
    """moto reset between tests, then the lake bucket created."""
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()
    s3_client(moto_url).create_bucket(Bucket=BUCKET)
    return moto_url


@dataclass
class Lake:
    """A lake under test: the service writing to it and a reader of its objects."""

    backend: str
    service: DataService
    objects: Callable[[], dict[str, bytes]]
    """Every object in the lake: key (relative to the root) → bytes."""


def local_objects(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (temporary files included: there must be none)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def s3_objects(endpoint_url: str, prefix: str = "") -> dict[str, bytes]:
    """Every object in the bucket under ``prefix``."""
    client = s3_client(endpoint_url)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"][len(prefix) :]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed
    }


def s3_connector(endpoint_url: str, prefix: str = "lake/", config: S3Config = FAST_S3) -> S3Connector:
    """The S3 connector bound to moto (or any endpoint)."""
    return S3Connector(
        bucket=BUCKET,
        prefix=prefix,
        endpoint_url=endpoint_url,
        region=REGION,
        access_key_id=CREDENTIALS["aws_access_key_id"],
        secret_access_key=CREDENTIALS["aws_secret_access_key"],
        config=config,
    )


@pytest.fixture(params=["local", "s3"])
async def lake(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Lake]:
    """The same lake API over each backend: a local directory, and S3 (moto)."""
    if request.param == "local":
        root = tmp_path / "lake"
        service = DataService(LocalDirConnector(root))
        yield Lake("local", service, lambda: local_objects(root) if root.exists() else {})
    else:
        endpoint = request.getfixturevalue("fresh_bucket")
        service = DataService(s3_connector(endpoint))
        yield Lake("s3", service, lambda: s3_objects(endpoint, "lake/"))
    await service.aclose()


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>R1</RequestId></Error>"
)


class Script:
    """What the stand-in answers to each PUT, in order; then 200."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.puts: list[str] = []
        self.lock = threading.Lock()


@pytest.fixture
def stand_in() -> Iterator[tuple[str, Script]]:
    """An HTTP server on loopback answering PutObject as S3 does (200 + ETag) or with SlowDown / a stall."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers boto3's "Expect: 100-continue" before the body comes

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            with script.lock:
                script.puts.append(self.path)
                answer = script.answers.pop(0) if script.answers else "ok"
            if answer == "stall":
                time.sleep(0.8)
            if answer == "slowdown":
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOW_DOWN)))
                self.end_headers()
                self.wfile.write(SLOW_DOWN)
                return
            self.send_response(200)
            self.send_header("ETag", '"d41d8cd98f00b204e9800998ecf8427e"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        thread.join()
