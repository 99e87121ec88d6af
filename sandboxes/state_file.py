"""A sandbox's state, kept in one JSON file so a restart keeps the vendor's data.

:class:`JsonStateFile` owns what every sandbox store needs: the lock, atomic writes (a
temporary file renamed over the state file), :meth:`~JsonStateFile.batch` to write once
after a group of changes, and load-or-seed at construction. A store says what its state is
(:meth:`~JsonStateFile._state`), how to take it back (:meth:`~JsonStateFile._restore`)
and how to start afresh (:meth:`~JsonStateFile.reset`). With no state directory the store
lives in memory only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec


class JsonStateFile:
    """Base of a sandbox store persisted to ``<state_dir>/<file_name>``."""

    def __init__(self, state_dir: Path | None, file_name: str) -> None:
        self._path = state_dir / file_name if state_dir is not None else None
        self._lock = threading.RLock()
        self._batch_depth = 0

    def _load_or_reset(self) -> None:
        """Take the state file back if there is one, else start afresh (call at the end of ``__init__``)."""
        if self._path is not None and self._path.exists():
            self._restore(msgspec.json.decode(self._path.read_bytes()))
        else:
            self.reset()

    def reset(self) -> None:
        """Forget everything and seed again."""
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """What to write to the state file."""
        raise NotImplementedError

    def _restore(self, data: dict[str, Any]) -> None:
        """Take back what :meth:`_state` wrote."""
        raise NotImplementedError

    def save(self) -> None:
        """Write the state file atomically (no-op in memory, or inside :meth:`batch`)."""
        if self._path is None or self._batch_depth:
            return
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._path.with_suffix(".tmp")
            temporary.write_bytes(msgspec.json.encode(self._state()))
            os.replace(temporary, self._path)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes: the state file is written once, at the end."""
        with self._lock:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            self.save()
