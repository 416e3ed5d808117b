#!/usr/bin/env bash
# Set up (venv + extras) and run every test; full-data tests run when the real
# IMDB dataset is found ($IMDB_EDGE_DATA or ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
# The emulated aarch64 smoke test needs root and apt-get (as on CI); elsewhere it is skipped.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export IMDB_EDGE_AARCH64_SMOKE=${IMDB_EDGE_AARCH64_SMOKE:-1}
  # The browser example's test (tests/docs/test_web_example.py) drives Debian's Chromium.
  if ! command -v chromium >/dev/null; then
    apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  fi
fi
.venv/bin/ruff check imdb_edge tests benchmarks scripts
.venv/bin/python -m pytest -ra "$@"
