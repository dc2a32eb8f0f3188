"""Training of a tiny MLP in one compiled TensorFlow call (issue 7, "Fast").

``keras.Model.fit`` pays Python and callback overhead for every batch and
epoch; for the networks of this product (<= 3 hidden layers of <= 32 units,
a few thousand windows) that overhead is nearly all of the time (11-17 s for
100 epochs of 2,588 boxing windows with one TensorFlow thread, against well
under a second here; ``benchmarks/training.py`` measures both). Here every epoch and
every mini-batch runs inside one ``tf.function`` (two nested
``tf.while_loop``), with the forward pass, a hand-written backward pass, one
fused ``ResourceApplyAdam`` kernel per weight tensor, the validation loss of
every epoch and the early-stopping bookkeeping all in the graph. The Keras
model is only the container: its initial weights are read, trained here and
written back, so the caller still gets a ``keras.Model`` for the converter.

The semantics are those of the plain path, ``model.fit(x, y, epochs,
batch_size, shuffle=True, validation_data, callbacks=[TerminateOnNaN,
EarlyStopping(monitor="val_loss", patience, restore_best_weights=True)])``:

* each epoch visits every window once in a fresh random order, in batches of
  ``batch_size`` with a smaller last batch; the loss of a batch is the mean
  sparse categorical cross-entropy of its windows (computed from the logits,
  as Keras does for a softmax output);
* Adam with Keras' defaults (beta_1 0.9, beta_2 0.999, epsilon 1e-7, the
  epsilon added to ``sqrt(v)``, bias correction folded into the step size);
* inverted dropout after each hidden ReLU (keep with probability
  ``1 - rate``, scale kept units by ``1 / (1 - rate)``), off for validation;
* the epoch loss is the mean over the epoch's windows of the training-mode
  loss (Keras weights each batch mean by its size); a NaN or infinite epoch
  loss ends training (``TerminateOnNaN`` ends it at the batch) and
  :func:`fit_fast` raises ``FloatingPointError`` like the plain path;
* early stopping as ``keras.callbacks.EarlyStopping``: an epoch improves if
  its validation loss is strictly below the best so far; training stops
  after ``patience`` epochs without improvement; the weights of the best
  epoch are restored (those of epoch 1 if no epoch improved).

With one batch per epoch and no dropout the two paths give the same weights
to float32 rounding (tested). Otherwise only the random streams differ:
shuffling and dropout use stateless random ops keyed by ``config.seed``
(fold-in of the epoch and layer), so a seed gives the same result in any
process, whatever ran before. The initial weights are those of
:func:`automl.model.build_mlp` (Glorot uniform, seeded), the same as the
plain path's.

No state is kept between calls: the weights, Adam moments and best weights
are fresh ``tf.Variable`` objects of the call, handed to the graph as
resource handles. The only thing cached is the traced graph itself, one per
(number of hidden layers, dropout on/off): at most 3 x 2 = 6 graphs, traced
with fully dynamic shapes (``input_signature``), so new widths, input sizes,
class counts or data sizes never retrace. TensorFlow instantiates (graph-
optimises) a traced graph once per process, ~0.2-0.3 s; setting TensorFlow's
global seed (``tf.random.set_seed``, ``keras.utils.set_random_seed``) or
``keras.backend.clear_session()`` empties that cache, so the next call pays
it again (the fast path itself does neither).
"""

from __future__ import annotations

import functools

import numpy as np

from automl.errors import ConfigError, DataError

# Keras' Adam defaults (keras.optimizers.Adam: beta_1=0.9, beta_2=0.999, epsilon=1e-7).
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7


def _epoch_order(seed, epoch, n):
    """``(n,) int32`` visiting order of the windows in epoch ``epoch`` (0-based, ``int64`` scalar).

    A stateless shuffle keyed by ``fold_in(fold_in(seed, 1), epoch)``; ``seed``
    is the ``(2,) int64`` key of the run.
    """
    import tensorflow as tf

    key = tf.random.experimental.stateless_fold_in(tf.random.experimental.stateless_fold_in(seed, 1), epoch)
    return tf.random.experimental.stateless_shuffle(tf.range(n), key)


def _dropout_mask(seed, epoch, layer: int, shape, rate):
    """``shape float32`` inverted-dropout multipliers of hidden layer ``layer`` for one epoch.

    Each entry is ``1 / (1 - rate)`` with probability ``1 - rate`` (uniform
    draw ``>= rate``, as ``tf.nn.experimental.stateless_dropout``) and 0
    otherwise; keyed by ``fold_in(fold_in(fold_in(seed, 2), epoch), layer)``.
    ``shape`` is ``(steps, batch_size, units)``: one row per window slot of
    the epoch's batches.
    """
    import tensorflow as tf

    fold_in = tf.random.experimental.stateless_fold_in
    key = fold_in(fold_in(fold_in(seed, 2), epoch), layer)
    return tf.cast(tf.random.stateless_uniform(shape, key) >= rate, tf.float32) / (1.0 - rate)


@functools.lru_cache(maxsize=None)
def _trainer(n_hidden: int, dropout: bool):
    """The compiled training graph for ``n_hidden`` hidden layers (cached, <= 6 entries).

    The returned ``tf.function`` takes (all shapes dynamic):

    * ``x`` ``(n, n_inputs) float32``, ``y`` ``(n,) int32``: training data, ``n >= 1``;
    * ``x_val`` ``(n_val, n_inputs) float32``, ``y_val`` ``(n_val,) int32``
      (``n_val`` may be 0: the validation loss is then NaN and never improves);
    * four tuples of ``2 * (n_hidden + 1)`` resource handles of ``float32``
      variables, in Keras weight order (kernel ``(in, out)``, bias ``(out,)``
      per Dense layer): weights, Adam first and second moments (zero), best
      weights;
    * ``seed`` ``(2,) int64`` stateless-random key; scalars ``float32``:
      ``learning_rate``, dropout ``rate``, Adam ``beta_1``, ``beta_2``,
      ``epsilon``; scalars ``int32``: ``epochs``, ``batch_size``, ``patience``.

    and returns ``(n_epochs_run, loss, val_loss, best_epoch)``: an ``int32``
    count, two ``(n_epochs_run,) float32`` per-epoch mean losses (nats) and
    the 0-based best epoch ``int32``. Afterwards the weight variables hold the
    last weights, the best-weight variables those of the best epoch.
    """
    import tensorflow as tf

    n_layers = n_hidden + 1
    handles = tuple(tf.TensorSpec([], tf.resource) for _ in range(2 * n_layers))
    f32, i32 = tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32)
    signature = [
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32),
        handles, handles, handles, handles, tf.TensorSpec([2], tf.int64),
        f32, f32, f32, f32, f32, i32, i32, i32,
    ]

    def read(handle, rank):
        value = tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32)
        value.set_shape([None] * rank)  # known rank: MatMul rather than BatchMatMulV2
        return value

    def read_all(handles):
        return [read(h, 2 - i % 2) for i, h in enumerate(handles)]  # kernel (in, out), bias (out,)

    def logits_of(x, w, masks=None):
        """``(rows, n_classes)`` logits and each hidden layer's output (after dropout if ``masks``)."""
        h, hidden = x, []
        for i in range(n_hidden):
            h = tf.nn.relu(tf.nn.bias_add(tf.matmul(h, w[2 * i]), w[2 * i + 1]))
            if masks is not None:
                h = h * masks[i]
            hidden.append(h)
        return tf.nn.bias_add(tf.matmul(h, w[-2]), w[-1]), hidden

    @tf.function(input_signature=signature, autograph=False)
    def train(x, y, x_val, y_val, w_h, m_h, v_h, best_h, seed, learning_rate, rate, beta_1, beta_2, epsilon,
              epochs, batch_size, patience):
        n = tf.shape(x)[0]
        n_inputs = tf.shape(x)[1]
        bs = tf.minimum(batch_size, n)
        steps = (n + bs - 1) // bs
        n_pad = steps * bs
        # (steps, bs): 1 for a real window, 0 for the padding that fills the last batch.
        valid = tf.reshape(tf.cast(tf.range(n_pad) < n, tf.float32), [steps, bs])
        # (steps, bs, 1): each window's weight in its batch mean (1 / batch length, 0 for padding).
        row_scale = (valid / tf.reduce_sum(valid, axis=1, keepdims=True))[:, :, None]
        # Adam's beta powers for every step t = 1 .. epochs * steps.
        t_all = tf.cast(tf.range(1, epochs * steps + 1), tf.float32)
        beta_1_power, beta_2_power = tf.pow(beta_1, t_all), tf.pow(beta_2, t_all)
        # Made here, outside the loops, so it is a loop invariant fed once per loop; a
        # Python number inside the step body would be a Const node run at every step.
        axis0 = tf.constant(0)
        units = [tf.shape(read(w_h[2 * i], 2))[1] for i in range(n_hidden)]

        def epoch(e, t, best_loss, best_epoch, wait, stop, loss_hist, val_hist):
            e64 = tf.cast(e, tf.int64)
            order = tf.pad(_epoch_order(seed, e64, n), [[0, n_pad - n]])  # padding repeats window 0, weight 0
            xb = tf.reshape(tf.gather(x, order), [steps, bs, n_inputs])
            yb = tf.reshape(tf.gather(y, order), [steps, bs])
            masks = None
            if dropout:
                masks = [_dropout_mask(seed, e64, i, [steps, bs, units[i]], rate) for i in range(n_hidden)]

            def step(s, t, total):
                # tf.gather on the leading axis: one op per slice (x[s] would add Pack/StridedSlice ops).
                x_s, y_s = tf.gather(xb, s, axis=axis0), tf.gather(yb, s, axis=axis0)
                masks_s = [tf.gather(mk, s, axis=axis0) for mk in masks] if dropout else None
                w = read_all(w_h)
                logits, hidden = logits_of(x_s, w, masks_s)
                # loss (bs,) nats and d loss / d logits = softmax - one_hot, per window.
                loss, delta = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(features=logits, labels=y_s)
                delta = delta * tf.gather(row_scale, s, axis=axis0)  # d (batch mean loss) / d logits
                inputs = [x_s, *hidden]
                grads = [None] * (2 * n_layers)
                for i in reversed(range(n_layers)):
                    grads[2 * i] = tf.matmul(inputs[i], delta, transpose_a=True)
                    grads[2 * i + 1] = tf.reduce_sum(delta, axis=axis0)
                    if i > 0:
                        delta = tf.matmul(delta, w[2 * i], transpose_b=True)
                        if dropout:
                            delta = delta * masks_s[i - 1]
                        # ReLU gradient: the output is > 0 exactly where the input is (dropout keeps the sign).
                        delta = tf.raw_ops.ReluGrad(gradients=delta, features=hidden[i - 1])
                b1_t, b2_t = tf.gather(beta_1_power, t, axis=axis0), tf.gather(beta_2_power, t, axis=axis0)
                with tf.control_dependencies(grads):  # every gradient read the old weights first
                    updates = [
                        tf.raw_ops.ResourceApplyAdam(
                            var=wh, m=mh, v=vh, beta1_power=b1_t, beta2_power=b2_t,
                            lr=learning_rate, beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=g)
                        for wh, mh, vh, g in zip(w_h, m_h, v_h, grads)
                    ]
                batch_total = tf.reduce_sum(loss * tf.gather(valid, s, axis=axis0), axis=axis0)
                batch_total.set_shape([])
                with tf.control_dependencies(updates):
                    return s + 1, t + 1, total + batch_total

            _, t, total = tf.while_loop(lambda s, t, total: s < steps, step, (0, t, 0.0), parallel_iterations=1)
            with tf.control_dependencies([total, t]):
                w = read_all(w_h)
            train_loss = total / tf.cast(n, tf.float32)
            val_logits, _ = logits_of(x_val, w)
            val_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y_val, val_logits))
            better = val_loss < best_loss
            keep = tf.logical_or(better, tf.equal(e, 0))  # EarlyStopping keeps epoch 1's weights until one improves
            saves = [tf.raw_ops.AssignVariableOp(resource=bh, value=tf.where(keep, wi, bi))
                     for bh, wi, bi in zip(best_h, w, read_all(best_h))]
            with tf.control_dependencies(saves):
                wait = tf.where(better, 0, wait + 1)
                stop = tf.logical_or(
                    tf.logical_not(tf.math.is_finite(train_loss)),
                    tf.logical_and(tf.logical_not(better), tf.logical_and(wait >= patience, e > 0)))
                return (e + 1, t, tf.where(better, val_loss, best_loss), tf.where(better, e, best_epoch), wait, stop,
                        loss_hist.write(e, train_loss), val_hist.write(e, val_loss))

        start = (0, 0, tf.constant(np.inf, tf.float32), 0, 0, False,
                 tf.TensorArray(tf.float32, size=0, dynamic_size=True),
                 tf.TensorArray(tf.float32, size=0, dynamic_size=True))
        e, _, _, best_epoch, _, _, loss_hist, val_hist = tf.while_loop(
            lambda e, t, bl, be, wa, stop, lh, vh: tf.logical_and(e < epochs, tf.logical_not(stop)),
            epoch, start, parallel_iterations=1)
        return e, loss_hist.stack(), val_hist.stack(), best_epoch

    return train


def _as_xy(names: tuple[str, str], x, y, n_inputs: int | None, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as C-contiguous ``(n, n_inputs) float32`` and ``y`` as ``(n,) int32``, checked."""
    name, y_name = names
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y).reshape(-1)
    if x.ndim != 2:
        raise DataError(f"The '{name}' features must be 2-D (n_windows, n_inputs). Got shape {x.shape} instead.")
    if n_inputs is not None and x.shape[1] != n_inputs:
        raise DataError(f"The '{name}' features have {x.shape[1]} columns; the training features have {n_inputs}.")
    if y.shape[0] != x.shape[0]:
        raise DataError(f"Found input variables with inconsistent numbers of samples: '{name}' has {x.shape[0]} "
                        f"rows but '{y_name}' has {y.shape[0]} labels.")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"The '{y_name}' labels must be class indices in [0, {n_classes}). "
                        f"Got values in [{y.min()}, {y.max()}] instead.")
    return x, y.astype(np.int32)


def fit_fast(model, x: np.ndarray, y: np.ndarray, n_classes: int, config, x_val: np.ndarray | None = None,
             y_val: np.ndarray | None = None, epochs: int | None = None) -> tuple[int, dict]:
    """Train ``model``'s weights in place with the compiled loop; restore the best epoch's.

    Args:
        model: a fresh ``keras.Model`` from :func:`automl.model.build_mlp` for
            ``config`` (Dense layers only carry weights; kernel, bias order).
        x: ``(n_windows, n_inputs) float32`` scaled features in [0, 1], ``n_windows >= 1``.
        y: ``(n_windows,)`` integer class indices in ``[0, n_classes)``.
        n_classes: output width (classes).
        config: the :class:`automl.model.MLPConfig` (learning rate, batch size,
            epochs, patience, dropout, seed).
        x_val: optional ``(n_val, n_inputs) float32`` validation features;
            ``None`` or empty: no early stopping, the last epoch's weights are kept.
        y_val: ``(n_val,)`` integer validation labels.
        epochs: override ``config.epochs``.

    Returns:
        ``(best_epoch, history)``: the 1-based epoch whose weights the model now
        holds (the last epoch without validation data) and ``{"loss": [...],
        "val_loss": [...]}`` per epoch run (nats; ``val_loss`` only with
        validation data).

    Raises:
        DataError: on inconsistent shapes or labels out of range.
        ConfigError: if ``epochs`` < 1.
        FloatingPointError: if the training loss of an epoch is NaN or infinite.
    """
    import tensorflow as tf

    n_epochs = int(epochs if epochs is not None else config.epochs)
    if n_epochs < 1:
        raise ConfigError(f"The 'epochs' parameter must be >= 1. Got {n_epochs!r} instead.")
    x, y = _as_xy(("x", "y"), x, y, None, n_classes)
    if x.shape[0] == 0:
        raise DataError("The 'x' features have 0 windows; training needs at least one.")
    has_val = x_val is not None and len(x_val) > 0
    if has_val:
        x_val, y_val = _as_xy(("x_val", "y_val"), x_val, y_val, x.shape[1], n_classes)
    else:
        x_val, y_val = np.zeros((0, x.shape[1]), np.float32), np.zeros(0, np.int32)
    weights = [np.asarray(w, np.float32) for w in model.get_weights()]
    if len(weights) != 2 * (len(config.layers) + 1):
        raise ConfigError(f"The model has {len(weights)} weight tensors; an MLP with {len(config.layers)} hidden "
                          f"layers has {2 * (len(config.layers) + 1)}. Build it with build_mlp(..., config).")
    # Variables of unknown dimensions: the handle's shape is part of the key under which
    # TensorFlow instantiates (and graph-optimises, ~0.3 s) the function, so known shapes
    # would cost that at every new width; unknown ones reuse one instantiation.

    def variables(values):
        return [tf.Variable(a, shape=tf.TensorShape([None] * a.ndim)) for a in values]

    w, best = variables(weights), variables(weights)
    m, v = variables([np.zeros_like(a) for a in weights]), variables([np.zeros_like(a) for a in weights])
    # Without validation data, patience beyond the last epoch: every epoch runs.
    patience = int(config.patience) if has_val else n_epochs + 1
    train = _trainer(len(config.layers), float(config.dropout) > 0.0)
    n_run, loss, val_loss, best_epoch = train(
        x, y, x_val, y_val, tuple(h.handle for h in w), tuple(h.handle for h in m), tuple(h.handle for h in v),
        tuple(h.handle for h in best), tf.constant([int(config.seed), 0], tf.int64),
        *(tf.constant(c, tf.float32) for c in (config.learning_rate, config.dropout, ADAM_BETA_1, ADAM_BETA_2,
                                               ADAM_EPSILON)),
        tf.constant(n_epochs, tf.int32), tf.constant(int(config.batch_size), tf.int32),
        tf.constant(min(patience, np.iinfo(np.int32).max), tf.int32))
    loss = loss.numpy().astype(float)
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        raise FloatingPointError(f"training loss became NaN at epoch {int(bad[0]) + 1}")
    history = {"loss": loss.tolist()}
    if has_val:
        history["val_loss"] = val_loss.numpy().astype(float).tolist()
        model.set_weights([b.numpy() for b in best])
        return int(best_epoch) + 1, history
    model.set_weights([a.numpy() for a in w])
    return int(n_run), history
