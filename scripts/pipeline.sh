#!/usr/bin/env bash
# The main job on a fresh machine: set up, train the shipped model's labelled-only base on the
# real data (`--profile fourgrams`: NB-scaled logistic regression on the 200,000 most informative
# 1-4-grams, docs/edge-model.md; the shipped file is the same model self-trained with the 50,000
# unlabelled reviews, scripts/build-default-model.sh), export it (fp32 and int8, parity-checked on the 25,000 test
# reviews), classify two reviews with the exported file and benchmark it against the
# reference-size model (hidden 16, 10,000 words) on the real test reviews. Ends with a summary
# of what it trained, each model's accuracy, where every file went, the bench's headline
# and the next command (also in $OUT/summary.txt). Output: runs/pipeline/ (OUT=... to change).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
OUT=${OUT:-runs/pipeline}
IMDB_EDGE=.venv/bin/imdb-edge
mkdir -p "$OUT"
# This run's outputs only, so the summary never reports a file an earlier run left.
rm -f "$OUT/model.onnx" "$OUT/model.int8.onnx" "$OUT/ref16.int8.onnx" "$OUT/bench.json" "$OUT/summary.txt"
# One dataset for every step: $IMDB_EDGE_DATA, else the user cache, else a verified download.
DATA=$(.venv/bin/python -c 'from imdb_edge.data.dataset import resolve_data_path; print(resolve_data_path())')
echo "data: $DATA" >&2
"$IMDB_EDGE" train --profile fourgrams --seed 0 --data "$DATA" --output "$OUT/train" --overwrite
"$IMDB_EDGE" export "$OUT/train" --output "$OUT/model.onnx"
"$IMDB_EDGE" export "$OUT/train" --output "$OUT/model.int8.onnx" --quantize int8
"$IMDB_EDGE" train --hidden 16 --epochs 4 --seed 0 --data "$DATA" --output "$OUT/train-ref16" --overwrite
"$IMDB_EDGE" export "$OUT/train-ref16" --output "$OUT/ref16.int8.onnx" --quantize int8
"$IMDB_EDGE" info "$OUT/model.int8.onnx"
"$IMDB_EDGE" classify --model "$OUT/model.int8.onnx" \
  "An absolute masterpiece, I loved every minute." "This movie was a waste of time"
# The first model is the headline: the shipped model's int8 form, timed on the test reviews.
"$IMDB_EDGE" bench -m "$OUT/model.int8.onnx" -m "$OUT/model.onnx" -m "$OUT/ref16.int8.onnx" --data "$DATA" \
  --threads 1 --batch 1,64 --min-seconds 0.5 --output "$OUT/bench.json"
echo
.venv/bin/python -m imdb_edge.bench.main_job "$OUT" --data "$DATA"
