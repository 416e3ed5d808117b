#!/usr/bin/env python3
"""spark-classify vs classify --file on the same JSON Lines file, after start-up, in one run.

Spark: one session (its start-up and the first, warm-up job are timed apart), then
`rounds` jobs of the CLI's own code path (read, classify, write Parquet atomically,
count errors in the result) per input size. classify --file: wall time of the
command on the file minus its wall time on one review (its start-up), interleaved
with the Spark rounds. Medians; on a shared machine only same-run ratios hold.

    python benchmarks/spark_throughput.py test.jsonl --master "local[2]" --rounds 3 --output spark.json
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from imdb_edge.atomic import write_json
from imdb_edge.spark.command import SparkJob, run, start_session


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def scaled_copy(source: Path, times: int, folder: Path) -> tuple[Path, int]:
    """`source` repeated `times` times (the first line alone when times == 0): the input sizes to time."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    chosen = lines[:1] if times == 0 else lines * times
    path = folder / f"x{times}.jsonl"
    path.write_text("".join(chosen), encoding="utf-8")
    return path, len(chosen)


def spark_job(source: Path, folder: Path) -> float:
    target = folder / "out.parquet"
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    summary = run(SparkJob(str(source), str(target)))
    elapsed = time.perf_counter() - start
    if summary.errors:
        raise SystemExit(f"{summary.errors} rows could not be classified")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path, help="JSON Lines with a text field, e.g. the 25,000 test reviews")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--times", default="1,2", help="input sizes as multiples of the file (1 = as is)")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "imdb_edge", "classify", "--json", "--file"]
    report: dict[str, Any] = {"master": args.master, "loadavg_start": os.getloadavg()[0], "sizes": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one, _ = scaled_copy(args.jsonl, 0, folder)
        start = time.perf_counter()
        session, _ = start_session(args.master)
        report["session_start_s"] = time.perf_counter() - start
        report["first_job_s"] = spark_job(one, folder)  # starts Python workers, loads the model
        report["one_review_job_s"] = statistics.median(spark_job(one, folder) for _ in range(args.rounds))
        for times in (int(t) for t in args.times.split(",")):
            source, rows = scaled_copy(args.jsonl, times, folder)
            spark_s, cli_s, cli_startup_s = [], [], []
            for _ in range(args.rounds):
                spark_s.append(spark_job(source, folder))
                cli_startup_s.append(wall([*cli, str(one)]))
                cli_s.append(wall([*cli, str(source)]))
            spark_median = statistics.median(spark_s)
            cli_net = statistics.median(c - s for c, s in zip(cli_s, cli_startup_s, strict=True))
            report["sizes"].append(
                {
                    "rows": rows,
                    "spark_job_s": spark_s,
                    "spark_reviews_per_s": rows / spark_median,
                    "classify_file_s": cli_s,
                    "classify_startup_s": cli_startup_s,
                    "classify_reviews_per_s": rows / cli_net,
                }
            )
        session.stop()
    report["loadavg_end"] = os.getloadavg()[0]
    if args.output:
        write_json(args.output, report)
    print(
        f"{args.master}: session start {report['session_start_s']:.1f} s, first job {report['first_job_s']:.1f} s, "
        f"a one-review job {report['one_review_job_s']:.2f} s; load average {report['loadavg_start']:.1f}"
    )
    print("| rows | spark-classify job (median s) | reviews/s | classify --file after start-up, reviews/s |")
    print("|---:|---:|---:|---:|")
    for size in report["sizes"]:
        print(
            f"| {size['rows']:,} | {statistics.median(size['spark_job_s']):.2f} | "
            f"{size['spark_reviews_per_s']:,.0f} | {size['classify_reviews_per_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
