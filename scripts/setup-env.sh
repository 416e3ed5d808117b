#!/usr/bin/env bash
# Shared set-up for scripts/pipeline.sh and scripts/test.sh: a project venv with
# the training, test and Spark extras, and the dataset path when the shared copy exists.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[train,dev,spark]"
if [ -z "${IMDB_EDGE_DATA:-}" ] && [ -f ../shared/data/aclImdb_v1_labeled.tar.gz ]; then
  IMDB_EDGE_DATA="$(cd ../shared/data && pwd)/aclImdb_v1_labeled.tar.gz"
  export IMDB_EDGE_DATA
fi
