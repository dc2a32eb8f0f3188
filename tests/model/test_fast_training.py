"""The compiled training path (``train_mlp(..., fast=True)``): learning, early stopping,
determinism, NaN, conversion, equivalence with ``keras.Model.fit``, no retracing."""

from __future__ import annotations

import resource

import numpy as np
import pytest

from automl.errors import DataError
from automl.model import MLPConfig, train_mlp


def blobs(n: int, k: int, n_classes: int, seed: int, spread: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k) float32`` points in [0, 1] around one random centre per class, and ``(n,) int64`` labels."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(100).uniform(0.2, 0.8, (n_classes, k))
    y = rng.integers(0, n_classes, n)
    x = np.clip(centres[y] + rng.normal(0.0, spread, (n, k)), 0.0, 1.0).astype(np.float32)
    return x, y.astype(np.int64)


def val_loss(model, x: np.ndarray, y: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy (nats) of the model's probabilities, in float64."""
    p = np.asarray(model(x, training=False), np.float64)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def test_learns_separable_toy_problem():
    x, y = blobs(400, 6, 3, seed=1)
    xv, yv = blobs(200, 6, 3, seed=2)
    result = train_mlp(x, y, 3, MLPConfig(layers=(16, 8), dropout=0.1, epochs=60, seed=0), xv, yv)
    pred = np.asarray(result.model(xv, training=False)).argmax(axis=1)
    assert (pred == yv).mean() >= 0.99
    assert result.history["loss"][-1] < result.history["loss"][0] / 4


def test_without_validation_runs_every_epoch():
    x, y = blobs(150, 4, 2, seed=3)
    result = train_mlp(x, y, 2, MLPConfig(layers=(8,), epochs=7, seed=0))
    assert result.best_epoch == 7
    assert set(result.history) == {"loss"} and len(result.history["loss"]) == 7


def test_early_stopping_restores_best_val_loss_weights():
    # Validation labels agree with the training rule on ~70 % of windows only: the
    # validation loss falls while the model's confidence approaches 0.7, then rises as
    # it goes on towards 1 on the (separable) training data. So the minimum is inside.
    x, y = blobs(300, 4, 2, seed=4, spread=0.08)
    xv, yv = blobs(300, 4, 2, seed=5, spread=0.08)
    flip = np.random.default_rng(6).random(len(yv)) < 0.3
    yv = np.where(flip, 1 - yv, yv)
    config = MLPConfig(layers=(16,), dropout=0.0, learning_rate=3e-3, batch_size=32, epochs=200, patience=5, seed=0)
    result = train_mlp(x, y, 2, config, xv, yv)
    history = np.asarray(result.history["val_loss"])
    best = int(np.argmin(history)) + 1
    assert 1 < best < len(history)                      # it did fall, then rise
    assert result.best_epoch == best
    assert len(history) == best + config.patience       # stopped by patience, not by the epoch limit
    assert history[-1] > history.min()
    assert val_loss(result.model, xv, yv) == pytest.approx(history.min(), abs=1e-5)


def test_same_seed_same_model_other_seed_other_model():
    x, y = blobs(300, 5, 3, seed=7)
    xv, yv = blobs(100, 5, 3, seed=8)
    config = MLPConfig(layers=(12, 8), dropout=0.2, epochs=15, seed=3)
    a, b = (train_mlp(x, y, 3, config, xv, yv) for _ in range(2))
    assert a.history == b.history and a.best_epoch == b.best_epoch
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = train_mlp(x, y, 3, MLPConfig(layers=(12, 8), dropout=0.2, epochs=15, seed=4), xv, yv)
    assert c.history["loss"] != a.history["loss"]


@pytest.mark.parametrize("fast", [True, False])
def test_nan_loss_raises_floating_point_error(fast):
    # An infinite learning rate makes the weights inf after the first update, so
    # the second batch's loss, and epoch 1's mean, is NaN. (A NaN *input* is no
    # reliable trigger: oneDNN's fused MatMul+BiasAdd+ReLU maps NaN to 0 on some
    # CPUs, and the loss stays finite.)
    x, y = blobs(100, 4, 2, seed=9)
    with pytest.raises(FloatingPointError, match="NaN at epoch 1"):
        train_mlp(x, y, 2, MLPConfig(layers=(8,), epochs=3, seed=0, learning_rate=float("inf"), batch_size=32),
                  fast=fast)


def test_labels_out_of_range_are_named():
    x, y = blobs(50, 4, 2, seed=10)
    with pytest.raises(DataError, match="'y' labels must be class indices in \\[0, 2\\)"):
        train_mlp(x, y + 1, 2, MLPConfig(layers=(8,), epochs=2))


@pytest.mark.parametrize("layers", [(8, 6), ()], ids=["8-6", "linear"])
def test_same_weights_as_keras_fit_without_randomness(layers):
    # One batch per epoch (batch_size >= n: the shuffle order does not matter) and no
    # dropout: both paths are the same arithmetic, so the same weights to float32 rounding.
    # No hidden layer: a linear softmax classifier (one Dense layer), the same on both paths.
    x, y = blobs(120, 5, 3, seed=11, spread=0.15)
    xv, yv = blobs(60, 5, 3, seed=12, spread=0.15)
    config = MLPConfig(layers=layers, dropout=0.0, batch_size=128, epochs=20, patience=3, seed=2)
    fast, plain = (train_mlp(x, y, 3, config, xv, yv, fast=f) for f in (True, False))
    assert fast.best_epoch == plain.best_epoch
    np.testing.assert_allclose(fast.history["loss"], plain.history["loss"], atol=1e-5)
    np.testing.assert_allclose(fast.history["val_loss"], plain.history["val_loss"], atol=1e-5)
    assert len(fast.model.get_weights()) == 2 * (len(layers) + 1)
    for wf, wp in zip(fast.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_allclose(wf, wp, atol=1e-5)


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_hand_written_gradient_equals_autodiff_with_dropout(rate):
    # One Adam step on one batch, compared with tf.GradientTape through the same masks.
    # epsilon = 1 makes the step ~ proportional to the gradient (with Keras' 1e-7 the
    # first Adam step is lr * sign(g), which would hide magnitude errors).
    import tensorflow as tf

    from automl.model._fast import _dropout_mask, _epoch_order, _trainer

    rng = np.random.default_rng(15)
    n, dims, lr, eps = 50, (5, 7, 6, 3), 10.0, 1.0
    x = rng.uniform(0, 1, (n, dims[0])).astype(np.float32)
    y = rng.integers(0, dims[-1], n).astype(np.int32)
    w0 = []
    for a, b in zip(dims[:-1], dims[1:]):
        w0 += [rng.normal(0, 0.5, (a, b)).astype(np.float32), rng.normal(0, 0.1, b).astype(np.float32)]

    def variables(values):
        return tuple(tf.Variable(a, shape=tf.TensorShape([None] * a.ndim)) for a in values)

    w, best = variables(w0), variables(w0)
    m, v = variables([np.zeros_like(a) for a in w0]), variables([np.zeros_like(a) for a in w0])
    seed = tf.constant([5, 0], tf.int64)
    _trainer(2, True)(x, y, x[:0], y[:0], *[tuple(q.handle for q in g) for g in (w, m, v, best)], seed,
                      *(tf.constant(c, tf.float32) for c in (lr, rate, 0.9, 0.999, eps)),
                      tf.constant(1), tf.constant(64), tf.constant(5))

    e0 = tf.constant(0, tf.int64)
    order = _epoch_order(seed, e0, n)
    masks = [_dropout_mask(seed, e0, i, [1, n, u], rate)[0] for i, u in enumerate(dims[1:-1])]
    wc = [tf.constant(a) for a in w0]
    with tf.GradientTape() as tape:
        tape.watch(wc)
        h = tf.gather(x, order)
        for i in range(2):
            h = tf.nn.relu(h @ wc[2 * i] + wc[2 * i + 1]) * masks[i]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.gather(y, order), h @ wc[4] + wc[5]))
    for a0, got, g in zip(w0, w, tape.gradient(loss, wc)):
        g = g.numpy().astype(np.float64)
        # Adam step 1: m = 0.1 g, v = 0.001 g^2, step = lr sqrt(1 - 0.999) / (1 - 0.9) * m / (sqrt(v) + eps).
        expected = a0 - lr * np.sqrt(0.001) / 0.1 * (0.1 * g) / (np.sqrt(0.001 * g * g) + eps)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-6)
        assert np.abs(expected - a0).max() > 1e-3  # the step is visible above the tolerance


def test_converts_to_int8_tflite():
    from automl.quantization import TFLiteModel, convert

    x, y = blobs(300, 6, 3, seed=13)
    result = train_mlp(x, y, 3, MLPConfig(layers=(16, 8), learning_rate=1e-2, epochs=60, seed=0))
    tflite = convert(result.model, x, "int8")
    assert isinstance(tflite, bytes) and len(tflite) > 0
    model = TFLiteModel(tflite)
    assert model.quantized
    keras_pred = np.asarray(result.model(x, training=False)).argmax(axis=1)
    assert (keras_pred == y).mean() >= 0.97
    assert (model.predict(x) == keras_pred).mean() >= 0.97


def test_no_retracing_or_growth_over_30_calls_with_different_shapes():
    from automl.model._fast import _trainer

    rng = np.random.default_rng(14)
    rss_mb = []
    for i in range(30):
        k, n_classes, n = int(rng.integers(4, 33)), int(rng.integers(2, 6)), int(rng.integers(30, 200))
        layers = tuple(int(u) for u in rng.integers(4, 33, 1 + i % 3))
        x, y = blobs(n, k, n_classes, seed=i)
        xv, yv = (blobs(40, k, n_classes, seed=100 + i) if i % 2 else (None, None))
        config = MLPConfig(layers=layers, dropout=0.1 * (i % 4 > 0), epochs=3, batch_size=int(rng.integers(16, 80)))
        train_mlp(x, y, n_classes, config, xv, yv)
        rss_mb.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for n_hidden in (1, 2, 3):
        for dropout in (False, True):
            assert _trainer(n_hidden, dropout).experimental_get_tracing_count() == 1
    assert rss_mb[-1] - rss_mb[9] < 30, f"peak RSS grew from {rss_mb[9]:.0f} MB to {rss_mb[-1]:.0f} MB"
