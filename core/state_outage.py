"""Whether an error means the state database is out of reach for now (a restart, a failover, a cut).

Such errors are transient: a request gets 503 with ``Retry-After`` instead of a 500
(:mod:`gateway.exceptions`), and a workflow step retries them like a vendor's 503
(:func:`apis.process.engine.step`), instead of failing the transaction as a defect.
"""

from __future__ import annotations

_SQLITE_BUSY = ("database is locked", "unable to open database")


def is_state_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) means the state database is out of reach for now.

    A PostgreSQL restart, failover or network cut surfaces as asyncpg's connection errors, a bare
    ``ConnectionResetError`` from its connect, or SQLAlchemy's invalidated connections and pool
    time-outs; a SQLite file as "database is locked". Those are 503s with ``Retry-After`` (the
    request wrote nothing it can keep: each write is one transaction). Other database errors
    (a missing table, a constraint) stay 500s: retrying them does not help.
    """
    from sqlalchemy import exc as sa

    for _ in range(10):  # the chain of causes, bounded
        if exc is None:
            return False
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa.DisconnectionError | sa.TimeoutError):
            return True
        if isinstance(exc, sa.OperationalError) and any(text in str(exc.orig) for text in _SQLITE_BUSY):
            return True
        if isinstance(exc, sa.OperationalError) and type(exc.orig).__module__.startswith("psycopg"):
            return True  # the workflow engine's own connections (psycopg): refused, reset, shut down
        module = type(exc).__module__
        if module.startswith("asyncpg") and type(exc).__name__ in _ASYNCPG_UNAVAILABLE:
            return True
        if isinstance(exc, ConnectionError | TimeoutError) and _raised_in(exc, "asyncpg"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_ASYNCPG_UNAVAILABLE = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "PostgresConnectionError",
        "AdminShutdownError",
        "CrashShutdownError",
        "ServerShutdownError",
        "TooManyConnectionsError",
        "InterfaceError",
    }
)


def _raised_in(exc: BaseException, package: str) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if f"/{package}/" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False
