"""Write the IMDB archive as labelled CSV files, to try the own-data path on real reviews.

    python examples/own-data/imdb_to_csv.py --data aclImdb_v1.tar.gz --out imdb-csv
    python examples/own-data/imdb_to_csv.py --data aclImdb_v1.tar.gz --out stars --label stars
    python examples/own-data/imdb_to_csv.py --out small --sample 2000

`--label sentiment` (the default) writes negative/positive, in the archive's own order, so a
model trained from train.csv sees exactly what one trained from the archive sees.
`--label stars` writes each review's star rating in four buckets (1-2, 3-4, 7-8, 9-10; the
archive holds no 5 or 6): a four-label task from the same reviews. `--sample N` writes N reviews of
each split, drawn at random (seeded): a small file that trains in seconds.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from imdb_edge.data.dataset import IMDB_LABELS, load_dataset, resolve_data_path
from imdb_edge.errors import ImdbEdgeError

STAR_BUCKETS = {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 7: "7-8", 8: "7-8", 9: "9-10", 10: "9-10"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the IMDB archive or aclImdb folder (default: as imdb-edge finds it)")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.csv and test.csv")
    parser.add_argument("--label", choices=("sentiment", "stars"), default="sentiment")
    parser.add_argument("--sample", type=int, help="write this many reviews of each split, drawn at random")
    args = parser.parse_args()
    dataset = load_dataset(resolve_data_path(args.data))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, split in (("train", dataset.train), ("test", dataset.test)):
        if args.label == "stars":
            labels = [STAR_BUCKETS[int(r)] for r in split.ratings]  # type: ignore[union-attr]
        else:
            labels = [IMDB_LABELS[int(i)] for i in split.labels]
        rows = list(zip(split.texts, labels, strict=True))
        if args.sample:
            rows = random.Random(2026).sample(rows, min(args.sample, len(rows)))
        with (args.out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", args.label])
            writer.writerows(rows)
        print(f"wrote {args.out / f'{name}.csv'} ({len(rows):,} rows)")


if __name__ == "__main__":
    try:
        main()
    except ImdbEdgeError as exc:
        sys.exit(f"error: {exc}")
