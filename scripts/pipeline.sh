#!/usr/bin/env bash
# The main job on a fresh machine: set up, train the reference model on the real
# data, and show its figures. Output goes to runs/pipeline/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
OUT=${OUT:-runs/pipeline}
.venv/bin/imdb-edge train --hidden 16 --epochs 4 --seed 0 --out "$OUT/train" --overwrite
