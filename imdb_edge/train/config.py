"""Training configuration: one dataclass, filled from flags or a TOML file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from imdb_edge.choices import (
    ACTIVATIONS,
    ARCHITECTURES,
    CLASS_WEIGHTS,
    LOSSES,
    OPTIMIZERS,
    PSEUDO_TARGETS,
    TERM_RANKINGS,
    VALIDATION_GROUPS,
)
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import VectorizerConfig
from imdb_edge.typecheck import check_type


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trained model; stored in metrics.json."""

    architecture: str = "dense"
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "relu"
    loss: str = "binary_crossentropy"
    optimizer: str = "rmsprop"
    learning_rate: float | None = None
    epochs: int = 20
    batch_size: int = 512
    validation_size: int = 10_000
    split_seed: int = 1337
    seed: int = 0
    early_stopping: bool = True
    patience: int = 2
    dropout: float = 0.0
    l2: float = 0.0
    nb_alpha: float = 1.0
    bag_dropout: float = 0.0
    fragments: int = 0
    fragment_words: tuple[int, int] = (3, 40)
    wide: bool = False
    wide_weight: float = 0.5
    wide_epochs: int | None = None
    term_ranking: str = "frequency"
    validation_groups: str = "review"
    class_weight: str = "none"
    """balanced: each label's rows weigh n / (labels x its count) in the loss, so a rare label counts as much."""
    folds: int = 0
    """k-fold validation (issue 30): 0 off; K >= 2 holds out fold `fold` of K folds of the training split (whole
    movies when validation_groups = movie), drawn with split_seed, instead of validation_size reviews."""
    fold: int = 0
    pseudo_labels: int = 0
    """Self-training: each round, the teacher's most confident `pseudo_labels` unlabelled reviews (half per
    label) join the fit rows with its labels; 0: off. Needs unlabelled reviews (train/unsup or --unlabelled)."""
    pseudo_rounds: int = 1
    """Rounds of self-training: round 1's teacher learns from the labelled fit rows, each later one is the
    previous round's student."""
    pseudo_weight: float = 1.0
    """Loss weight of a pseudo-labelled review (a labelled one weighs 1)."""
    pseudo_targets: str = "hard"
    """hard: the teacher's label (0/1); soft: its probability (distillation)."""
    pseudo_statistics: bool = False
    """Count the pseudo-labelled reviews (weighted by pseudo_weight) in the Naive-Bayes ratios and the term
    ranking, as well as in the loss."""
    pseudo_loss: bool = True
    """Train on the pseudo-labelled reviews (false: they only count in the statistics, pseudo_statistics)."""
    teacher_features: int = 0
    """The first teacher's vocabulary size (0: the model's own max_features): a teacher too large to ship, used
    only while training."""
    unlabelled_df: bool = False
    """term_ranking nb-df: count the unlabelled reviews too in each term's document frequency (|r| x df)."""
    vectorizer: VectorizerConfig = field(default_factory=VectorizerConfig)

    @property
    def uses_unlabelled(self) -> bool:
        """True if training reads unlabelled reviews."""
        return self.pseudo_labels > 0 or self.unlabelled_df

    def __post_init__(self) -> None:
        checks = [
            (all(h > 0 for h in self.hidden), f"hidden sizes must be positive, got {self.hidden}"),
            (self.architecture in ARCHITECTURES, f"architecture must be one of {', '.join(ARCHITECTURES)}"),
            (self.nb_alpha > 0, f"nb_alpha must be > 0, got {self.nb_alpha}"),
            (self.activation in ACTIVATIONS, f"activation must be one of {', '.join(ACTIVATIONS)}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.patience >= 0, f"patience must be >= 0, got {self.patience}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.l2 >= 0.0, f"l2 must be >= 0, got {self.l2}"),
            (0.0 <= self.bag_dropout < 1.0, f"bag_dropout must be in [0, 1), got {self.bag_dropout}"),
            (self.fragments >= 0, f"fragments must be >= 0, got {self.fragments}"),
            (
                len(self.fragment_words) == 2 and 1 <= self.fragment_words[0] <= self.fragment_words[1],
                f"fragment_words must be [shortest, longest] with 1 <= shortest <= longest, got {self.fragment_words}",
            ),
            (
                not self.wide or (self.architecture == "bag" and len(self.hidden) == 1),
                "wide = true needs architecture bag with exactly one hidden layer (linear + hidden branch)",
            ),
            (
                not self.vectorizer.hashed or self.architecture == "bag",
                "hashed n-grams (hash_buckets) need architecture bag: a dense input would be one float per bucket",
            ),
            (
                self.term_ranking in TERM_RANKINGS,
                f"term_ranking must be one of {', '.join(TERM_RANKINGS)}, got {self.term_ranking!r}",
            ),
            (
                self.term_ranking == "frequency" or not self.vectorizer.hashed,
                f"term_ranking {self.term_ranking} chooses vocabulary terms, and hashed n-grams (hash_buckets) keep "
                "no vocabulary: set term_ranking = frequency (--term-ranking frequency)",
            ),
            (
                self.validation_groups in VALIDATION_GROUPS,
                f"validation_groups must be one of {', '.join(VALIDATION_GROUPS)}, got {self.validation_groups!r}",
            ),
            (0.0 < self.wide_weight < 1.0, f"wide_weight must be in (0, 1), got {self.wide_weight}"),
            (
                self.class_weight in CLASS_WEIGHTS,
                f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}, got {self.class_weight!r}",
            ),
            (
                self.wide_epochs is None or self.wide_epochs >= 1,
                f"wide_epochs must be >= 1, got {self.wide_epochs}",
            ),
            (self.validation_size >= 0, f"validation_size must be >= 0, got {self.validation_size}"),
            (0 <= self.seed < 2**32, f"seed must be between 0 and 2**32 - 1, got {self.seed}"),
            (0 <= self.split_seed < 2**32, f"split_seed must be between 0 and 2**32 - 1, got {self.split_seed}"),
            (
                self.validation_size > 0 or not self.early_stopping,
                "validation_size = 0 (refit on all training reviews) needs early_stopping = false and a fixed epochs",
            ),
            (
                self.learning_rate is None or self.learning_rate > 0,
                f"learning rate must be > 0, got {self.learning_rate}",
            ),
            (self.folds == 0 or self.folds >= 2, f"folds must be 0 (off) or at least 2, got {self.folds}"),
            (
                0 <= self.fold < max(self.folds, 1),
                f"fold must be between 0 and folds - 1 ({max(self.folds - 1, 0)}), got {self.fold}",
            ),
            (self.pseudo_labels >= 0, f"pseudo_labels must be >= 0, got {self.pseudo_labels}"),
            (self.pseudo_rounds >= 1, f"pseudo_rounds must be >= 1, got {self.pseudo_rounds}"),
            (self.pseudo_weight > 0, f"pseudo_weight must be > 0, got {self.pseudo_weight}"),
            (
                self.pseudo_targets in PSEUDO_TARGETS,
                f"pseudo_targets must be one of {', '.join(PSEUDO_TARGETS)}, got {self.pseudo_targets!r}",
            ),
            (self.teacher_features >= 0, f"teacher_features must be >= 0, got {self.teacher_features}"),
            (
                not self.uses_unlabelled or self.architecture == "bag",
                "pseudo_labels and unlabelled_df are for architecture bag (the n-gram models)",
            ),
            (
                not self.unlabelled_df or self.term_ranking == "nb-df",
                "unlabelled_df counts unlabelled reviews in the nb-df ranking: it needs term_ranking = nb-df",
            ),
            (
                self.pseudo_labels > 0 or (not self.pseudo_statistics and not self.teacher_features),
                "pseudo_statistics and teacher_features shape self-training: they need pseudo_labels > 0",
            ),
            (
                self.pseudo_loss or self.pseudo_statistics,
                "pseudo_loss = false leaves the pseudo-labels nothing to do: set pseudo_statistics = true",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ImdbEdgeError(message)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        data["fragment_words"] = list(self.fragment_words)
        data["vectorizer"] = self.vectorizer.to_dict()
        return data

    def updated(self, **changes: Any) -> TrainConfig:
        """A copy with `changes` applied; None values mean 'keep'."""
        return config_from_dict(changes, base=self)


def parse_hidden(value: str | list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """'16,16' or [16, 16] -> (16, 16); '' or 'none' -> () (a linear model)."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = value.strip().lower()
        items = [] if text in ("", "none", "0") else text.split(",")
    try:
        return tuple(int(item) for item in items)
    except ValueError:
        raise ImdbEdgeError(f"hidden sizes must be integers like 16,16; got {value!r}") from None


def vectorizer_table(value: Any, where: str = "") -> Any:
    """`value` if it can set the vectorizer (a TOML table, or a config already made), else a one-line error."""
    if not isinstance(value, (dict, VectorizerConfig)):
        raise ImdbEdgeError(f"{where}vectorizer must be a table ([vectorizer]), got {value!r}")
    return value


def config_from_dict(data: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """Overlay `data` (from TOML or flags) on `base`; unknown keys are an error."""
    base = base or TrainConfig()
    data = {k: v for k, v in data.items() if v is not None}
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ImdbEdgeError(f"unknown training setting(s): {', '.join(unknown)}")
    for item in fields(TrainConfig):
        if item.name in data:
            check_type(item.name, data[item.name], str(item.type))
    if "hidden" in data:
        data["hidden"] = parse_hidden(data["hidden"])
    if "fragment_words" in data:
        data["fragment_words"] = tuple(int(v) for v in data["fragment_words"])
    if "vectorizer" in data:
        vec = vectorizer_table(data["vectorizer"])
        if isinstance(vec, dict):
            merged = {**base.vectorizer.to_dict(), **vec}
            if "negation" in vec and "tokenizer" not in vec:  # the base's tokenizer name gives way to the setting
                merged.pop("tokenizer")
            data["vectorizer"] = VectorizerConfig.from_dict(merged)
    try:
        return replace(base, **data)
    except TypeError as exc:
        raise ImdbEdgeError(f"bad training setting: {exc}") from None


def profile_names() -> list[str]:
    from importlib import resources

    folder = resources.files("imdb_edge.train") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> dict[str, Any]:
    """A named training profile shipped with the package (e.g. `reference`)."""
    from importlib import resources

    if name not in profile_names():
        raise ImdbEdgeError(f"unknown profile {name!r}; choose from {', '.join(profile_names())}")
    return load_toml(Path(str(resources.files("imdb_edge.train") / "profiles" / f"{name}.toml")))


def load_toml(path: str | Path) -> dict[str, Any]:
    # Imported here: cli.py imports this module on every command, and Python 3.10
    # has no tomllib (the [train] extra installs tomli there).
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ImdbEdgeError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ImdbEdgeError(f"{path} is not valid TOML: {exc}") from None
