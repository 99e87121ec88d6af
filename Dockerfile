# Strata's production image: the wheel and its locked runtime dependencies in a virtual
# environment, run as a non-root user in production mode. Build:  make image
# (or: podman build -t strata . / docker build -t strata .).
# BASE_IMAGE: any Debian bookworm image with Python 3.11 and pip (`make image` builds one from
# Debian's packages with mmdebstrap where no registry is reachable).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.8
# uv from PyPI; --break-system-packages: a Debian-built base marks its Python as system-managed.
RUN python3 -m pip install --no-cache-dir --break-system-packages "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY deploy/install.sh deploy/install.sh
COPY core core
COPY gateway gateway
COPY policies policies
COPY apis apis
COPY sandboxes sandboxes
COPY contracts contracts
# The system CA store (a proxy the build host trusts is trusted too), not uv's bundled roots.
ENV UV="python3 -m uv" UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_SYSTEM_CERTS=1
RUN sh deploy/install.sh /src /opt/strata

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 strata \
    && useradd --system --uid 10001 --gid strata --home-dir /var/lib/strata --create-home --shell /usr/sbin/nologin strata
COPY --from=build /opt/strata /opt/strata
# Production by default: no sandbox, no demo seeding, no default secret (a start without the
# settings production needs is refused, naming each one). Migrations are `strata db upgrade`.
ENV PATH=/opt/strata/bin:$PATH \
    STRATA_MODE=production \
    STRATA_SEED_DEMO=false \
    STRATA_HOST=0.0.0.0 \
    STRATA_PORT=8080 \
    STRATA_STATE_DIR=/var/lib/strata \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/strata
EXPOSE 8080 9090
# Liveness only (readiness, which checks the database and Redis, is for the orchestrator).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('STRATA_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["strata"]
CMD ["serve"]
