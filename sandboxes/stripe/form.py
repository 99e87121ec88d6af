"""Stripe's form dialect: ``application/x-www-form-urlencoded`` with bracket notation.

``items[0][price]=price_1&items[0][quantity]=2&metadata[k]=v&expand[]=latest_invoice`` decodes
to ``{"items": [{"price": "price_1", "quantity": "2"}], "metadata": {"k": "v"}, "expand":
["latest_invoice"]}``. Values stay strings (Stripe's coercion happens per parameter); a map
whose keys are all decimal indexes becomes a list in index order; an empty value
(``metadata[k]=``) is kept as ``""`` (Stripe's way to unset a field).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A key that is not valid bracket notation, or one used both as a value and a map."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def decode_form(text: str) -> dict[str, Any]:
    """Nested parameters from a form body or query string.

    Raises:
        FormError: a malformed key, or a key used both as a scalar and as a map.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise FormError(f"Invalid parameter name: {key}", key)
        parts = [match[1], *_PART.findall(match[2])]
        _assign(root, parts, value, key)
    result: dict[str, Any] = _listify(root)
    return result


def _assign(node: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":  # "expand[]": append
            part = str(len(node))
        if last:
            if isinstance(node.get(part), dict):
                raise FormError(f"Invalid parameter: {key} is both a value and a hash", key)
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FormError(f"Invalid parameter: {key} is both a value and a hash", key)
        node = child


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
