"""Learning curves, the figure that shows where training starts to overfit."""

from __future__ import annotations

from pathlib import Path

from imdb_edge.atomic import staged_file


def plot_learning_curves(history: dict[str, list[float]], path: Path, title: str, best_epoch: int) -> None:
    """Loss and accuracy, train vs validation, with the selected epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, metric, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        axis.plot(epochs, history[metric], "o-", label=f"training {label}")
        if f"val_{metric}" in history:  # a refit on all training reviews has no validation curve
            axis.plot(epochs, history[f"val_{metric}"], "s-", label=f"validation {label}")
        axis.axvline(best_epoch, color="grey", linestyle=":", label=f"selected epoch {best_epoch}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
