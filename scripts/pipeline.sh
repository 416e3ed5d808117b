#!/usr/bin/env bash
# The main job on a fresh machine: set up, train the shipped model family on the real
# data (`--profile fourgrams`: NB-scaled logistic regression on the 200,000 most informative
# 1-4-grams, docs/edge-model.md), export it (fp32 and int8, parity-checked on the 25,000 test
# reviews), classify two reviews with the exported file and benchmark it against the
# reference-size model (hidden 16, 10,000 words). Output: runs/pipeline/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
OUT=${OUT:-runs/pipeline}
mkdir -p "$OUT"
.venv/bin/imdb-edge train --profile fourgrams --seed 0 --output "$OUT/train" --overwrite
.venv/bin/imdb-edge export "$OUT/train" --output "$OUT/model.onnx"
.venv/bin/imdb-edge export "$OUT/train" --output "$OUT/model.int8.onnx" --quantize int8
.venv/bin/imdb-edge train --hidden 16 --epochs 4 --seed 0 --output "$OUT/train-ref16" --overwrite
.venv/bin/imdb-edge export "$OUT/train-ref16" --output "$OUT/ref16.int8.onnx" --quantize int8
.venv/bin/imdb-edge info "$OUT/model.int8.onnx"
.venv/bin/imdb-edge classify --model "$OUT/model.int8.onnx" \
  "An absolute masterpiece, I loved every minute." "This movie was a waste of time"
.venv/bin/imdb-edge bench -m "$OUT/model.onnx" -m "$OUT/model.int8.onnx" -m "$OUT/ref16.int8.onnx" \
  --threads 1 --batch 1,64 --min-seconds 0.5 --output "$OUT/bench.json"
