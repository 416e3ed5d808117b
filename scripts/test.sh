#!/usr/bin/env bash
# Set up (venv + extras) and run every test; full-data tests run when the real
# IMDB dataset is found ($IMDB_EDGE_DATA or ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
.venv/bin/ruff check imdb_edge tests
.venv/bin/python -m pytest -ra "$@"
