"""The process layer never reaches up into the experience layer.

What experience APIs contribute to the process runtime (outbox subscribers, background jobs)
is handed over by the composition root. Every import counts: inside functions and under
``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PROCESS = Path(__file__).resolve().parents[3] / "apis" / "process"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_process_module_imports_an_experience_module() -> None:
    upward = {
        f"{path.relative_to(PROCESS.parents[1])} → {module}"
        for path in sorted(PROCESS.rglob("*.py"))
        for module in _imported_modules(path)
        if module == "apis.experience" or module.startswith("apis.experience.")
    }
    assert upward == set()
