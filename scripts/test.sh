#!/usr/bin/env bash
# The test command from the README: installs what the tests need on a fresh
# machine (a Python virtualenv with rotel, the OpenTelemetry Python SDK and the
# W3C suite's aiohttp), then runs every test in the workspace and the official
# W3C Trace Context suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

# Integration tests find the Python interpreter (with the OpenTelemetry SDK)
# and rotel's collector binary, which the wheel ships inside the package.
export PATH="$PWD/.venv/bin:$PATH"
export NAIS_OTEL_PYTHON="$PWD/.venv/bin/python"
ROTEL_AGENT="$("$NAIS_OTEL_PYTHON" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')"
export ROTEL_AGENT

# Benches are built (not run) by .ci/run; `cargo bench` runs them.
cargo test --workspace --lib --bins --tests --examples --locked "$@"
cargo test --workspace --doc --locked
# The feature-gated integrations (reqwest) with their own tests.
cargo test -p nais-otel-tower --all-features --locked
# The official W3C Trace Context suite, unchanged, against a service built with the layers.
W3C_PYTHON="$NAIS_OTEL_PYTHON" bash scripts/w3c-suite.sh
