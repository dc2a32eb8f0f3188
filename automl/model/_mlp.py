"""A small dense network (the SensiML "TensorFlow Lite for Microcontrollers" MLP)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from automl.errors import ConfigError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass(frozen=True)
class MLPConfig:
    """Architecture and training settings of one MLP.

    Attributes:
        layers: hidden layer widths (units), 0 to 3 layers, each >= 1; no hidden layer is a
            linear softmax classifier (multinomial logistic regression on the features).
        dropout: dropout rate after each hidden layer, in [0, 1) (unused without one).
        learning_rate: Adam learning rate.
        epochs: maximum epochs.
        batch_size: mini-batch size (windows).
        patience: early-stopping patience (epochs) on validation loss.
        seed: seed for weights, dropout and shuffling.
    """

    layers: tuple[int, ...] = (12, 8)
    dropout: float = 0.1
    learning_rate: float = 3e-3
    epochs: int = 100
    batch_size: int = 64
    patience: int = 10
    seed: int = 0

    def check(self) -> None:
        """Raise ConfigError naming the parameter if a value is out of range."""
        if not 0 <= len(self.layers) <= 3 or any(int(u) < 1 for u in self.layers):
            raise ConfigError(f"The 'layers' parameter must be 0 to 3 positive widths. Got {list(self.layers)!r} instead.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"The 'dropout' parameter must be in [0, 1). Got {self.dropout!r} instead.")
        if not self.learning_rate > 0:
            raise ConfigError(f"The 'learning_rate' parameter must be > 0. Got {self.learning_rate!r} instead.")
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(f"The {name!r} parameter must be an int >= {low}. Got {value!r} instead.")


@dataclass
class TrainResult:
    """Outcome of one training run.

    Attributes:
        model: the trained ``keras.Model`` (best weights restored if validation
            data was given).
        best_epoch: 1-based epoch with the lowest validation loss (or the last
            epoch without validation data).
        history: per-epoch ``loss`` and (if any) ``val_loss``.
    """

    model: object
    best_epoch: int
    history: dict = field(default_factory=dict)


def build_mlp(n_inputs: int, n_classes: int, config: MLPConfig, steps_per_execution: int = 1,
              compile: bool = True):
    """Build (and compile) a dense ReLU network with a softmax output.

    Input is the scaled feature vector ``(batch, n_inputs) float32`` in [0, 1]
    (the uint8 scaler output divided by 255); output ``(batch, n_classes)``
    class probabilities.

    Kernels are Glorot-uniform and biases zero (Keras' Dense defaults), drawn
    from a ``keras.random.SeedGenerator(config.seed)``: the same seed gives the
    same initial weights, and no global random state is set (setting
    TensorFlow's global seed clears its kernel cache, which would make the
    compiled training graph of :mod:`automl.model._fast` be re-optimised at
    every call, ~0.3 s).

    Args:
        n_inputs: input width (features).
        n_classes: output width (classes).
        config: architecture and optimiser settings.
        steps_per_execution: batches per compiled call (Keras).
        compile: attach the Adam optimiser and loss (``model.fit`` needs them;
            the fast path trains the weights itself and skips this, ~40 ms).

    Raises:
        ConfigError: on an invalid configuration or ``n_inputs``/``n_classes`` < 1/2.
    """
    import keras

    config.check()
    if n_inputs < 1 or n_classes < 2:
        raise ConfigError(f"An MLP needs >= 1 input and >= 2 classes. Got n_inputs={n_inputs}, n_classes={n_classes}.")
    seeds = keras.random.SeedGenerator(config.seed)
    layers = [keras.Input((n_inputs,))]
    for i, units in enumerate(config.layers):
        layers.append(keras.layers.Dense(int(units), activation="relu",
                                         kernel_initializer=keras.initializers.GlorotUniform(seed=seeds)))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, seed=config.seed * len(config.layers) + i))
    layers.append(keras.layers.Dense(n_classes, activation="softmax",
                                     kernel_initializer=keras.initializers.GlorotUniform(seed=seeds)))
    model = keras.Sequential(layers)
    if not compile:
        return model
    # steps_per_execution runs a whole epoch in one compiled call (measured on the
    # boxing data: 9.3 s -> 6.4 s for 50 epochs of 2,600 windows, same losses).
    model.compile(keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    return model


def train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    config: MLPConfig,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    epochs: int | None = None,
    fast: bool = True,
) -> TrainResult:
    """Train a fresh MLP, with early stopping on validation loss if given.

    Two paths with the same semantics (batches, Adam, dropout, early stopping
    with best-weight restore, NaN check) and the same initial weights:
    ``fast=True`` trains the weights in one compiled TensorFlow call
    (:func:`automl.model._fast.fit_fast`; 14-28x less CPU time on the boxing
    data, ``benchmarks/training.py``); ``fast=False`` is the plain
    ``keras.Model.fit`` with callbacks, kept for comparison. They differ only
    in their random streams (shuffle order, dropout masks), so results of the
    same seed differ between the paths but not in distribution; each path is
    deterministic for a seed.

    Args:
        x: ``(n_windows, n_inputs) float32`` scaled features in [0, 1].
        y: ``(n_windows,) int64`` class indices.
        n_classes: number of classes (output width).
        config: architecture and training settings.
        x_val: optional ``(n_val, n_inputs) float32`` validation features.
        y_val: optional ``(n_val,) int64`` validation labels.
        epochs: override ``config.epochs`` (used to retrain on all data for the
            cross-validated best epoch count).
        fast: compiled training loop (default) or plain ``model.fit``.

    Returns:
        The trained model and its best epoch.

    Raises:
        ConfigError: on an invalid configuration.
        DataError: (fast path) on inconsistent shapes or labels out of range.
        FloatingPointError: if the training loss becomes NaN.
    """
    import keras

    if fast:
        from automl.model._fast import fit_fast

        model = build_mlp(x.shape[1], n_classes, config, compile=False)
        best_epoch, history = fit_fast(model, x, y, n_classes, config, x_val, y_val, epochs)
        return TrainResult(model=model, best_epoch=best_epoch, history=history)
    keras.utils.set_random_seed(config.seed)  # fit's shuffle order
    steps = max(1, -(-x.shape[0] // config.batch_size))
    model = build_mlp(x.shape[1], n_classes, config, steps_per_execution=steps)
    callbacks = [keras.callbacks.TerminateOnNaN()]
    validation = None
    if x_val is not None and len(x_val):
        validation = (x_val, y_val)
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True))
    hist = model.fit(
        x, y, epochs=int(epochs or config.epochs), batch_size=config.batch_size,
        validation_data=validation, callbacks=callbacks, verbose=0, shuffle=True,
    ).history
    losses = np.asarray(hist.get("loss", [np.nan]), dtype=float)
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError(f"training loss became NaN at epoch {int(np.argmin(np.isfinite(losses))) + 1}")
    if validation is not None:
        best_epoch = int(np.argmin(hist["val_loss"])) + 1
    else:
        best_epoch = len(losses)
    return TrainResult(model=model, best_epoch=best_epoch, history={k: list(map(float, v)) for k, v in hist.items()})
