"""The reliability diagram of `evaluate --plot` (matplotlib: the [plot] extra, imported only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_reliability(document: dict[str, Any], path: Path, title: str) -> None:
    """Accuracy against confidence per bin, the diagonal a perfectly calibrated model would follow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from imdb_edge.atomic import staged_file

    bins = [b for b in document["calibration_bins"] if b["rows"]]
    fig, axis = plt.subplots(figsize=(5.2, 5.0))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    width = bins[0]["high"] - bins[0]["low"] if bins else 0.1
    axis.bar([b["low"] for b in bins], [b["accuracy"] for b in bins], width=width, align="edge", alpha=0.6,
             edgecolor="black", label="accuracy in the bin")  # fmt: skip
    axis.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color="C1",
              label="at the bin's mean confidence")  # fmt: skip
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("confidence (the top label's probability)")
    axis.set_ylabel("accuracy")
    axis.set_title(f"{title}\nECE {document['ece']:.3f}, accuracy {100 * document['accuracy']:.2f}%", fontsize=9)
    axis.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    with staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
