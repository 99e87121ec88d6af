"""Developer docs served from the contracts: a catalogue page and Swagger UI per API version.

Routes (all public, none in the generated OpenAPI schema):

* ``GET /docs`` — every API version with title, lifecycle, owner and links; HTML, or JSON
  when the client prefers ``application/json``.
* ``GET /docs/{layer}/{api}/v{N}`` — Swagger UI for that contract.
* ``GET /docs/{layer}/{api}/v{N}/openapi.yaml`` and ``.../openapi.json`` — the bundled
  contract, ``servers`` left as the relative base path.
* ``GET /docs/events/v{N}/asyncapi.yaml`` — the bundled AsyncAPI document of the business
  events (``contracts/events/v<N>.yaml``).
* ``GET /docs/static/{name}`` — Swagger UI's files, shipped in ``static/`` (no CDN).

Everything is rendered once by :func:`build_docs_catalogue` at start-up and kept in
``app.state.docs``; a request only looks bytes up. An unknown API answers an RFC 9457
problem (404).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from core.echo import bound_pointer, shorten
from core.problems import problem_body
from gateway.contracts.baseline import dump_json, json_default
from gateway.contracts.loader import CONTRACT_NAME, ContractError, ContractFile, discover, shared_bundle

DOCS_PREFIX = "/docs"
EVENTS_DIR = "events"
"""Where the AsyncAPI documents live under ``contracts/`` (not an API layer: no routes)."""
STATIC_PREFIX = f"{DOCS_PREFIX}/static"
STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_UI_VERSION = "5.35.0"
DEFAULT_PROBLEM_BASE_URI = "https://strata.dev/problems/"
YAML_MEDIA_TYPE = "application/yaml"
PROBLEM_MEDIA_TYPE = "application/problem+json"
HTML_MEDIA_TYPE = "text/html"  # Litestar appends the charset itself
STATIC_CACHE_CONTROL = "public, max-age=86400"
STATIC_ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css"),
    "favicon-32x32.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "strata-docs.js": ("strata-docs.js", "text/javascript"),
    "strata-docs.css": ("strata-docs.css", "text/css"),
}
"""URL name -> (file under ``static/``, media type). Only these are served."""


@dataclass(frozen=True, slots=True)
class DocsEntry:
    """One API version as the docs show it, with its renderings precomputed."""

    contract: ContractFile
    title: str
    owner: str
    lifecycle: dict[str, str]
    """``state`` and, when declared, ``deprecated_at``, ``sunset_at``, ``successor``."""
    openapi_json: bytes
    openapi_yaml: bytes
    page: bytes
    """The Swagger UI page."""

    @property
    def docs_path(self) -> str:
        """``/docs/<layer>/<api>/v<N>``."""
        return _docs_path(self.contract)

    def summary(self) -> dict[str, Any]:
        """The entry as the JSON catalogue lists it."""
        file = self.contract
        return {
            "api_id": file.api_id,
            "layer": file.layer,
            "name": file.name,
            "version": file.version,
            "title": self.title,
            "owner": self.owner,
            "base_path": file.base_path,
            "lifecycle": self.lifecycle,
            "links": {
                "docs": self.docs_path,
                "openapi_yaml": f"{self.docs_path}/openapi.yaml",
                "openapi_json": f"{self.docs_path}/openapi.json",
            },
        }


@dataclass(frozen=True, slots=True)
class DocsCatalogue:
    """Every API version's docs, keyed by ``<layer>/<api>/v<N>``."""

    entries: dict[str, DocsEntry]
    index_html: bytes
    index_json: bytes
    assets: dict[str, bytes]
    """The files of :data:`STATIC_ASSETS`, read once."""
    problem_base_uri: str = DEFAULT_PROBLEM_BASE_URI
    errors: tuple[str, ...] = field(default=())
    """Contracts that could not be bundled (left out of the catalogue)."""
    events: dict[str, bytes] = field(default_factory=dict)
    """The bundled AsyncAPI documents as YAML, keyed by ``v<N>``."""


def build_docs_catalogue(contracts_dir: Path, problem_base_uri: str = DEFAULT_PROBLEM_BASE_URI) -> DocsCatalogue:
    """Bundle and render every contract under ``contracts_dir`` once.

    A contract that cannot be bundled is left out and named in ``errors`` (lint reports
    why); the other APIs keep their docs.
    """
    entries: dict[str, DocsEntry] = {}
    errors: list[str] = []
    for contract in discover(contracts_dir):
        try:
            document = shared_bundle(contract.path)
        except ContractError as exc:
            errors.append(str(exc))
            continue
        entries[contract.api_id] = _cached_entry(contract, document)
    events = _event_documents(contracts_dir, errors)
    index = {
        "apis": [entry.summary() for entry in entries.values()],
        "events": [{"version": version, "links": {"asyncapi_yaml": _events_path(version)}} for version in events],
    }
    index_json = json.dumps(index, default=json_default)
    return DocsCatalogue(
        entries=entries,
        index_html=_index_page(list(entries.values()), list(events)).encode(),
        index_json=index_json.encode(),
        assets=_read_assets(),
        problem_base_uri=problem_base_uri,
        errors=tuple(errors),
        events=events,
    )


def _events_path(version: str) -> str:
    return f"{DOCS_PREFIX}/{EVENTS_DIR}/{version}/asyncapi.yaml"


def _event_documents(contracts_dir: Path, errors: list[str]) -> dict[str, bytes]:
    """Each ``events/v<N>.yaml`` bundled (shared schemas copied in) and rendered as YAML."""
    documents: dict[str, bytes] = {}
    folder = contracts_dir / EVENTS_DIR
    paths = sorted(folder.glob("v*.yaml"), key=lambda path: path.name) if folder.is_dir() else []
    for path in paths:
        if not CONTRACT_NAME.match(path.name):
            continue
        try:
            document = shared_bundle(path)
        except ContractError as exc:
            errors.append(str(exc))
            continue
        documents[path.stem] = _cached_yaml(path, document)
    return documents


_EVENT_YAML: dict[str, tuple[dict[str, Any], bytes]] = {}


def _cached_yaml(path: Path, document: dict[str, Any]) -> bytes:
    """``document`` as YAML, rendered once while the shared bundle is the same object (as the entries)."""
    cached = _EVENT_YAML.get(str(path))
    if cached is not None and cached[0] is document:
        return cached[1]
    rendered = yaml.dump(document, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True).encode()
    _EVENT_YAML[str(path)] = (document, rendered)
    return rendered


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


_ENTRIES: dict[tuple[str, str], tuple[dict[str, Any], DocsEntry]] = {}


def _cached_entry(contract: ContractFile, document: dict[str, Any]) -> DocsEntry:
    """The entry of ``document``, rendered once per process while the shared bundle is the same
    object (rendering YAML is most of an app's start-up otherwise)."""
    key = (str(contract.path), contract.api_id)
    cached = _ENTRIES.get(key)
    if cached is not None and cached[0] is document:
        return cached[1]
    entry = _entry(contract, document)
    _ENTRIES[key] = (document, entry)
    return entry


def _entry(contract: ContractFile, document: dict[str, Any]) -> DocsEntry:
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    assert isinstance(info, dict)
    raw_lifecycle = info.get("x-strata-lifecycle")
    lifecycle = {"state": "active"}
    if isinstance(raw_lifecycle, dict):
        lifecycle |= {key: _text(value) for key, value in raw_lifecycle.items() if value is not None}
    title = str(info.get("title") or contract.api_id)
    return DocsEntry(
        contract=contract,
        title=title,
        owner=str(info.get("x-strata-owner") or ""),
        lifecycle=lifecycle,
        openapi_json=dump_json(document).encode(),
        openapi_yaml=yaml.dump(document, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True).encode(),
        page=_swagger_page(contract, title, lifecycle).encode(),
    )


_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _docs_path(contract: ContractFile) -> str:
    return f"{DOCS_PREFIX}/{contract.api_id}"


@cache
def _read_assets() -> dict[str, bytes]:
    return {name: (STATIC_DIR / relative).read_bytes() for name, (relative, _) in STATIC_ASSETS.items()}


def _head(title: str, *stylesheets: str) -> str:
    links = "".join(f'<link rel="stylesheet" href="{STATIC_PREFIX}/{name}">' for name in stylesheets)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>{links}"
        f'<link rel="icon" type="image/png" href="{STATIC_PREFIX}/favicon-32x32.png"></head>'
    )


def _lifecycle_text(lifecycle: dict[str, str]) -> str:
    state = lifecycle.get("state", "active")
    text = html.escape(state)
    if "sunset_at" in lifecycle:
        text += f", sunset {html.escape(lifecycle['sunset_at'])}"
    if "successor" in lifecycle:
        text += f", successor {html.escape(lifecycle['successor'])}"
    return f'<span class="state-{html.escape(state)}">{text}</span>'


def _index_page(entries: list[DocsEntry], event_versions: list[str]) -> str:
    rows = "".join(
        "<tr>"
        f'<td><a href="{html.escape(entry.docs_path)}">{html.escape(entry.title)}</a></td>'
        f"<td><code>{html.escape(entry.contract.base_path)}</code></td>"
        f"<td>v{entry.contract.version}</td>"
        f"<td>{_lifecycle_text(entry.lifecycle)}</td>"
        f"<td>{html.escape(entry.owner)}</td>"
        f'<td><a href="{html.escape(entry.docs_path)}/openapi.yaml">YAML</a> · '
        f'<a href="{html.escape(entry.docs_path)}/openapi.json">JSON</a></td>'
        "</tr>"
        for entry in entries
    )
    events = " · ".join(
        f'<a href="{html.escape(_events_path(version))}">{html.escape(version)} (AsyncAPI YAML)</a>'
        for version in event_versions
    )
    body = (
        '<body><header class="strata-bar">Strata API catalogue</header><main>'
        "<table><thead><tr><th>API</th><th>Base path</th><th>Version</th><th>Lifecycle</th>"
        f"<th>Owner</th><th>Contract</th></tr></thead><tbody>{rows}</tbody></table>"
        + (f"<p>Business events: {events}</p>" if events else "")
        + "</main></body></html>"
    )
    return _head("Strata API catalogue", "strata-docs.css") + body


def _swagger_page(contract: ContractFile, api_title: str, lifecycle: dict[str, str]) -> str:
    spec_url = html.escape(f"{_docs_path(contract)}/openapi.json")
    title = f"{api_title} v{contract.version}"
    return (
        _head(f"{title} · Strata API docs", "swagger-ui.css", "strata-docs.css")
        + f'<body><header class="strata-bar"><a href="{DOCS_PREFIX}">All APIs</a> · {html.escape(title)} · '
        f"{_lifecycle_text(lifecycle)}</header>"
        f'<div id="swagger-ui" data-spec-url="{spec_url}"></div>'
        f'<script src="{STATIC_PREFIX}/swagger-ui-bundle.js"></script>'
        f'<script src="{STATIC_PREFIX}/strata-docs.js"></script>'
        "</body></html>"
    )


def _catalogue(request: Request[Any, Any, Any]) -> DocsCatalogue:
    state = request.app.state
    catalogue = getattr(state, "docs", None)
    if not isinstance(catalogue, DocsCatalogue):
        catalogue = build_docs_catalogue(Path(state.contracts_dir))
        state.docs = catalogue
    return catalogue


def _not_found(request: Request[Any, Any, Any], catalogue: DocsCatalogue, detail: str) -> Response[bytes]:
    body = problem_body(
        status=404,
        problem="not-found",
        title="Not found",
        detail=detail,
        instance=request.url.path,
        base_uri=catalogue.problem_base_uri,
    )
    return Response(body, status_code=404, media_type=PROBLEM_MEDIA_TYPE)


def _lookup(catalogue: DocsCatalogue, layer: str, api: str, version: str) -> DocsEntry | None:
    return catalogue.entries.get(f"{layer}/{api}/{version}")


@get(DOCS_PREFIX, include_in_schema=False)
async def docs_index(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The catalogue of every API version (HTML, or JSON on ``Accept: application/json``)."""
    catalogue = _catalogue(request)
    wanted = request.accept.best_match(["text/html", "application/json"], default="text/html")
    if wanted == "application/json":
        return Response(catalogue.index_json, media_type="application/json", headers={"Vary": "Accept"})
    return Response(catalogue.index_html, media_type=HTML_MEDIA_TYPE, headers={"Vary": "Accept"})


def _entry_response(
    request: Request[Any, Any, Any],
    layer: str,
    api: str,
    version: str,
    content_of: Callable[[Any], tuple[bytes, str]],
) -> Response[bytes]:
    """One documented API version's page or contract, or a 404 problem."""
    catalogue = _catalogue(request)
    entry = _lookup(catalogue, layer, api, version)
    if entry is None:
        return _not_found(request, catalogue, f"no API {bound_pointer(f'{layer}/{api}/{version}')} is documented here")
    content, media_type = content_of(entry)
    return Response(content, media_type=media_type)


@get(f"{DOCS_PREFIX}/{{layer:str}}/{{api:str}}/{{version:str}}", include_in_schema=False)
async def docs_api_page(
    request: Request[Any, Any, Any], layer: FromPath[str], api: FromPath[str], version: FromPath[str]
) -> Response[bytes]:
    """Swagger UI for one API version."""
    return _entry_response(request, layer, api, version, lambda entry: (entry.page, HTML_MEDIA_TYPE))


@get(f"{DOCS_PREFIX}/{{layer:str}}/{{api:str}}/{{version:str}}/openapi.yaml", include_in_schema=False)
async def docs_openapi_yaml(
    request: Request[Any, Any, Any], layer: FromPath[str], api: FromPath[str], version: FromPath[str]
) -> Response[bytes]:
    """The bundled contract as YAML."""
    return _entry_response(request, layer, api, version, lambda entry: (entry.openapi_yaml, YAML_MEDIA_TYPE))


@get(f"{DOCS_PREFIX}/{{layer:str}}/{{api:str}}/{{version:str}}/openapi.json", include_in_schema=False)
async def docs_openapi_json(
    request: Request[Any, Any, Any], layer: FromPath[str], api: FromPath[str], version: FromPath[str]
) -> Response[bytes]:
    """The bundled contract as JSON."""
    return _entry_response(request, layer, api, version, lambda entry: (entry.openapi_json, "application/json"))


@get(f"{DOCS_PREFIX}/{EVENTS_DIR}/{{version:str}}/asyncapi.yaml", include_in_schema=False)
async def docs_events_yaml(request: Request[Any, Any, Any], version: FromPath[str]) -> Response[bytes]:
    """The bundled AsyncAPI document of the business events, as YAML."""
    catalogue = _catalogue(request)
    document = catalogue.events.get(version)
    if document is None:
        return _not_found(request, catalogue, f"no event contract {shorten(version)} is documented here")
    return Response(document, media_type=YAML_MEDIA_TYPE)


@get(f"{STATIC_PREFIX}/{{name:str}}", include_in_schema=False)
async def docs_static(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    """One of the allow-listed UI assets (never a path on disk chosen by the client)."""
    catalogue = _catalogue(request)
    if name not in catalogue.assets:
        return _not_found(request, catalogue, f"no docs asset {shorten(name)!r}")
    headers = {"Cache-Control": STATIC_CACHE_CONTROL}
    return Response(catalogue.assets[name], media_type=STATIC_ASSETS[name][1], headers=headers)


docs_route_handlers: list[HTTPRouteHandler] = [
    docs_index,
    docs_api_page,
    docs_openapi_yaml,
    docs_openapi_json,
    docs_events_yaml,
    docs_static,
]
"""Register with ``Litestar(route_handlers=[..., *docs_route_handlers])``."""
