"""The canonical objects, one module per domain, still answer to their pre-split module path.

Workflows recorded before ``apis/canonical.py`` became a package pickled their step results as
``apis.canonical.<Class>``; every class must stay importable under that name, and be the very
class the domain module defines (``tests/apis/process/engine/test_recorded_recovery.py`` recovers such
a workflow end to end).
"""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
from pathlib import Path
from types import ModuleType

import msgspec

import apis.canonical
from apis.canonical import Money
from apis.canonical.crm import Customer


def _domain_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"apis.canonical.{info.name}") for info in pkgutil.iter_modules(apis.canonical.__path__)
    ]


def test_every_struct_of_every_domain_module_unpickles_by_its_old_path() -> None:
    structs = {
        name: value
        for module in _domain_modules()
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, msgspec.Struct) and value.__module__ == module.__name__
    }
    # SalesOrderCancel (issue 19) is the 86th; RecognizedRevenue and its month (deferred revenue),
    # SubscriptionSchedule and SchedulePhase (subscription changes).
    assert len(structs) == 90
    for name, cls in structs.items():
        # A pickle naming the class the way a pickle written before the split did.
        assert pickle.loads(f"capis.canonical\n{name}\n.".encode()) is cls, name


def test_an_object_pickled_under_the_old_path_loads_with_its_values() -> None:
    money = Money(amount="12.50", currency="EUR")
    new_path = pickle.dumps(money, protocol=2)
    assert b"capis.canonical.common\nMoney\n" in new_path
    old_path = new_path.replace(b"capis.canonical.common\n", b"capis.canonical\n")
    assert pickle.loads(old_path) == money


def _defined_names(module: ModuleType) -> set[str]:
    """Classes, type aliases and constants a module defines at its top level."""
    assert module.__file__ is not None
    names: set[str] = set()
    for node in ast.parse(Path(module.__file__).read_text()).body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return {name for name in names if not name.startswith("_") and name != "T"}


def test_every_public_name_is_re_exported() -> None:
    for module in _domain_modules():
        for name in _defined_names(module):
            assert name in apis.canonical.__all__, f"{module.__name__}.{name}"
            assert getattr(apis.canonical, name) is getattr(module, name)
    assert Customer is apis.canonical.Customer
