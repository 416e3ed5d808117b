"""`python -m imdb_edge.spark INPUT OUTPUT ...` = `imdb-edge spark-classify ...`; spark-submit takes this file."""

import sys

from imdb_edge.cli import app


def main() -> None:
    app(["spark-classify", *sys.argv[1:]], prog_name="imdb-edge spark-classify")


if __name__ == "__main__":
    main()
