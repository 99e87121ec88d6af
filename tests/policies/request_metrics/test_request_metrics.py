"""Request metrics: counted without locks, exposed in Prometheus format at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from policies.request_metrics import RequestMetrics
from policies.routes import ApiVersion, CompiledRoute


def _route(template: str) -> CompiledRoute:
    api = ApiVersion(layer="system", name="crm", version=1, base_path="/system/crm/v1")
    return CompiledRoute(api=api, operation_id="op", method="GET", path_template=template, security=())


def test_counts_and_histogram_in_exposition_format() -> None:
    metrics = RequestMetrics()
    registry = CollectorRegistry()
    registry.register(metrics)
    route = _route("/system/crm/v1/accounts")
    for seconds in (0.0004, 0.002, 0.002, 3.0):
        metrics.record(route, 200, seconds)
    metrics.record(route, 429, 0.0001)
    text = generate_latest(registry).decode()
    route_labels = 'route="/system/crm/v1/accounts",version="v1"'
    counter = 'strata_requests_total{api="crm",method="GET",route="/system/crm/v1/accounts",status="200",version="v1"}'
    assert f"{counter} 4.0" in text
    assert f'strata_request_duration_seconds_bucket{{api="crm",le="0.0005",{route_labels}}} 2.0' in text
    assert f'strata_request_duration_seconds_bucket{{api="crm",le="0.0025",{route_labels}}} 4.0' in text
    assert f'strata_request_duration_seconds_bucket{{api="crm",le="+Inf",{route_labels}}} 5.0' in text
    assert f'strata_request_duration_seconds_count{{api="crm",{route_labels}}} 5.0' in text


def test_two_routes_with_the_same_labels_are_summed() -> None:
    metrics = RequestMetrics()
    registry = CollectorRegistry()
    registry.register(metrics)
    metrics.record(_route("/system/crm/v1/accounts"), 200, 0.001)
    metrics.record(_route("/system/crm/v1/accounts"), 200, 0.001)
    text = generate_latest(registry).decode()
    assert text.count("strata_requests_total{") == 1
    assert 'status="200",version="v1"} 2.0' in text
