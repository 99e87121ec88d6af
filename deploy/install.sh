#!/bin/sh
# Install Strata from a source tree into a virtual environment: the locked runtime
# dependencies (uv.lock, no dev group), then the wheel built from the tree, never the tree itself.
#
#   deploy/install.sh <source-dir> <prefix>
#
# The Dockerfile's build stage runs exactly this; tests/integration/test_installed_wheel.py runs it
# into a temporary directory with UV_OFFLINE=1 (uv's cache, as `make install` left it).
# Environment: UV (the uv command, default `uv`), PYTHON (the interpreter the environment is
# made from, default `python3`); every other UV_* variable reaches uv.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 <source-dir> <prefix>" >&2
    exit 2
fi
source_dir=$(cd "$1" && pwd)
prefix=$2
uv=${UV:-uv}
python=${PYTHON:-python3}
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT

cd "$source_dir"
# Runtime dependencies exactly as locked; the project itself comes as a wheel below.
UV_PROJECT_ENVIRONMENT=$prefix VIRTUAL_ENV= $uv sync --frozen --no-dev --no-install-project --python "$python" --quiet
$uv build --wheel --out-dir "$wheels" --quiet
$uv pip install --no-deps --python "$prefix/bin/python" --quiet "$wheels"/strata-*.whl
"$prefix/bin/strata" --help >/dev/null
echo "strata installed into $prefix"
