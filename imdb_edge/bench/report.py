"""What `imdb-edge bench` shows: the Markdown table, ratios, the headline, the recommendation and the JSON
report."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from imdb_edge.bench.latency import CaseResult, LoadResult
from imdb_edge.bench.machine import describe_machine
from imdb_edge.bench.reviews import TEXT_KINDS, describe_pool
from imdb_edge.runtime.vectorizer import implementation


def ratios(results: list[CaseResult]) -> list[str]:
    """One line per model and text kind: one text end to end vs its own model-only time, and vs the first model."""
    fewest = min((r.threads for r in results), default=1)
    single = {(r.model, r.text, r.mode): r for r in results if r.batch == 1 and r.threads == fewest}
    models = list(dict.fromkeys(r.model for r in results))
    lines = []
    for text in dict.fromkeys(r.text for r in results):
        first = single.get((models[0], text, "e2e")) if models else None
        for model in models:
            e2e, only = single.get((model, text, "e2e")), single.get((model, text, "model"))
            if e2e is None:
                continue
            p50 = e2e.stats()["p50_ms"]
            parts = [
                f"{model}, {TEXT_KINDS[text]} ({e2e.text_chars:,.0f} characters): one text end to end p50 "
                f"{1000 * p50:.1f} µs (mean CPU {1000 * e2e.cpu_ms_per_call:.1f} µs)"
            ]
            if only:
                parts.append(
                    f"{p50 / only.stats()['p50_ms']:.2f}x its model-only p50 ({1000 * only.stats()['p50_ms']:.1f} µs)"
                )
            if first and model != models[0]:
                parts.append(f"{p50 / first.stats()['p50_ms']:.2f}x {models[0]}")
            lines.append(", ".join(parts))
    return lines


def headline(document: dict[str, Any], model: str | None = None) -> str | None:
    """The figures to quote, with what they measured: one text, raw text to score, at the fewest threads timed,
    for `model` (a file name; default the first model), for each kind of text (full reviews, first sentences:
    issue 29), on which reviews and which machine."""
    single = [r for r in document["results"] if r["mode"] == "e2e" and r["batch"] == 1]
    if model is not None:
        single = [r for r in single if r["model"] == model]
    if not single:
        return None
    fewest = min(r["threads"] for r in single)
    first = next(r for r in single if r["threads"] == fewest)
    rows = [r for r in single if r["threads"] == fewest and r["model"] == first["model"]]
    figures = "; ".join(
        f"{TEXT_KINDS[row['text']]} (mean {row['text_chars']:,.0f} characters): "
        f"p50 {1000 * row['p50_ms']:.1f} µs wall, mean CPU {1000 * row['cpu_ms_per_call']:.1f} µs a call, "
        f"{row['runs']:,} runs"
        for row in rows
    )
    machine, settings = document["machine"], document["settings"]
    return (
        f"one text, raw text to score, {first['model']} ({first['precision']}), {fewest} thread(s): {figures}; "
        f"{describe_pool(settings['review_pool'])}; {machine['cpu']} ({machine['architecture']}, "
        f"{machine['cores']} cores)"
    )


def recommend(results: list[CaseResult]) -> str | None:
    """The model file with the lowest single-review end-to-end p50 on this device."""
    single = [r for r in results if r.mode == "e2e" and r.batch == 1 and r.text == results[0].text]
    if len({r.model for r in single}) < 2:
        return None
    best = min(single, key=lambda r: r.stats()["p50_ms"])
    others = sorted(
        {r.model: r.stats()["p50_ms"] for r in single if r.model != best.model and r.threads == best.threads}.items(),
        key=lambda item: item[1],
    )
    runner_up = f"; next {others[0][0]} at {1000 * others[0][1]:.1f} µs" if others else ""
    return (
        f"fastest for one text ({TEXT_KINDS[best.text]}) on this device: {best.model} ({best.precision}, "
        f"{best.input_form}, {best.threads} thread(s)): p50 {1000 * best.stats()['p50_ms']:.1f} µs{runner_up}"
    )


def markdown_table(results: list[CaseResult], loads: list[LoadResult]) -> str:
    lines = [
        "| model | precision | input | text | mode | threads | batch | p50 ms | p90 ms | p99 ms | mean ± std ms "
        "| CPU ms/call | texts/s |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.stats()
        lines.append(
            f"| {r.model} | {r.precision} | {r.input_form} | {TEXT_KINDS[r.text]} | {r.mode} | {r.threads} | {r.batch} "
            f"| {s['p50_ms']:.4f} | {s['p90_ms']:.4f} | {s['p99_ms']:.4f} | {s['mean_ms']:.4f} ± {s['std_ms']:.4f} "
            f"| {s['cpu_ms_per_call']:.4f} | {s['reviews_per_s']:,.0f} |"
        )
    if loads:
        lines += [
            "",
            "| model | size KB | load ms (mean of 5) | onnxruntime session alone ms | load / session "
            "| first inference ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for load in loads:
            d = load.to_dict()
            lines.append(
                f"| {load.model} | {load.bytes / 1024:.0f} | {d['load_ms_mean']:.2f} | {d['session_ms_mean']:.2f} "
                f"| {d['load_vs_session']:.1f}x | {load.first_inference_ms:.3f} |"
            )
    lines += ["", f"vectorizer: {implementation()}", *ratios(results)]
    return "\n".join(lines) + "\n"


def report_document(results: list[CaseResult], loads: list[LoadResult], settings: dict[str, Any]) -> dict[str, Any]:
    """The whole report, raw samples included (what --output writes)."""
    from imdb_edge import __version__

    document = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "imdb_edge": __version__,
        "machine": describe_machine(),
        "settings": settings,
        "vectorizer": implementation(),
        "ratios": ratios(results),
        "recommendation": recommend(results),
        "load": [load.to_dict() for load in loads],
        "results": [r.to_dict() for r in results],
    }
    document["headline"] = headline(document)
    return document


def without_samples(document: dict[str, Any]) -> dict[str, Any]:
    """The report less each case's raw samples: what `--json` prints when the whole report went to a file
    (the samples are most of a report's megabytes)."""
    return {
        **document,
        "results": [{k: v for k, v in row.items() if k != "samples_ms"} for row in document["results"]],
    }


def summary_text(document: dict[str, Any], results: list[CaseResult], loads: list[LoadResult]) -> str:
    """What `bench` prints without --json: the machine and review lines, the table, the headline and the
    recommendation."""
    machine, settings = document["machine"], document["settings"]
    lines = [
        f"{machine['cpu']} ({machine['architecture']}, {machine['cores']} cores), onnxruntime "
        f"{machine['onnxruntime']}\nreviews: {describe_pool(settings['review_pool'])}\n",
        markdown_table(results, loads),
    ]
    if document.get("headline"):
        lines.append(f"headline: {document['headline']}")
    if document["recommendation"]:
        lines.append(document["recommendation"])
    return "\n".join(lines)
