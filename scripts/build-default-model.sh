#!/usr/bin/env bash
# Rebuild the model shipped inside the package (imdb_edge/runtime/models/) with the
# project's own train + export commands. Needs the [train] extra and the dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
.venv/bin/imdb-edge train --hidden 16 --epochs 4 --seed 0 --out runs/default-ref16 --overwrite
.venv/bin/imdb-edge export runs/default-ref16 --quantize int8 --out imdb_edge/runtime/models/default.int8.onnx
