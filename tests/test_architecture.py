"""The import graph between the top-level areas has no cycle, lazy and TYPE_CHECKING imports counted.

import-linter (``make lint``) holds each layer to the ones below it; this check reads the same
graph (grimp) and asks the plainer question the layering exists to answer: for any two areas,
can each reach the other through imports? If so, they are one layer in two folders.
"""

from __future__ import annotations

import itertools

import grimp
import pytest

AREAS = (
    "core",
    "policies",
    "apis.canonical",
    "apis.system",
    "apis.process",
    "apis.experience",
    "gateway",
    "sandboxes",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "core", "policies", "apis", "gateway", "sandboxes", include_external_packages=False, cache_dir=None
    )


def test_no_two_areas_import_each_other(graph: grimp.ImportGraph) -> None:
    both_ways = [
        (first, second)
        for first, second in itertools.combinations(AREAS, 2)
        if graph.chain_exists(first, second, as_packages=True) and graph.chain_exists(second, first, as_packages=True)
    ]
    assert both_ways == []


def test_the_graph_is_read_whole(graph: grimp.ImportGraph) -> None:
    # The check above can only fail if the graph holds the imports it should: lazy imports
    # inside functions included (the composition root imports every API's routes lazily).
    assert graph.direct_import_exists(importer="gateway.components", imported="apis.process.registry")
    assert graph.chain_exists("gateway", "apis.experience", as_packages=True)
