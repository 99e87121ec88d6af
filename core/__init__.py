"""The bottom layer: infrastructure every other package uses, importing nothing above it.

Database and migrations, Redis, settings, problems and the error tree, correlation ids,
tracing, logging, audit, idempotency storage, sealing, instants, outbound destinations and
the master key. ``policies``, ``apis`` and ``gateway`` import from here; this package imports
none of them (an import-linter contract in ``pyproject.toml`` holds it to that).
"""

# structlog hands every event to the standard library from the first import of ``core`` on,
# before any module of ours logs a line (handlers and levels: core.logging.configure_logging).
from core import logging as _logging  # noqa: F401
