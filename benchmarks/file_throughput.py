#!/usr/bin/env python3
"""`classify --file` throughput after start-up, as peers.py measures it, without the rest of peers.py.

The test reviews are written one per line to a 1x and a 4x file; the rate is the extra
75,000 reviews over the extra wall time, and the CPU cost is the extra user + system
time of the whole process tree per review (steadier than the wall rate on a shared
machine). The load average is printed with each run: compare runs made at similar load.

    python benchmarks/file_throughput.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --workers 2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imdb_edge.data.reviews import load_test_reviews


def run_once(files: dict[int, Path], workers: int, out: Path) -> tuple[float, float]:
    """(reviews/s, CPU µs per review) between the 1x and the 4x file."""
    walls, cpus = {}, {}
    for copies, path in files.items():
        command = [sys.executable, "-m", "imdb_edge", "classify", "--file", str(path), "--workers", str(workers)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([*command, "--output", str(out)], check=True, capture_output=True)
        walls[copies] = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus[copies] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    extra = (max(files) - min(files)) * sum(1 for _ in files[min(files)].open("rb"))
    return extra / (walls[max(files)] - walls[min(files)]), 1e6 * (cpus[max(files)] - cpus[min(files)]) / extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("IMDB_EDGE_DATA"), help="the IMDB dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lines = "".join(t.replace("\n", " ").replace("\r", " ") + "\n" for t in load_test_reviews(args.data))
    with tempfile.TemporaryDirectory(prefix="imdb-edge-throughput-") as folder:
        work = Path(folder)
        files = {copies: work / f"reviews{copies}.txt" for copies in (1, 4)}
        for copies, path in files.items():
            path.write_text(lines * copies)
        for _ in range(args.repeats):
            rate, cpu = run_once(files, args.workers, work / "out.tsv")
            load = os.getloadavg()[0]
            print(f"{args.workers} worker(s): {rate:,.0f} reviews/s, {cpu:.1f} CPU-µs per review (load {load:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
