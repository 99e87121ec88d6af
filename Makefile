# Strata: the two commands a newcomer needs are `make run` and `make test`.
UV_VERSION := 0.13.8
PYTHON ?= python3
# uv is installed with pip into the machine's Python when missing, and run as a module so
# no PATH change is needed.
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.PHONY: install browser promtool alert-rules run test lint types unit contract-test bench-tools bench bench-latency bench-memory bench-instructions soak image clean

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

# The console's browser tests drive Debian's Chromium through Playwright (`playwright install`
# cannot download browsers here). Installed when missing and this user may (root with apt);
# otherwise those tests skip with the reason printed (and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "make: installing Debian's chromium for the browser tests"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || \
			echo "make: could not install chromium: the browser tests will skip"; \
		else echo "make: chromium is not installed (needs root and apt-get): the browser tests will skip"; fi; }

# The Prometheus alerting rules (deploy/prometheus) are unit-tested with promtool, taken out of
# Debian's `prometheus` package (downloaded, unpacked, nothing installed or started) into
# .tools/, which git ignores; a promtool on PATH is used as it is. When it cannot be had, the
# rule tests skip with the reason printed (and fail under CI=true).
TOOLS := .tools
PROMTOOL := $(shell command -v promtool 2>/dev/null || echo $(TOOLS)/promtool)
promtool:
	@[ -x "$(PROMTOOL)" ] || { \
		work=$$(mktemp -d) && \
		( cd "$$work" && apt-get download -q prometheus >/dev/null 2>&1 && dpkg -x prometheus_*.deb unpacked ) && \
		mkdir -p $(TOOLS) && cp "$$work/unpacked/usr/bin/promtool" $(TOOLS)/promtool && \
		echo "make: promtool taken from Debian's prometheus package into $(TOOLS)/"; \
		rm -rf "$$work"; \
		[ -x "$(PROMTOOL)" ] || echo "make: could not download Debian's prometheus package (apt-get download): the alerting rule tests will skip"; }

alert-rules: promtool
	@if [ -x "$(PROMTOOL)" ]; then \
		$(PROMTOOL) check rules deploy/prometheus/strata-alerts.yml && \
		$(PROMTOOL) test rules deploy/prometheus/tests.yml; \
	elif [ "$$CI" = true ]; then echo "make: promtool is missing (CI=true: failing)"; exit 1; \
	else echo "make: promtool is missing: alerting rule tests skipped"; fi

run: install
	$(RUN) strata serve

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) strata contracts lint
	$(RUN) lint-imports --no-cache

types: install
	$(RUN) mypy

# The suite runs on 3 pytest-xdist workers on the 2-core CI machine: many tests wait on gateway
# and vendor subprocesses, so a third worker fills the cores (2026-12-07, same code, quiet
# machine: 2 workers 916-941 s, 3 workers 830 s; PYTEST_WORKERS=0: one process, no xdist).
# --dist worksteal hands each worker its share of the tests in collection order (a module's tests
# mostly stay together, so its module-scoped fixtures start once) and lets an idle worker take
# over another's remaining tests. Not loadscope/loadfile/loadgroup: they track tests by node id,
# and schemathesis gives every operation of one contract the same node id, so all but one would
# silently not run.
# Byte code is written (the machine's environment may say PYTHONDONTWRITEBYTECODE=1): without
# it every worker and every gateway subprocess a test starts compiles its imports from source.
# --durations: every run names its slowest tests, to keep the suite inside its 15-minute budget.
PYTEST_WORKERS ?= 3
unit: install browser
	PYTHONDONTWRITEBYTECODE= $(RUN) pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=20

test: lint types alert-rules unit

# The production image (Dockerfile), built with podman from a Debian base made by mmdebstrap (no
# registry is reachable here) and smoke-tested. Not part of `make test`: the Dockerfile's lint and
# its install step (deploy/install.sh) are.
image:
	sh deploy/build-image.sh

# Schemathesis against a live server, e.g. make contract-test URL=http://127.0.0.1:8080
# (TOKEN=... for the bearer token; API=system/crm/v1 to choose the contract; EXAMPLES=...).
# positive_data_acceptance is left out: it calls every semantic refusal of a schema-valid
# request a failure (a cursor we never issued, a vendor business rule), which is correct
# behaviour for a gateway.
API ?= system/crm/v1
EXAMPLES ?= 50
CHECKS ?= all
EXCLUDED_CHECKS ?= positive_data_acceptance
contract-test: install
	@test -n "$(URL)" || (echo "usage: make contract-test URL=http://127.0.0.1:8080 [TOKEN=...] [API=system/crm/v1]" && exit 2)
	$(RUN) schemathesis run "$(URL)/docs/$(API)/openapi.json" --url "$(URL)/$(API)" \
		$(if $(TOKEN),-H "Authorization: Bearer $(TOKEN)") --checks $(CHECKS) --exclude-checks $(EXCLUDED_CHECKS) \
		--max-examples $(EXAMPLES)

# The load generator (wrk) and the instruction counter (valgrind) of the benchmarks, from Debian's
# packages, installed when missing and this user may (root with apt).
bench-tools:
	@for tool in wrk valgrind; do command -v $$tool >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "make: installing Debian's $$tool for the benchmarks"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$tool >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$tool >/dev/null 2>&1; } || \
			{ echo "make: could not install $$tool"; exit 1; }; \
		else echo "make: $$tool is missing (Debian package $$tool)"; exit 1; fi; }; done

# The pipeline's HTTP lines (bare Litestar, pipeline off, governed, token churn, Redis, CRM), the
# per-policy CPU and the 2 KB request validation (P3); results in bench/results/, see bench/README.md.
# Then the in-process CPU per request of bare Litestar, pipeline off, governed (memory) and governed
# (Redis), one request at a time and 64 at once: the figures that hold on a busy machine.
bench: install bench-tools
	$(RUN) python bench/pipeline.py
	$(RUN) python bench/request_cpu.py
	$(RUN) python bench/request_cpu.py --concurrency 64

# Instructions per request of the same four lines under valgrind's callgrind (load-independent; ~10 min),
# then of the edge alone around a trivial ASGI app.
bench-instructions: install bench-tools
	$(RUN) python bench/request_cpu.py --instructions --requests 200
	$(RUN) python bench/edge_instructions.py

# Ten minutes of the fault suite's steady load on two gateways (private PostgreSQL and Redis), each
# gateway's resident memory sampled every 10 s; flat after warm-up is the target (bench/README.md).
soak: install
	$(RUN) python bench/soak.py

# Governed p99 next to pipeline-off p99 at the same offered rates (paced wrk; ~6 min; a quiet machine).
bench-latency: install bench-tools
	$(RUN) python bench/latency.py

# One governed worker's resident memory: idle, after 10,000 and after 1,000,000 requests (~5-10 min).
bench-memory: install bench-tools
	$(RUN) python bench/pipeline.py --memory

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
