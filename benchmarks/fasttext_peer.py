"""fastText, the peer to beat, trained on the same reviews (benchmarks/peers.py and one_text.py use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.runtime.vectorizer import tokenize


def fasttext_model(
    train_texts: list[str], train_labels: Any, test_texts: list[str], test_labels: Any, workdir: Path
) -> tuple[Any, dict[str, Any]]:
    """fastText supervised on the same training reviews, word 1-3-grams, quantized (.ftz).

    fastText splits on whitespace only, so every text is given to it as this project's
    tokens joined by spaces (the same tokens our models see); its latency is then
    `predict` on that pre-tokenized text, which leaves tokenizing out of its time.
    """
    import fasttext

    def line(text: str) -> str:
        return " ".join(tokenize(text))

    train_file = workdir / "fasttext.train.txt"
    train_file.write_text(
        "".join(f"__label__{int(y)} {line(t)}\n" for t, y in zip(train_texts, train_labels, strict=True)),
        encoding="utf-8",
    )
    settings = {"wordNgrams": 3, "epoch": 10, "lr": 0.5, "dim": 50, "bucket": 2_000_000, "thread": 2, "verbose": 0}
    model = fasttext.train_supervised(input=str(train_file), **settings)
    model.quantize(input=str(train_file), retrain=True, qnorm=True, cutoff=200_000)
    path = workdir / "fasttext.ftz"
    model.save_model(str(path))
    predicted = [model.predict(line(t))[0][0] for t in test_texts]
    accuracy = float(np.mean([p == f"__label__{int(y)}" for p, y in zip(predicted, test_labels, strict=True)]))
    return model, {
        "settings": settings,
        "quantize_cutoff": 200_000,
        "test_accuracy": accuracy,
        "file_bytes": path.stat().st_size,
        "test_reviews": len(test_texts),
    }
