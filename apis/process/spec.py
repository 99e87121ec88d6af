"""What a process workflow is, for the workflow modules and the runtime.

Kept apart from :mod:`apis.process.registry` (the list of every workflow), so a workflow module
can declare its :class:`WorkflowSpec` without importing the list that imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple


class WorkflowSpec(NamedTuple):
    """One process workflow: how it runs, which system each step talks to, how an operator's
    corrected input is checked and how what it did is undone."""

    name: str
    """Workflow name, also the ``workflow`` of its transactions (``quote-to-cash``)."""
    run: Callable[[str, str], Awaitable[Any]]
    """The workflow function: ``run(transaction_id, business_key)``."""
    step_systems: Callable[[str], dict[str, str | None]]
    """Step name → the system it talks to, given the ERP's name."""
    check_overrides: Callable[[dict[str, Any]], dict[str, Any]]
    """Checks corrected input for a replay; raises InvalidInput naming the field."""
    compensate: Callable[[str, str], Awaitable[Any]] | None
    """Workflow undoing a transaction's writes: ``compensate(compensation_id, transaction_id)``."""
