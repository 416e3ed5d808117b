"""`imdb-edge sweep`: a grid of configs, each over several seeds, as mean ± std tables.

Each finished (run, seed) is appended to results.jsonl at once, so an interrupted
sweep resumes where it stopped. Features are computed once per vectorizer config.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imdb_edge.atomic import write_json, write_text
from imdb_edge.console import info, is_quiet, warn
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig, config_from_dict, load_profile, load_toml

RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class SweepRun:
    name: str
    config: TrainConfig
    reference: dict[str, Any]


@dataclass(frozen=True)
class SweepPlan:
    runs: list[SweepRun]
    seeds: list[int]
    seed_splits: bool = False
    """Each seed also draws its own validation split (split_seed = seed; review fragments, which
    split_seed also draws, change with it): the mean is over as many validation sets, so a difference
    smaller than one split's noise can show."""
    folds: int = 0
    """k-fold validation: each (run, seed) trains `folds` times, validating on each fold of the training
    split once (TrainConfig.folds); 0: off."""

    @property
    def fold_list(self) -> list[int]:
        return list(range(self.folds)) if self.folds else [0]

    def seed_config(self, run: SweepRun, seed: int, fold: int = 0) -> TrainConfig:
        """The settings `run` trains with for `seed` (and `fold`, in a k-fold sweep)."""
        config = run.config.updated(seed=seed, split_seed=seed if self.seed_splits else None)
        return config.updated(folds=self.folds, fold=fold) if self.folds else config

    def seed_key(self, run: SweepRun, seed: int, validation_only: bool, fold: int = 0) -> str:
        """The key of the row `run` writes for `seed` and `fold` (run_key)."""
        return run_key(self.seed_config(run, seed, fold), validation_only)

    def rows_of(
        self, run: SweepRun, rows: list[dict[str, Any]], keys: list[str], validation_only: bool
    ) -> list[dict[str, Any]]:
        """The finished rows (`keys`: their row_key) that belong to `run` as the plan has it now: its settings,
        one of its seeds (and folds)."""
        wanted = {
            (seed, fold): self.seed_key(run, seed, validation_only, fold)
            for seed in self.seeds
            for fold in self.fold_list
        }
        return [
            row
            for row, key in zip(rows, keys, strict=True)
            if wanted.get((row["seed"], row.get("config", {}).get("fold", 0))) == key
        ]


def load_plan(path: Path, seeds: int | None = None, folds: int | None = None) -> SweepPlan:
    """Read a sweep TOML: `seeds`, `folds`, `[defaults]`, and one `[[runs]]` table per config (`folds`:
    overrides the file's)."""
    document = load_toml(path)
    defaults = document.get("defaults", {})
    misplaced = sorted({"seeds", "seed_splits", "folds"} & set(defaults)) if isinstance(defaults, dict) else []
    if misplaced:
        raise ImdbEdgeError(f"{path}: {', '.join(misplaced)} belongs at the top of the file, not in [defaults]")
    try:
        base = config_from_dict(defaults)
    except ImdbEdgeError as exc:
        raise ImdbEdgeError(f"{path}, [defaults]: {exc}") from None
    entries = document.get("runs")
    if not isinstance(entries, list) or not entries:
        raise ImdbEdgeError(f"{path} has no [[runs]] tables")
    if (folds or document.get("folds")) and any(
        isinstance(table, dict) and k in table for table in [defaults, *entries] for k in ("folds", "fold")
    ):
        raise ImdbEdgeError(f"{path}: a k-fold sweep sets each run's folds and fold itself; drop them from the runs")
    runs = []
    for index, entry in enumerate(entries, start=1):
        entry = dict(entry)
        name = str(entry.pop("name", f"run-{index:02d}"))
        reference = entry.pop("reference", {})
        profile = entry.pop("profile", None)
        try:
            run_base = config_from_dict(load_profile(str(profile)), base=base) if profile else base
            config = config_from_dict(entry, base=run_base)
        except ImdbEdgeError as exc:
            raise ImdbEdgeError(f"{path}, run {name}: {exc}") from None
        runs.append(SweepRun(name, config, reference))
    if len({run.name for run in runs}) != len(runs):
        raise ImdbEdgeError(f"{path}: run names must be unique")
    seed_list = list(range(seeds)) if seeds is not None else document.get("seeds", [0, 1, 2])
    if not isinstance(seed_list, list) or not all(type(s) is int and 0 <= s < 2**32 for s in seed_list):
        raise ImdbEdgeError(f"{path}: seeds must be a list of whole numbers from 0 to 2**32 - 1, got {seed_list!r}")
    if not seed_list:
        raise ImdbEdgeError("a sweep needs at least one seed")
    if len(set(seed_list)) != len(seed_list):
        raise ImdbEdgeError(f"{path}: seeds repeat ({seed_list}): a repeated seed is the same run, not another one")
    seed_splits = document.get("seed_splits", False)
    if not isinstance(seed_splits, bool):
        raise ImdbEdgeError(f"{path}: seed_splits must be true or false, got {seed_splits!r}")
    if seed_splits and any("split_seed" in table for table in [defaults, *entries]):
        raise ImdbEdgeError(f"{path}: seed_splits = true sets each run's split_seed to its seed; drop split_seed")
    fold_count = folds if folds is not None else document.get("folds", 0)
    if type(fold_count) is not int or fold_count == 1 or fold_count < 0:
        raise ImdbEdgeError(f"{path}: folds must be 0 (off) or a whole number >= 2, got {fold_count!r}")
    return SweepPlan(runs, seed_list, seed_splits, fold_count)


def read_results(path: Path) -> list[dict[str, Any]]:
    """Complete result lines only: a line cut by an interruption, or one that is not a result, is ignored."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            warn(f"ignoring an incomplete line in {path}")
            continue
        if isinstance(row, dict) and isinstance(row.get("name"), str) and type(row.get("seed")) is int:
            rows.append(row)
        else:
            warn(f"ignoring line {number} of {path}: not a sweep result")
    return rows


def run_sweep(plan: SweepPlan, out: Path, data: Any = None, validation_only: bool = False) -> list[dict[str, Any]]:
    """Train every (run, seed) not yet in out/results.jsonl, then write the tables.

    validation_only: for model selection; the test set is not evaluated at all.
    """
    from rich.console import Console
    from rich.progress import Progress, TimeElapsedColumn, TimeRemainingColumn

    from imdb_edge.data.sources import DataSpec
    from imdb_edge.train.features import build_features, features_key
    from imdb_edge.train.run import data_summary, load_data
    from imdb_edge.train.semi import prepare_features
    from imdb_edge.train.training import fit_and_evaluate

    wants_unlabelled = any(run.config.uses_unlabelled for run in plan.runs)
    dataset = load_data(data, unlabelled=wants_unlabelled or (isinstance(data, DataSpec) and bool(data.unlabelled)))
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS_FILE
    unlabelled = dataset.unlabelled.fingerprint if dataset.unlabelled is not None else None
    earlier = _rows_of_dataset(read_results(results_path), dataset.fingerprint, results_path, unlabelled)
    earlier_keys = [row_key(row) for row in earlier]
    done = {(key, row["seed"]) for key, row in zip(earlier_keys, earlier, strict=True)}
    folds = plan.fold_list
    if plan.seed_splits or plan.folds:  # each seed (fold) is its own split: runs that share features share a build
        triples = [(run, seed, fold) for seed in plan.seeds for fold in folds for run in plan.runs]
    else:
        triples = [(run, seed, 0) for run in plan.runs for seed in plan.seeds]
    todo = [
        (run, seed, fold)
        for run, seed, fold in triples
        if (plan.seed_key(run, seed, validation_only, fold), seed) not in done
    ]
    _warn_about_stale_rows(plan, earlier, earlier_keys, validation_only)
    if done:
        info(f"resuming: {len(done)} run(s) already in {results_path}, {len(todo)} to go")
    if todo:
        write_json(out / "data.json", data_summary(dataset))
        features_cache: dict[Any, Any] = {}

        def cached(config: TrainConfig, make: Any) -> Any:
            """The features of `config`, from the last two built (a self-training run's teacher shares the
            features of the run without it)."""
            key = features_key(config)
            if key not in features_cache:
                while len(features_cache) >= 2:
                    features_cache.pop(next(iter(features_cache)))
                features_cache[key] = make(dataset, config)
            return features_cache[key]

        def teacher_features(dataset: Any, config: TrainConfig) -> Any:
            return cached(config, build_features)

        columns = (*Progress.get_default_columns()[:-1], TimeElapsedColumn(), TimeRemainingColumn())
        # stderr, so `--json` keeps stdout to the table; off with --quiet
        with Progress(*columns, console=Console(stderr=True), disable=is_quiet()) as bar:
            task = bar.add_task("sweep", total=len(todo))
            for run, seed, fold in todo:
                where = f" fold {fold}" if plan.folds else ""
                bar.update(task, description=f"{run.name} seed {seed}{where}")
                config = plan.seed_config(run, seed, fold)
                features = cached(
                    config, lambda dataset, config: prepare_features(dataset, config, build=teacher_features)
                )
                result = fit_and_evaluate(config, features, report=None, evaluate_test=not validation_only)
                row = {
                    "name": run.name,
                    "seed": seed,
                    "validation_only": validation_only,
                    "config": config.to_dict(),
                    "data_fingerprint": dataset.fingerprint,
                    "unlabelled_fingerprint": unlabelled,
                    **result.metrics,
                }
                _append_row(results_path, row)
                bar.advance(task)
    rows = _rows_of_dataset(read_results(results_path), dataset.fingerprint, unlabelled=unlabelled)
    table = summarize(plan, rows, validation_only)
    markdown = to_markdown(table)
    if plan.folds:
        markdown += "\n" + kfold_markdown(kfold_table(plan, rows, validation_only))
    write_text(out / "results.md", markdown)
    write_text(out / "results.csv", to_csv(table))
    return table


def _rows_of_dataset(
    rows: list[dict[str, Any]], fingerprint: str, told: Path | None = None, unlabelled: str | None = None
) -> list[dict[str, Any]]:
    """The rows trained on this dataset (rows written before rows named theirs count as this one's); a row that
    read unlabelled reviews, only if they were these (`unlabelled`: their fingerprint; rows that recorded none
    count as this one's); `told`: say how many others there are and where."""
    mine = [
        row
        for row in rows
        if row.get("data_fingerprint", fingerprint) == fingerprint and _same_unlabelled(row, unlabelled)
    ]
    if told is not None and len(mine) < len(rows):
        warn(
            f"{len(rows) - len(mine)} result(s) in {told} came from another dataset: kept there, not used "
            "(use another --output folder per dataset)"
        )
    return mine


def _same_unlabelled(row: dict[str, Any], unlabelled: str | None) -> bool:
    recorded = row.get("unlabelled_fingerprint")
    if recorded is None or recorded == unlabelled:
        return True
    try:
        return not config_from_dict(row.get("config", {})).uses_unlabelled
    except ImdbEdgeError:  # settings this version no longer knows: never reused anyway
        return True


def _append_row(path: Path, row: dict[str, Any]) -> None:
    """One result line; after a line an interruption cut short, on a line of its own (not glued to it)."""
    with open(path, "a+b") as handle:
        handle.seek(0, 2)
        cut = False
        if handle.tell():
            handle.seek(-1, 2)
            cut = handle.read(1) != b"\n"
        handle.write((("\n" if cut else "") + json.dumps(row) + "\n").encode("utf-8"))


def run_key(config: TrainConfig, validation_only: bool) -> str:
    """Names a sweep row's settings (every config field but the seed, and whether test was
    evaluated), so a resumed sweep reuses a row only if nothing that decides it has changed."""
    settings = {k: v for k, v in config.to_dict().items() if k != "seed"}
    document = json.dumps({"config": settings, "validation_only": validation_only}, sort_keys=True)
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:16]


def row_key(row: dict[str, Any]) -> str:
    """The key of a finished row, from the config it stores: read with today's defaults, so a
    setting added since keeps old rows usable while a changed one does not."""
    try:
        config = config_from_dict(row.get("config", {}))
    except ImdbEdgeError:  # settings this version no longer knows: never the same run
        return ""
    return run_key(config, bool(row.get("validation_only", row.get("test_accuracy") is None)))


def _warn_about_stale_rows(plan: SweepPlan, rows: list[dict[str, Any]], keys: list[str], validation_only: bool) -> None:
    for run in plan.runs:
        stale = [
            row
            for row, key in zip(rows, keys, strict=True)
            if row["name"] == run.name and key != plan.seed_key(run, row["seed"], validation_only)
        ]
        if stale:
            warn(
                f"run {run.name}: {len(stale)} earlier result(s) were made with other settings; "
                "they are kept in results.jsonl but not used"
            )


def _mean_std(values: list[float | None]) -> tuple[float, float]:
    values = [v for v in values if v is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(plan: SweepPlan, rows: list[dict[str, Any]], validation_only: bool = False) -> list[dict[str, Any]]:
    """One row per config: mean and std over its seeds, beside the reference figure."""
    table = []
    keys = [row_key(r) for r in rows]
    for run in plan.runs:
        mine = plan.rows_of(run, rows, keys, validation_only)
        cfg = run.config
        ref_split = run.reference.get("split", "test")
        ours_key = "val_accuracy" if ref_split == "validation" else "test_accuracy"
        entry: dict[str, Any] = {
            "name": run.name,
            "epochs": cfg.epochs,
            "early_stopping": cfg.early_stopping,
            "layers": len(cfg.hidden),
            "units": ",".join(map(str, cfg.hidden)),
            "loss_fn": cfg.loss,
            "activation": f"{cfg.activation}, sigmoid" if cfg.hidden else "sigmoid",
            "optimizer": cfg.optimizer,
            "seeds": len(mine),
        }
        for key in (
            "test_loss",
            "test_accuracy",
            "val_loss",
            "val_accuracy",
            "val_short_accuracy",
            "best_epoch",
            "train_seconds",
        ):
            entry[f"{key}_mean"], entry[f"{key}_std"] = _mean_std([r.get(key) for r in mine])
        entry["reference_split"] = ref_split
        entry["reference_loss"] = run.reference.get("loss")
        entry["reference_accuracy"] = run.reference.get("accuracy")
        if entry["reference_accuracy"] is not None and mine and entry[f"{ours_key}_mean"] == entry[f"{ours_key}_mean"]:
            entry["delta_points"] = 100 * (entry[f"{ours_key}_mean"] - entry["reference_accuracy"])
        else:
            entry["delta_points"] = None
        table.append(entry)
    return table


def _pm(entry: dict[str, Any], key: str, scale: float = 1.0, digits: int = 2) -> str:
    mean, std = entry[f"{key}_mean"], entry[f"{key}_std"]
    if mean != mean:  # NaN: not measured (validation-only sweeps skip the test set)
        return "-"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def to_markdown(table: list[dict[str, Any]]) -> str:
    header = (
        "| run | epochs | layers | units | loss fn | activation | test loss | test acc % | val acc % "
        "| val short acc % | best epoch | train s | reference acc % (split) | Δ points |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for e in table:
        reference = (
            f"{100 * e['reference_accuracy']:.2f} ({e['reference_split']})"
            if e["reference_accuracy"] is not None
            else ""
        )
        delta = f"{e['delta_points']:+.2f}" if e["delta_points"] is not None else ""
        lines.append(
            f"| {e['name']} | {e['epochs']}{' (early stop)' if e['early_stopping'] else ''} | {e['layers']} "
            f"| {e['units']} | {e['loss_fn']} | {e['activation']} | {_pm(e, 'test_loss', digits=3)} "
            f"| {_pm(e, 'test_accuracy', 100)} | {_pm(e, 'val_accuracy', 100)} | {_pm(e, 'val_short_accuracy', 100)} "
            f"| {_pm(e, 'best_epoch', digits=1)} "
            f"| {_pm(e, 'train_seconds', digits=1)} | {reference} | {delta} |"
        )
    return header + "\n".join(lines) + "\n"


def to_csv(table: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return buffer.getvalue()


def kfold_table(plan: SweepPlan, rows: list[dict[str, Any]], validation_only: bool = False) -> list[dict[str, Any]]:
    """A k-fold sweep's comparison: each run's validation accuracy pooled over its folds (every training row
    validated once per seed), and its paired difference from the first run, fold by fold (same seed, same
    fold: the same validation rows), as mean ± standard error of those differences."""
    keys = [row_key(r) for r in rows]

    def by_pair(run: SweepRun) -> dict[tuple[int, int], dict[str, Any]]:
        return {(r["seed"], r["config"].get("fold", 0)): r for r in plan.rows_of(run, rows, keys, validation_only)}

    baseline = by_pair(plan.runs[0])
    table = []
    for run in plan.runs:
        mine = by_pair(run)
        counted = [r for r in mine.values() if r.get("val_accuracy") is not None]
        total = sum(r["validation_rows"] for r in counted)
        pooled = sum(r["val_accuracy"] * r["validation_rows"] for r in counted) / total if total else float("nan")
        pairs = sorted(set(mine) & set(baseline))
        differences = [100 * (mine[p]["val_accuracy"] - baseline[p]["val_accuracy"]) for p in pairs]
        mean = statistics.fmean(differences) if differences else float("nan")
        error = statistics.stdev(differences) / len(differences) ** 0.5 if len(differences) > 1 else float("nan")
        short = [r["val_short_accuracy"] for r in counted if r.get("val_short_accuracy") is not None]
        kinds: dict[str, list[float]] = {}
        for r in counted:
            for kind, value in (r.get("val_short_by_kind") or {}).items():
                kinds.setdefault(kind, []).append(value)
        table.append(
            {
                "name": run.name,
                "fits": len(mine),
                "val_accuracy_pooled": pooled,
                "difference_mean": mean,
                "difference_se": error,
                "differences": differences,
                "val_short_accuracy": statistics.fmean(short) if short else float("nan"),
                "val_short_by_kind": {kind: statistics.fmean(values) for kind, values in kinds.items()},
                "train_seconds": statistics.fmean(r["train_seconds"] for r in mine.values()) if mine else float("nan"),
            }
        )
    return table


def kfold_markdown(table: list[dict[str, Any]]) -> str:
    """The k-fold comparison as a Markdown table (differences in points, against the first run)."""
    if not table:
        return ""
    lines = [
        f"k-fold validation: differences from {table[0]['name']}, in points, paired by (seed, fold)\n",
        "| run | fits | val acc % (pooled) | Δ per fold | mean Δ ± s.e. | Δ / s.e. | val short acc % "
        "| first sentence | first 20 words | last 30 words |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for index, e in enumerate(table):
        kinds = e["val_short_by_kind"]
        if index == 0:
            per_fold, mean, ratio = "", "", ""
        else:
            per_fold = ", ".join(f"{d:+.2f}" for d in e["differences"])
            mean = f"{e['difference_mean']:+.3f} ± {e['difference_se']:.3f}"
            ratio = f"{e['difference_mean'] / e['difference_se']:+.1f}" if e["difference_se"] else ""
        pieces = " | ".join(
            f"{100 * kinds[k]:.2f}" if k in kinds else "-"
            for k in ("first sentence", "first 20 words", "last 30 words")
        )
        lines.append(
            f"| {e['name']} | {e['fits']} | {100 * e['val_accuracy_pooled']:.2f} | {per_fold} | {mean} | {ratio} "
            f"| {100 * e['val_short_accuracy']:.2f} | {pieces} |"
        )
    return "\n".join(lines) + "\n"
