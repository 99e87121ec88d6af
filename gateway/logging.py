"""Log configuration: one JSON object per line, through structlog and the standard library.

Both structlog loggers and ``logging`` loggers end up in the same JSON renderer, so every
line is machine-readable. Client libraries that log whole URLs at INFO (httpx logs every
vendor request line, query string included, which may carry PII or SOQL) are raised to
WARNING. Nothing here ever logs a body, a token or a secret.
"""

from __future__ import annotations

import logging
import sys

import structlog
import structlog.types

NOISY_LIBRARIES = ("httpx", "httpcore", "hpack", "aiosqlite", "asyncio")
_configured = False


def configure_logging(level: str) -> None:
    """Configure structlog and the root logger once per process."""
    global _configured
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not _configured:
        structlog.configure(
            processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
            )
        )
        root = logging.getLogger()
        root.handlers[:] = [handler]
        _configured = True
    logging.getLogger().setLevel(numeric)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
