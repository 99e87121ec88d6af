"""Per-route request counters and latency histograms, cheap enough for every request.

``prometheus_client``'s ``Counter.labels(...).inc()`` and ``Histogram.observe()`` take a
lock per value and walk the buckets in Python: ~5 µs per request for one counter and one
histogram on these machines, a sizeable share of the whole pipeline. Here each route keeps
plain integers and floats (the event loop is single-threaded, so no lock is needed) and a
custom collector turns them into the same Prometheus families at scrape time, which is
when the cost belongs.

Exposed families (unchanged names):

* ``strata_requests_total{api, version, route, method, status}``
* ``strata_request_duration_seconds{api, version, route}`` (histogram)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import REGISTRY, CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from policies.routes import CompiledRoute

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _RouteSeries:
    """Counts by status and a latency histogram of one route."""

    __slots__ = ("buckets", "by_status", "labels", "method", "total_seconds")

    def __init__(self, route: CompiledRoute) -> None:
        api = route.api
        self.labels = (api.name, f"v{api.version}", route.path_template)
        self.method = route.method
        self.by_status: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total_seconds = 0.0


class RequestMetrics(Collector):
    """Lock-free request metrics for one process, registered as a Prometheus collector."""

    def __init__(self) -> None:
        self._series: dict[int, _RouteSeries] = {}

    def record(self, route: CompiledRoute, status: int, seconds: float) -> None:
        """Count one request of ``route`` answered with ``status`` after ``seconds``."""
        series = self._series.get(id(route))
        if series is None:
            series = self._series[id(route)] = _RouteSeries(route)
        series.by_status[status] = series.by_status.get(status, 0) + 1
        series.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.total_seconds += seconds

    def snapshot(self) -> list[list[Any]]:
        """This process's series as plain data: ``[labels, method, {status: count}, buckets, seconds]``.

        What a worker writes for the others to sum (see :mod:`gateway.metrics`).
        """
        return [
            [
                list(series.labels),
                series.method,
                {str(k): v for k, v in series.by_status.items()},
                list(series.buckets),
                series.total_seconds,
            ]
            for series in list(self._series.values())
        ]

    def collect(self) -> Iterator[Any]:
        """The two families, built at scrape time."""
        return families([self.snapshot()])

    def describe(self) -> Iterator[Any]:
        """No description ahead of time: the families are built when collected."""
        return iter(())


def families(snapshots: list[list[list[Any]]]) -> Iterator[Any]:
    """``strata_requests_total`` and ``strata_request_duration_seconds`` summed over snapshots.

    Several apps in one process (tests), or several worker processes, may each have a route
    with the same labels: their series are summed, so no label set appears twice.
    """
    requests = CounterMetricFamily(
        "strata_requests", "Governed requests", labels=["api", "version", "route", "method", "status"]
    )
    latency = HistogramMetricFamily(
        "strata_request_duration_seconds",
        "Time from the first policy to the last byte handed to the server",
        labels=["api", "version", "route"],
    )
    counts: dict[tuple[str, ...], int] = {}
    by_labels: dict[tuple[str, ...], tuple[list[int], float]] = {}
    for snapshot in snapshots:
        for labels, method, by_status, series_buckets, seconds in snapshot:
            key_labels = tuple(labels)
            for status, count in by_status.items():
                key = (*key_labels, method, str(status))
                counts[key] = counts.get(key, 0) + int(count)
            buckets, total = by_labels.get(key_labels, ([0] * len(series_buckets), 0.0))
            merged = [a + b for a, b in zip(buckets, series_buckets, strict=True)]
            by_labels[key_labels] = (merged, total + float(seconds))
    for labels_and_status, total_count in counts.items():
        requests.add_metric(list(labels_and_status), total_count)
    for labels, (buckets, total) in by_labels.items():
        cumulative, running = [], 0
        for bound, in_bucket in zip([*map(str, LATENCY_BUCKETS), "+Inf"], buckets, strict=True):
            running += in_bucket
            cumulative.append((bound, running))
        latency.add_metric(list(labels), cumulative, total)
    yield requests
    yield latency


REQUEST_METRICS = RequestMetrics()
REGISTRY.register(REQUEST_METRICS)
