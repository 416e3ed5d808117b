"""The latency histogram of `bench --plot` (matplotlib: the [plot] extra, imported only here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imdb_edge.bench.latency import MODES, CaseResult
from imdb_edge.bench.reviews import TEXT_KINDS
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import install_hint


def plot_histogram(results: list[CaseResult], path: Path) -> None:
    """Latency histograms of the single-review end-to-end cases."""
    try:
        import matplotlib
    except ImportError:
        raise ImdbEdgeError(f"the latency plot needs matplotlib: {install_hint('plot')}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from imdb_edge.atomic import staged_file

    fewest_threads = min(r.threads for r in results)
    single = [r for r in results if r.batch == min(x.batch for x in results) and r.threads == fewest_threads]
    modes = [m for m in MODES if any(r.mode == m for r in single)]
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4.2), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        for r in (r for r in single if r.mode == mode):
            samples_us = 1000 * np.asarray(r.samples_ms)
            cut = np.percentile(samples_us, 99)
            axis.hist(samples_us[samples_us <= cut], bins=60, alpha=0.5, label=f"{r.model}, {TEXT_KINDS[r.text]}")
        axis.set_xlabel("latency per call, µs (up to p99)")
        axis.set_ylabel("runs")
        axis.set_title(
            f"{'end to end' if mode == 'e2e' else 'model only'}, batch {single[0].batch}, {fewest_threads} thread(s)"
        )
        axis.legend(fontsize=7)
    fig.tight_layout()
    with staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
