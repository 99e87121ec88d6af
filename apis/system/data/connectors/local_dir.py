"""The embedded default lake: the same layout as S3, as files under a local directory.

Each object is written to a temporary file in its target directory and renamed over the
target (``os.replace``, atomic on POSIX), so a reader never sees half an object and a
retried batch replaces its files whole.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from core.errors import UpstreamUnavailable


class LocalDirConnector:
    """A lake rooted at ``root`` on the local file system."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    @property
    def root(self) -> str:
        """The lake directory."""
        return str(self._root)

    async def put(self, key: str, body: bytes) -> None:
        """Write ``<root>/<key>`` atomically (temporary file + rename), in a worker thread."""
        target = (self._root / key).resolve()
        if not target.is_relative_to(self._root):
            raise ValueError(f"object key escapes the lake root: {key!r}")
        try:
            await asyncio.to_thread(_write_atomically, target, body)
        except OSError as error:
            raise UpstreamUnavailable(f"Local lake not writable: {type(error).__name__}") from None

    async def aclose(self) -> None:
        """Nothing to release."""


def _write_atomically(target: Path, body: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
