"""ScaledBag: the first layer of the bag-of-n-grams models, as an embedding sum.

For a review with unique term ids T, output = activation(bias + sum_{t in T} scale[t] * table[t]).
That equals Dense(multi_hot * scale), the reference model's first layer on
(optionally Naive-Bayes-scaled) multi-hot input, without ever building the
vocabulary-wide vector: training and export scale to hundreds of thousands of terms.
Id `vocabulary_size` is padding: its scale is 0. `dropout` drops whole terms of a
review while training (scaled up like Keras's Dropout), so no single n-gram carries
a review; at inference every term counts and the function above is unchanged.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="imdb_edge")
class ScaledBag(keras.layers.Layer):
    def __init__(
        self,
        vocabulary_size: int,
        units: int,
        activation: str | None = None,
        l2: float = 0.0,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.units = units
        self.activation = keras.activations.get(activation)
        self.l2 = l2
        self.dropout = dropout
        self.seed_generator = keras.random.SeedGenerator() if dropout > 0 else None

    def build(self, input_shape: Any) -> None:
        self.table = self.add_weight(
            name="table",
            shape=(self.vocabulary_size + 1, self.units),
            initializer=keras.initializers.GlorotUniform(),
            regularizer=keras.regularizers.L2(self.l2) if self.l2 > 0 else None,
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.scale = self.add_weight(
            name="scale", shape=(self.vocabulary_size + 1,), initializer="ones", trainable=False
        )
        self.scale.assign(np.append(np.ones(self.vocabulary_size, np.float32), 0.0))

    def set_scale(self, weights: np.ndarray | None) -> None:
        """Per-term input scaling (Naive-Bayes ratios); padding keeps 0."""
        values = np.ones(self.vocabulary_size, np.float32) if weights is None else np.asarray(weights, np.float32)
        self.scale.assign(np.append(values, 0.0).astype(np.float32))

    def call(self, ids: Any, training: bool | None = None) -> Any:
        ops = keras.ops
        rows = ops.take(self.table, ids, axis=0)
        weights = ops.take(self.scale, ids, axis=0)
        if training and self.seed_generator is not None:
            weights = keras.random.dropout(weights, self.dropout, seed=self.seed_generator)
        weights = ops.expand_dims(weights, -1)
        return self.activation(ops.sum(rows * weights, axis=1) + self.bias)

    def folded_kernel(self) -> np.ndarray:
        """The equivalent Dense kernel on plain multi-hot input: table rows times their scale."""
        table = keras.ops.convert_to_numpy(self.table)[: self.vocabulary_size]
        scale = keras.ops.convert_to_numpy(self.scale)[: self.vocabulary_size]
        return (table * scale[:, None]).astype(np.float32)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "l2": self.l2,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="imdb_edge")
class WideHead(keras.layers.Layer):
    """The output of a wide model: a linear model and a one-hidden-layer model in one table.

    Input: the bag's linear output [batch, 1 + units]. Column 0 is the linear model's
    score; columns 1.. are the hidden layer before its activation. Output:
    sigmoid(column 0 + activation(columns 1..) @ kernel + bias). Both models share one
    Gather, so the ensemble costs one table lookup per term. Not trained as such: the
    two models are trained apart and folded in (training.fold_wide).
    """

    def __init__(self, units: int, activation: str = "relu", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(name="kernel", shape=(self.units, 1), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        hidden = self.activation(inputs[:, 1:])
        return ops.sigmoid(inputs[:, :1] + ops.matmul(hidden, self.kernel) + self.bias)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "activation": keras.activations.serialize(self.activation)}
