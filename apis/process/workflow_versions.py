"""Which workflows a release can run: the workflow version, not the release version.

The workflow engine labels every workflow with the application version of the process that
started it, and a process recovers and dequeues only workflows of its own version: DBOS's
recovery (at launch, and :meth:`~apis.process.engine.WorkflowEngine.recover_executor`) and its
queue (``start_queued_workflows``) both filter on it. A workflow's recorded steps are replayed
by position, so the version must say what the recorded steps mean — the step sequence of every
workflow — and nothing else. Labelled with the release (the package version), every release
would strand the previous release's pending workflows: after a rolling restart nobody would
finish them.

So the engine's application version is :data:`WORKFLOW_VERSION`, a constant bumped only when a
workflow's step sequence changes incompatibly (a step added, removed, renamed or moved before
others, a step's result read differently), and a release names in
:data:`COMPATIBLE_WORKFLOW_VERSIONS` the earlier labels whose pending workflows it can finish:
at launch, and before taking over a dead process's workflows, it relabels those as its own
(see :meth:`~apis.process.engine.WorkflowEngine.adopt_compatible`). Pending workflows of any
other version wait in the engine's queue for a process of their version (the README's
"Upgrading" says how to drain them).
"""

from __future__ import annotations

WORKFLOW_VERSION = "workflows-1"
"""The engine's application version: bump (``workflows-2``, ...) when a workflow's recorded steps
would no longer replay, and say in the release notes that the previous version must drain."""

COMPATIBLE_WORKFLOW_VERSIONS: frozenset[str] = frozenset({"0.1.0"})
"""Earlier labels whose pending workflows this release finishes as its own. ``0.1.0``: releases
before the workflow version labelled workflows with the package version; their step sequences
are those of ``workflows-1``. After an incompatible bump this is emptied (the old version drains
on processes of its own release)."""
