"""The reference model family: multi-hot input -> Dense stack -> sigmoid."""

from __future__ import annotations

from typing import Any

from imdb_edge.train.config import TrainConfig


def build_model(config: TrainConfig, input_width: int) -> Any:
    """A compiled Keras Sequential model for `config` (weights seeded by the caller)."""
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    layers: list[Any] = [keras.Input(shape=(input_width,), name="features")]
    for index, units in enumerate(config.hidden):
        layers.append(
            keras.layers.Dense(
                units,
                activation=config.activation,
                kernel_regularizer=regularizer,
                name=f"hidden_{index}",
            )
        )
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{index}"))
    layers.append(keras.layers.Dense(1, activation="sigmoid", name="score"))
    model = keras.Sequential(layers, name="imdb_mlp")

    optimizers = {
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
    }
    optimizer_class = optimizers[config.optimizer]
    optimizer = (
        optimizer_class() if config.learning_rate is None else optimizer_class(learning_rate=config.learning_rate)
    )
    model.compile(optimizer=optimizer, loss=config.loss, metrics=["accuracy"])
    return model
