#!/usr/bin/env bash
# Runs the official W3C Trace Context test suite (../shared/w3c-trace-context, unchanged)
# at SPEC_LEVEL=2 STRICT_LEVEL=2 against examples/w3c-service, once per sampler given
# (default: NAIS's parentbased_always_on, then always_on). Fails unless every test passes.
#
#   bash scripts/w3c-suite.sh                      # both samplers
#   bash scripts/w3c-suite.sh always_off           # any OTEL_TRACES_SAMPLER value
#
# Needs a Python with aiohttp: scripts/test.sh installs it into .venv; set W3C_PYTHON to
# use another interpreter, and W3C_SUITE to use another copy of the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=${W3C_SUITE:-$root/../shared/w3c-trace-context}
python=${W3C_PYTHON:-$root/.venv/bin/python}
if [ ! -f "$suite/test.py" ]; then
  echo "w3c-suite: no test.py in $suite: set W3C_SUITE to the test/ folder of https://github.com/w3c/trace-context (commit acab820 or later)" >&2
  exit 1
fi
if ! "$python" -c 'import aiohttp' 2>/dev/null; then
  "$python" -m pip install --quiet --disable-pip-version-check -r "$suite/requirements.txt"
fi

cargo build --quiet --locked -p example-w3c-service
service=$root/target/debug/example-w3c-service
samplers=("$@")
[ ${#samplers[@]} -gt 0 ] || samplers=(parentbased_always_on always_on)

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for sampler in "${samplers[@]}"; do
  # The service prints "listening on <addr>" once it accepts connections.
  port=$(free_port)
  log=$work/service-$sampler.log
  OTEL_TRACES_SAMPLER=$sampler OTEL_TRACES_EXPORTER=none NAIS_OTEL_LOG_FORMAT=text \
    W3C_SERVICE_ADDR=127.0.0.1:$port "$service" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    grep -q '^listening on' "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.05
  done
  grep -q '^listening on' "$log" || { echo "w3c-suite: the service did not start" >&2; cat "$log" >&2; exit 1; }

  echo "== W3C Trace Context suite, SPEC_LEVEL=2 STRICT_LEVEL=2, OTEL_TRACES_SAMPLER=$sampler"
  # test.py imports its helpers from the working directory.
  status=0
  (cd "$suite" && SPEC_LEVEL=2 STRICT_LEVEL=2 HARNESS_PORT=$(free_port) PYTHONDONTWRITEBYTECODE=1 \
    timeout 300 "$python" test.py "http://127.0.0.1:$port/test") >"$work/suite.log" 2>&1 || status=$?
  tail -n 40 "$work/suite.log"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  ran=$(sed -n 's/^Ran \([0-9]*\) tests.*/\1/p' "$work/suite.log")
  if [ "$status" -ne 0 ] || [ "${ran:-0}" -ne 41 ] || ! grep -q '^OK' "$work/suite.log"; then
    echo "w3c-suite: FAILED with OTEL_TRACES_SAMPLER=$sampler (ran ${ran:-0} tests, exit $status; 41 must pass)" >&2
    exit 1
  fi
  echo "w3c-suite: 41/41 with OTEL_TRACES_SAMPLER=$sampler"
done
