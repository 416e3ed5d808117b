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
    vectorizer: VectorizerConfig = field(default_factory=VectorizerConfig)

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
