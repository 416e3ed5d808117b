"""What `evaluate` prints without --json: the headline figures, the per-label table, the confusion matrix."""

from __future__ import annotations

from typing import Any


def render_evaluation(document: dict[str, Any]) -> str:
    labels = document["labels"]
    width = max(8, *(len(label) for label in labels))
    lines = [
        f"model           {document['model']}",
        f"data            {document['rows']:,} rows: {document['what']} ({document['data']})",
        f"accuracy        {100 * document['accuracy']:.2f}%  (always the commonest label: "
        f"{100 * document['majority_baseline']:.2f}%)",
        f"macro F1        {document['macro_f1']:.4f}",
        f"log loss        {document['log_loss']:.4f}",
        f"calibration     ECE {document['ece']:.4f} over 10 confidence bins",
    ]
    if document.get("bad_rows", {}).get("count"):
        bad = document["bad_rows"]
        lines.append(f"skipped         {bad['count']} bad row(s), e.g. {bad['examples'][0]}")
    lines += ["", f"{'label':<{width}}  precision  recall      f1  support"]
    for label in labels:
        row = document["per_class"][label]
        lines.append(
            f"{label:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}  {row['support']:7,}"
        )
    lines += ["", "confusion (rows: true label, columns: predicted)", " " * width + "  " + "  ".join(
        f"{label:>{width}}" for label in labels
    )]  # fmt: skip
    for label, row in zip(labels, document["confusion"], strict=True):
        lines.append(f"{label:<{width}}  " + "  ".join(f"{count:>{width},}" for count in row))
    return "\n".join(lines)
