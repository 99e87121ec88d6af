"""Contracts on disk: discovery, bundling of relative ``$ref``\\ s, dereferencing.

A contract is ``contracts/<layer>/<api>/v<N>.yaml``, one OpenAPI 3.1 document per API
major version. Shared schemas live in ``contracts/components/*.yaml`` and are referenced by
relative ``$ref`` (``'../../components/common.yaml#/components/schemas/Money'``).

* :func:`bundle` makes a self-contained document: every external target is copied into the
  document's own ``components`` and every ``$ref`` rewritten to a local one. That is what
  the docs pages and schemathesis receive.
* :func:`dereference` inlines every local ``$ref``; validators are compiled from that.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CONTRACT_NAME = re.compile(r"^v(?P<version>[1-9][0-9]*)\.yaml$")
LAYERS = ("system", "process", "experience", "gateway")


class ContractError(ValueError):
    """A contract cannot be loaded (unreadable YAML, dangling reference...)."""


@dataclass(frozen=True, slots=True)
class ContractFile:
    """Where a contract lives and which API version it describes."""

    path: Path
    layer: str
    name: str
    version: int

    @property
    def api_id(self) -> str:
        """``<layer>/<name>/v<N>``."""
        return f"{self.layer}/{self.name}/v{self.version}"

    @property
    def base_path(self) -> str:
        """``/<layer>/<name>/v<N>``, the path prefix every operation is served under.

        The gateway's own management API (``gateway/v<N>.yaml``) is served at ``/gateway/v<N>``.
        """
        if self.layer == "gateway" and self.name == "gateway":
            return f"/gateway/v{self.version}"
        return f"/{self.api_id}"


def discover(contracts_dir: Path) -> list[ContractFile]:
    """Every ``<layer>/<api>/v<N>.yaml`` under ``contracts_dir``, sorted by API id.

    The gateway's own management API is ``gateway/v<N>.yaml`` (layer and name ``gateway``).
    """
    found: list[ContractFile] = []
    for layer in LAYERS:
        layer_dir = contracts_dir / layer
        if not layer_dir.is_dir():
            continue
        for path in sorted(layer_dir.rglob("v*.yaml")):
            match = CONTRACT_NAME.match(path.name)
            if not match:
                continue
            relative = path.parent.relative_to(layer_dir)
            name = "gateway" if layer == "gateway" and not relative.parts else "/".join(relative.parts)
            if not name:
                continue
            found.append(ContractFile(path=path, layer=layer, name=name, version=int(match["version"])))
    return sorted(found, key=lambda contract: contract.api_id)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=256)
def _load_cached(path: str, mtime: float) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (libyaml's when present)
    except OSError as exc:
        raise ContractError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML ({exc})") from None


def load_yaml(path: Path) -> Any:
    """Parse a YAML file (cached while its modification time is unchanged); callers must not mutate."""
    resolved = path.resolve()
    try:
        mtime = resolved.stat().st_mtime
    except OSError as exc:
        raise ContractError(f"{path}: cannot read ({exc.strerror})") from None
    return _load_cached(str(resolved), mtime)


def _resolve_pointer(document: Any, pointer: str, where: str) -> Any:
    node = document
    if pointer in ("", "/"):
        return node
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise ContractError(f"{where}: $ref target #{pointer} does not exist")
    return node


class _Bundler:
    """Copies external ``$ref`` targets into the root document's components."""

    def __init__(self, root_path: Path, root: dict[str, Any]) -> None:
        self.root_path = root_path.resolve()
        self.root = root
        self.components: dict[str, dict[str, Any]] = root.setdefault("components", {})
        self.placed: dict[tuple[str, str], str] = {}
        self.files_read: set[Path] = {self.root_path}
        """Every file the bundle was made from (the root and each $ref target)."""

    def rewrite(self, node: Any, base: Path) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                rewritten = dict(node)
                rewritten["$ref"] = self._local_ref(ref, base)
                return rewritten
            return {key: self.rewrite(value, base) for key, value in node.items()}
        if isinstance(node, list):
            return [self.rewrite(item, base) for item in node]
        return node

    def _local_ref(self, ref: str, base: Path) -> str:
        file_part, _, pointer = ref.partition("#")
        target_file = (base.parent / file_part).resolve() if file_part else base
        if target_file == self.root_path:
            return f"#{pointer}"
        key = (str(target_file), pointer)
        if key in self.placed:
            return self.placed[key]
        parts = pointer.lstrip("/").split("/")
        if len(parts) != 3 or parts[0] != "components":
            raise ContractError(f"{base}: external $ref {ref!r} must point at /components/<kind>/<name>")
        kind, name = parts[1], parts[2]
        section = self.components.setdefault(kind, {})
        local_name = name if name not in section else f"{target_file.stem}_{name}"
        local = f"#/components/{kind}/{local_name}"
        self.placed[key] = local
        target_doc = load_yaml(target_file)
        self.files_read.add(target_file)
        target = _resolve_pointer(target_doc, pointer, str(target_file))
        section[local_name] = None  # reserve the name before recursing (self references)
        section[local_name] = self.rewrite(copy.deepcopy(target), target_file)
        return local


def bundle(path: Path) -> dict[str, Any]:
    """The contract at ``path`` as one self-contained OpenAPI document (a fresh dict)."""
    return copy.deepcopy(shared_bundle(path))


def shared_bundle(path: Path) -> dict[str, Any]:
    """:func:`bundle`'s result shared by every caller in this process: read-only.

    Bundled once and kept while none of the files it was made from has changed (checked by
    modification time on every call), so each app a process builds — a test suite builds
    hundreds — does not bundle and copy every contract again.
    """
    key = str(path.resolve())
    cached = _BUNDLES.get(key)
    if cached is not None and all(_mtime(file) == mtime for file, mtime in cached[0]):
        return cached[1]
    document, files = _bundle(path)
    _BUNDLES[key] = (tuple((file, _mtime(file)) for file in files), document)
    return document


def shared_dereferenced(path: Path) -> dict[str, Any]:
    """:func:`dereference` of :func:`shared_bundle`, shared the same way: read-only."""
    document = shared_bundle(path)
    key = str(path.resolve())
    cached = _DEREFERENCED.get(key)
    if cached is not None and cached[0] is document:
        return cached[1]
    result = dereference(document)
    _DEREFERENCED[key] = (document, result)
    return result


_BUNDLES: dict[str, tuple[tuple[tuple[Path, float | None], ...], dict[str, Any]]] = {}
_DEREFERENCED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _bundle(path: Path) -> tuple[dict[str, Any], set[Path]]:
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise ContractError(f"{path}: a contract must be a YAML mapping")
    root = copy.deepcopy(document)
    bundler = _Bundler(path, root)
    for key in list(root):
        if key != "components":
            root[key] = bundler.rewrite(root[key], bundler.root_path)
    own_components = root.get("components", {})
    for entries in list(own_components.values()):
        if isinstance(entries, dict):
            for name, value in list(entries.items()):
                entries[name] = bundler.rewrite(value, bundler.root_path)
    return root, bundler.files_read


def dereference(document: dict[str, Any], max_depth: int = 64) -> dict[str, Any]:
    """Inline every local ``$ref`` of a bundled document (our contracts have no cycles)."""

    def walk(node: Any, depth: int) -> Any:
        if depth > max_depth:
            raise ContractError("$ref nesting too deep (a reference cycle?)")
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target = walk(_resolve_pointer(document, ref[1:], "contract"), depth + 1)
                siblings = {key: walk(value, depth + 1) for key, value in node.items() if key != "$ref"}
                if siblings and isinstance(target, dict):
                    return {**target, **siblings}
                return target
            return {key: walk(value, depth) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, depth) for item in node]
        return node

    result = walk(document, 0)
    assert isinstance(result, dict)
    return result
