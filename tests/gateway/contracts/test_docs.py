"""Docs pages: catalogue, Swagger UI with local assets only, raw contracts, problem 404s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from litestar.datastructures import State
from litestar.testing import TestClient, create_test_client

from gateway.contracts.docs import build_docs_catalogue, docs_route_handlers
from gateway.contracts.loader import bundle
from tests.gateway.contracts.conftest import FIXTURE_TREE, WIDGETS

ASSET_URL = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    catalogue = build_docs_catalogue(FIXTURE_TREE, problem_base_uri="https://example.test/problems/")
    with create_test_client(route_handlers=docs_route_handlers, state=State({"docs": catalogue})) as test_client:
        yield test_client


def test_catalogue_page_lists_every_api(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "Widgets &lt;System&gt; API" in page and "<System>" not in page  # escaped
    for docs_path in ("/docs/system/widgets/v1", "/docs/process/order-flow/v1", "/docs/gateway/gateway/v1"):
        assert f'href="{docs_path}"' in page
        assert f'href="{docs_path}/openapi.yaml"' in page
    assert "deprecated, sunset 2026-12-31T00:00:00Z" in page
    assert "team-widgets" in page and "/gateway/v1" in page


def test_catalogue_as_json(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/docs", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    apis = {api["api_id"]: api for api in response.json()["apis"]}
    assert set(apis) == {"gateway/gateway/v1", "process/order-flow/v1", "system/widgets/v1"}
    flow = apis["process/order-flow/v1"]
    assert flow["lifecycle"] == {
        "state": "deprecated",
        "deprecated_at": "2026-01-01T00:00:00Z",
        "sunset_at": "2026-12-31T00:00:00Z",
        "successor": "/process/order-flow/v2",
    }
    assert flow["owner"] == "team-orders" and flow["base_path"] == "/process/order-flow/v1"
    assert apis["system/widgets/v1"]["links"]["openapi_json"] == "/docs/system/widgets/v1/openapi.json"


def test_swagger_page_uses_local_assets_only(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/docs/system/widgets/v1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'data-spec-url="/docs/system/widgets/v1/openapi.json"' in page
    assert "<script>" not in page  # no inline script
    urls = ASSET_URL.findall(page)
    assert "/docs/static/swagger-ui-bundle.js" in urls and "/docs/static/swagger-ui.css" in urls
    assert not [url for url in urls if url.startswith(("http://", "https://", "//"))]
    for url in urls:
        assert url.startswith("/docs"), url


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("strata-docs.js", "text/javascript"),
        ("strata-docs.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ],
)
def test_assets_are_served(client: TestClient, name: str, media_type: str) -> None:  # type: ignore[type-arg]
    response = client.get(f"/docs/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["content-type"].count("charset") <= 1
    assert response.headers["cache-control"].startswith("public")
    assert len(response.content) > 100


def test_swagger_bundle_makes_no_cdn_reference_in_init(client: TestClient) -> None:  # type: ignore[type-arg]
    script = client.get("/docs/static/strata-docs.js").text
    assert "validatorUrl: null" in script  # the default validator badge would call validator.swagger.io
    assert "http" not in script


def test_raw_contract_round_trips(client: TestClient) -> None:  # type: ignore[type-arg]
    expected = bundle(FIXTURE_TREE / WIDGETS)
    as_yaml = client.get("/docs/system/widgets/v1/openapi.yaml")
    assert as_yaml.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == expected
    as_json = client.get("/docs/system/widgets/v1/openapi.json")
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json() == expected
    assert as_json.json()["servers"] == [{"url": "/system/widgets/v1"}]
    assert "Money" in as_json.json()["components"]["schemas"]  # bundled from the shared file


@pytest.mark.parametrize(
    "url",
    [
        "/docs/system/nope/v1",
        "/docs/system/widgets/v9",
        "/docs/system/widgets/v9/openapi.json",
        "/docs/system/widgets/1/openapi.yaml",
        "/docs/static/package.json",
    ],
)
def test_unknown_is_a_problem_404(client: TestClient, url: str) -> None:  # type: ignore[type-arg]
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = json.loads(response.text)
    assert problem["status"] == 404 and problem["type"] == "https://example.test/problems/not-found"
    assert problem["title"] and problem["detail"]


def test_no_path_traversal_into_the_package(client: TestClient) -> None:  # type: ignore[type-arg]
    # no route matches: the app-level 404 handler (not ours) answers; nothing is read from disk
    response = client.get("/docs/static/..%2F..%2Floader.py")
    assert response.status_code == 404
    assert "ContractError" not in response.text


def test_catalogue_built_lazily_from_contracts_dir() -> None:
    state = State({"contracts_dir": FIXTURE_TREE})
    with create_test_client(route_handlers=docs_route_handlers, state=state) as client:
        assert client.get("/docs/system/widgets/v1").status_code == 200


def test_unbundlable_contract_is_left_out(tmp_path: Path) -> None:
    broken = tmp_path / "system/broken/v1.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("openapi: [\n")
    catalogue = build_docs_catalogue(tmp_path)
    assert catalogue.entries == {} and len(catalogue.errors) == 1
