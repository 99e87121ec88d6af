"""Bounds on caller input quoted back in problems, so an answer is never larger than a few KB.

A problem names what was wrong, and messages from jsonschema-rs, msgspec, Litestar and our own
code quote the offending value: a 1 MB field would otherwise come back as a 1 MB ``detail``
(twice, with ``instance`` and ``errors``). Two layers keep every answer small:

* **Value level** (:func:`shorten`): where a value is formatted into a message — by our own
  code, or by a library whose error hands us the value (jsonschema-rs ``instance``) — at most
  :data:`MAX_ECHO_CHARS` characters of it are kept, followed by
  ``…(truncated, <length> characters)``.
* **Message level** (:func:`bound_message`), applied by :func:`core.problems.problem_body`
  to every problem: a quoted run (``'…'``, ``"…"``, ```…```) longer than
  :data:`MAX_ECHO_CHARS` is shortened like a value (msgspec's ``Invalid enum value '…'``,
  ``Object contains unknown field `…```), then a message still over
  :data:`MAX_DETAIL_CHARS` keeps its head and its tail (where the reason usually is) around
  the marker. Names and JSON Pointers (:func:`bound_name`, :func:`bound_pointer`) keep every
  segment the contract gave them exactly; only a caller-chosen segment (an unknown query
  parameter, an object key) is shortened.

Nothing here is needed for correctness of a normal answer: messages built from contracts
and values of a sensible size are left alone (the longest enum list in the contracts renders
in under 200 characters).
"""

from __future__ import annotations

import re

MAX_ECHO_CHARS = 128
"""Characters of one caller-supplied value kept in a message."""
MAX_DETAIL_CHARS = 512
"""Longest ``detail`` (or pointer, or instance) after the value-level cuts: the backstop."""
DETAIL_TAIL_CHARS = 96
"""Characters kept from the end of a message cut by the backstop (the reason, the path)."""

MAX_QUOTES = 256
"""Quote characters beyond which a message is only cut, not searched for quoted runs: pairing
thousands of quotes costs milliseconds, and no message built from a contract has that many."""

# A quoted run, left to right: double quotes with JSON-style escapes, single quotes, backticks.
_QUOTED = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|\'[^\'\n]*\'|`[^`\n]*`')


_MARKER_START = "…(truncated, "
_MARKER = re.compile(r"…\(truncated, [0-9]+ characters\)")


def marker(length: int) -> str:
    """What replaces the cut part of a value or message of ``length`` characters."""
    return f"{_MARKER_START}{length} characters)"


def shorten(value: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` itself, or its first ``limit`` characters and the truncation marker.

    A value shortened already (by the code that formatted it) is kept as it is, so the
    marker keeps saying how long the caller's value was.
    """
    if len(value) <= limit:
        return value
    start = value.rfind(_MARKER_START)
    if 0 <= start <= limit and _MARKER.fullmatch(value, start):
        return value
    return value[:limit] + marker(len(value))


def _shorten_quoted(found: re.Match[str]) -> str:
    run = found[0]
    if len(run) - 2 <= MAX_ECHO_CHARS:
        return run
    return run[0] + shorten(run[1:-1]) + run[-1]


def _cut(text: str, length: int, limit: int) -> str:
    """``text`` kept to ``limit`` characters: its head, the marker (of ``length``), its tail."""
    if len(text) <= limit:
        return text
    cut = marker(length) + "…"
    head = limit - DETAIL_TAIL_CHARS - len(cut)
    return text[:head] + cut + text[-DETAIL_TAIL_CHARS:]


def bound_message(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` with long quoted runs shortened, then cut to ``limit`` characters if still longer."""
    if len(text) <= MAX_ECHO_CHARS:
        return text
    quotes = text.count('"') + text.count("'") + text.count("`")
    shortened = _QUOTED.sub(_shorten_quoted, text) if quotes <= MAX_QUOTES else text
    return _cut(shortened, len(text), limit)


def bound_name(name: str) -> str:
    """A parameter or header name: a contract's is short and kept; a caller's may be shortened."""
    return shorten(name)


def bound_pointer(pointer: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """A JSON Pointer or a request path: each segment shortened on its own, the whole then bounded.

    The contract's segments (property names, path literals) are short and stay exact; only a
    caller's object key or path parameter of more than :data:`MAX_ECHO_CHARS` is cut.
    """
    if len(pointer) <= MAX_ECHO_CHARS:
        return pointer
    return _cut("/".join(shorten(segment) for segment in pointer.split("/")), len(pointer), limit)
