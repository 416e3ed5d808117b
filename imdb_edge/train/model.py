"""The model family: Dense stacks on multi-hot input, or the same on a bag of term ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from imdb_edge.runtime.modelfile.schema import DENSE, INPUT_NAMES, SCORE_OUTPUT, TOKEN_IDS
from imdb_edge.train.config import TrainConfig


def _optimizer(config: TrainConfig) -> Any:
    import keras

    optimizers = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
    optimizer_class = optimizers[config.optimizer]
    return optimizer_class() if config.learning_rate is None else optimizer_class(learning_rate=config.learning_rate)


def build_model(
    config: TrainConfig, input_width: int, feature_weights: np.ndarray | None = None, classes: int = 2
) -> Any:
    """A compiled Keras model for `config` (weights seeded by the caller): one sigmoid output for two labels,
    a softmax over `classes` labels for more (trained with sparse categorical cross-entropy).

    dense: multi-hot [batch, V] -> Dense stack (the reference family).
    bag: term ids [batch, terms] (padded with V) -> ScaledBag -> Dense stack; the same
    function, but cost grows with the review, not the vocabulary. wide: the shape that
    holds a linear model and a one-hidden-layer model in one bag (training.fold_wide
    fills it from the two trained models). `feature_weights`
    (Naive-Bayes ratios) scale the bag's input; for dense they are applied to the input.
    """
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    hidden = list(config.hidden)
    output = (1, "sigmoid") if classes == 2 else (classes, "softmax")
    layers: list[Any] = []
    if config.architecture == "bag":
        from imdb_edge.train.layers import ScaledBag

        layers.append(keras.Input(shape=(None,), dtype="int32", name=INPUT_NAMES[TOKEN_IDS]))
        if config.wide:  # linear model + one hidden layer, sharing the bag: ScaledBag(1 + units) -> WideHead
            from imdb_edge.train.layers import WideHead

            units = hidden.pop(0)
            first_units, first_activation = 1 + units, None
        else:
            first_units, first_activation = (hidden.pop(0), config.activation) if hidden else output
        bag = ScaledBag(
            input_width, first_units, first_activation, l2=config.l2, dropout=config.bag_dropout, name="bag"
        )
        layers.append(bag)
        if config.wide:
            layers.append(WideHead(units, config.activation, name="wide_head"))
        elif config.dropout > 0 and config.hidden:
            layers.append(keras.layers.Dropout(config.dropout, name="dropout_bag"))
    else:
        layers.append(keras.Input(shape=(input_width,), name=INPUT_NAMES[DENSE]))
    for index, units in enumerate(hidden):
        layers.append(
            keras.layers.Dense(
                units, activation=config.activation, kernel_regularizer=regularizer, name=f"hidden_{index}"
            )
        )
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{index}"))
    if config.architecture == "dense" or (config.hidden and not config.wide):
        layers.append(keras.layers.Dense(output[0], activation=output[1], name=SCORE_OUTPUT))
    model = keras.Sequential(layers, name=f"imdb_{config.architecture}")
    if config.architecture == "bag":
        model.build((None, None))
        bag.set_scale(feature_weights)
    loss = config.loss if classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=_optimizer(config), loss=loss, metrics=["accuracy"])
    return model
