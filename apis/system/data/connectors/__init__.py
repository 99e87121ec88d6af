"""Connectors of the data platform: one interface, two stores (local directory, S3).

Both write whole objects under deterministic keys, so writing the same key again replaces
the object: a retried batch overwrites itself instead of adding a second copy.
"""

from __future__ import annotations

from typing import Protocol


class LakeWriter(Protocol):
    """Where the lake's objects are written."""

    @property
    def root(self) -> str:
        """Human-readable location of the lake root (``s3://bucket/prefix`` or a directory)."""

    async def put(self, key: str, body: bytes) -> None:
        """Write (or replace) the object ``key`` (relative to the root) with ``body``, atomically."""

    async def aclose(self) -> None:
        """Release threads and clients."""
