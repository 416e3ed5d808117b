#!/usr/bin/env bash
# Rebuild the model shipped inside the package (imdb_edge/runtime/models/) with the
# project's own train + export commands: the `--profile fourgrams` model (NB-scaled
# logistic regression on 1-4-grams, imdb_edge/train/profiles/fourgrams.toml), int8,
# token-id input, and write its figures into imdb_edge/runtime/models/README.md.
# This is the one way the shipped model is made. Needs the [train] extra and the
# dataset ($IMDB_EDGE_DATA or ../shared/data).
#   bash scripts/build-default-model.sh            # IMDB_EDGE_BIN=imdb-edge to use another install
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${IMDB_EDGE_BIN:-}" ]; then
  source scripts/setup-env.sh
  IMDB_EDGE_BIN=.venv/bin/imdb-edge
fi
RUN=runs/default-fourgrams
MODEL=imdb_edge/runtime/models/default.int8.onnx
$IMDB_EDGE_BIN train --profile fourgrams --seed 0 --output "$RUN" --overwrite
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
model is given: the `--profile fourgrams` model (imdb_edge/train/profiles/fourgrams.toml,
docs/edge-model.md): {info["architecture"]} (Naive-Bayes-scaled logistic regression), word
1-{info["ngram_max"]}-grams, the {info["vocabulary_size"]:,} most informative terms, seed 0, int8, token-id input. Made by
`scripts/build-default-model.sh` (this file is written by it too):

    imdb-edge train --profile fourgrams --seed 0 --output runs/default-fourgrams --overwrite
    imdb-edge export runs/default-fourgrams --quantize int8 --output imdb_edge/runtime/models/default.int8.onnx --overwrite

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
