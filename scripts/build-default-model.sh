#!/usr/bin/env bash
# Rebuild the model shipped inside the package (imdb_edge/runtime/models/) with the
# project's own train + export commands: the `--profile self-trained` model (NB-scaled
# logistic regression on 1-4-grams, self-trained with the 50,000 unlabelled reviews,
# imdb_edge/train/profiles/self-trained.toml), int8, token-id input, and write its figures
# into imdb_edge/runtime/models/README.md. This is the one way the shipped model is made.
# Needs the [train] extra, the dataset ($IMDB_EDGE_DATA or ../shared/data) and its unlabelled
# reviews: $IMDB_EDGE_UNLABELLED, else ../shared/data/aclImdb_v1_unsup.tar.gz, else the
# train/unsup folder of $IMDB_EDGE_DATA (the official archive has one).
#   bash scripts/build-default-model.sh            # IMDB_EDGE_BIN=imdb-edge to use another install
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${IMDB_EDGE_BIN:-}" ]; then
  source scripts/setup-env.sh
  IMDB_EDGE_BIN=.venv/bin/imdb-edge
fi
UNLABELLED=${IMDB_EDGE_UNLABELLED:-}
if [ -z "$UNLABELLED" ] && [ -f ../shared/data/aclImdb_v1_unsup.tar.gz ]; then
  UNLABELLED="$(cd ../shared/data && pwd)/aclImdb_v1_unsup.tar.gz"
fi
UNLABELLED_ARGS=()
if [ -n "$UNLABELLED" ]; then
  UNLABELLED_ARGS=(--unlabelled "$UNLABELLED")
fi
RUN=runs/default-self-trained
MODEL=imdb_edge/runtime/models/default.int8.onnx
$IMDB_EDGE_BIN train --profile self-trained --seed 0 "${UNLABELLED_ARGS[@]}" --output "$RUN" --overwrite
$IMDB_EDGE_BIN export "$RUN" --quantize int8 --output "$MODEL" --overwrite
$IMDB_EDGE_BIN info "$MODEL" --json > "$RUN/shipped-info.json"
python3 - "$RUN/shipped-info.json" imdb_edge/runtime/models/README.md <<'PY'
"""Write the shipped model's README from its own metadata (what `imdb-edge info` reads)."""
import json
import os
import sys

info = json.load(open(sys.argv[1], encoding="utf-8"))
parity, int8 = info["parity_fp32"], info["int8"]
text = f"""# Shipped model

`default.int8.onnx` is what `Classifier.load()` and `imdb-edge classify` use when no
model is given: the `--profile self-trained` model (imdb_edge/train/profiles/self-trained.toml,
docs/edge-model.md): {info["architecture"]} (Naive-Bayes-scaled logistic regression), word
1-{info["ngram_max"]}-grams, the {info["vocabulary_size"]:,} most informative terms, seed 0, int8, token-id input, self-trained:
a model of the 25,000 labelled training reviews labelled the 50,000 unlabelled ones (aclImdb/train/unsup),
and its 20,000 most confident count in the term statistics and the training rows. The unlabelled
reviews are needed only to train it. Made by `scripts/build-default-model.sh` (this file is written by it too):

    imdb-edge train --profile self-trained --seed 0 --unlabelled aclImdb_v1_unsup.tar.gz --output runs/default-self-trained --overwrite
    imdb-edge export runs/default-self-trained --quantize int8 --output imdb_edge/runtime/models/default.int8.onnx --overwrite

| figure | value |
|---|---|
| test accuracy (25,000 test reviews, this int8 file) | {100 * info["test_accuracy"]:.2f}% |
| int8 vs fp32 | {int8["drop_points"]:+.2f} points lost |
| fp32 ONNX vs Keras | max abs diff {parity["max_abs_diff"]:.1e}, {parity["label_mismatches"]} of {parity["rows"]:,} labels differ |
| file size | {info["bytes"] / 1024:,.0f} KB |
| data fingerprint | `{info["data_fingerprint"][:16]}...` |
| made with | {", ".join(f"{k} {v}" for k, v in info["versions"].items())} |

`imdb-edge info` prints the same metadata from the file itself.
"""
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w", encoding="utf-8") as out:
    out.write(text)
os.replace(tmp, sys.argv[2])
PY
echo "shipped model: $MODEL; figures in imdb_edge/runtime/models/README.md"
