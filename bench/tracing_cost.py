"""In-process CPU per request of the whole governed pipeline, with tracing off and on.

The app is the real one (production factory, lifespan started, the bench tier's client and
token from ``bench/pipeline.py``'s preparation); each request is one raw ASGI call of
``GET /system/bench/v1/ping?echo=hello`` (middleware, every policy, handler, response
contract, audit + metrics), no server and no socket. Configurations, interleaved per round:

* ``ungoverned``: the same app with contracts not bound (the benchmark's baseline);
* ``governed, tracing off``: the default (``STRATA_OTLP_ENDPOINT`` empty);
* ``governed, tracing on (spans dropped)``: SDK provider, ``BatchSpanProcessor`` to an
  exporter that discards: the cost of making the spans;
* ``governed, tracing on (OTLP/HTTP)``: the real exporter posting to a local sink process,
  so protobuf encoding and the export thread are counted too (the sink's CPU is not);
* ``governed, tracing on, not sampled``: a parent-based sampler that samples nothing new
  (what ``OTEL_TRACES_SAMPLER=parentbased_traceidratio`` does to the requests it drops).

CPU time is ``time.process_time()`` (all threads of this process, so the export thread
counts). On a shared machine the minimum over rounds is the steadier figure; both the
median and the minimum are printed. Usage: ``uv run python bench/tracing_cost.py [--requests 3000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SINK = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _provider(kind: str, sink_url: str) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider, sampling
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    if kind == "unsampled":
        return TracerProvider(sampler=sampling.ParentBased(sampling.ALWAYS_OFF))
    provider = TracerProvider()
    if kind == "drop":
        provider.add_span_processor(BatchSpanProcessor(Drop()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink_url}/v1/traces")))
    return provider


async def _measure(app: Any, token: str, requests: int) -> float:
    """CPU µs per request over ``requests`` raw ASGI calls (the app's lifespan running)."""
    from bench.raw_asgi import PingCaller

    caller = PingCaller(token)
    await caller.call(app, 200)  # warm caches (token cache, compiled limits, memoised checks)
    return await caller.cpu_us_per_request(app, requests, time.process_time)


async def _run_config(prepared: dict[str, Any], governed: bool, provider: Any, requests: int) -> float:
    from bench.app import bench_ping
    from gateway.app import create_app

    kwargs = {"tracer_provider": provider} if provider is not None else {}
    app = create_app(prepared["settings"], extra_route_handlers=[bench_ping], governed=governed, **kwargs)
    async with app.litestar.lifespan():
        result = await _measure(app, prepared["token"], requests)
    if provider is not None:
        provider.shutdown()  # flush: exporting what is queued is part of the cost
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--off-only", action="store_true", help="tracing off only (e.g. on an older checkout)")
    args = parser.parse_args()
    from bench.pipeline import prepare

    sink = None
    if not args.off_only:
        sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None
        sink_url = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    configs: list[tuple[str, bool, str]] = [("ungoverned", False, ""), ("governed, tracing off", True, "")]
    if not args.off_only:
        configs += [
            ("governed, tracing on (spans dropped)", True, "drop"),
            ("governed, tracing on (OTLP/HTTP)", True, "otlp"),
            ("governed, tracing on, not sampled", True, "unsampled"),
        ]
    samples: dict[str, list[float]] = {name: [] for name, *_ in configs}
    try:
        with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
            prepared = prepare(Path(tmp))
            for round_number in range(args.rounds):
                for name, governed, kind in configs:
                    provider = _provider(kind, sink_url) if kind else None
                    value = asyncio.run(_run_config(prepared, governed, provider, args.requests))
                    samples[name].append(value)
                    print(f"round {round_number + 1} {name:40} {value:7.1f} µs/request", flush=True)
    finally:
        if sink is not None:
            sink.terminate()
    summary = {
        name: {"median": round(statistics.median(values), 1), "min": round(min(values), 1)}
        for name, values in samples.items()
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
