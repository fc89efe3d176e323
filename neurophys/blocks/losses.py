"""Energies and losses, each returning its value and its gradient.

All functions take a batch: predictions of shape (batch, n) and targets of the
same shape (or integer labels for the cross-entropy), and average over the batch.
"""
from __future__ import annotations

from .. import validate as V
from ..backend import get_array_module


def _check_same_shape(y, t):
    y = V.as_float_array("y (the prediction)", y, finite=False)  # NaN from a diverged model: the loop reports it
    t = V.as_float_array("t (the target)", t)
    if y.shape != t.shape:
        raise V.NeurophysInputError(f"prediction shape {tuple(y.shape)} and target shape {tuple(t.shape)} differ")
    return y, t


def squared_error(y, t):
    """E = (1/N) Σ_n ½‖y_n − t_n‖²  (the 'energy' of a prediction)."""
    y, t = _check_same_shape(y, t)
    d = y - t
    return 0.5 * float((d * d).sum()) / y.shape[0]


def squared_error_grad(y, t):
    """∂E/∂y = (y − t) / N."""
    y, t = _check_same_shape(y, t)
    return (y - t) / y.shape[0]


def log_softmax(z):
    """log p_k = z_k − log Σ_j e^{z_j}, shifted by max z for stability."""
    xp = get_array_module(z)
    z = z - z.max(axis=1, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))


def softmax(z):
    """p_k = e^{z_k} / Σ_j e^{z_j}."""
    return get_array_module(z).exp(log_softmax(z))


def one_hot(labels, n_classes: int, dtype=None):
    """Rows of the identity: one_hot([2], 3) = [[0, 0, 1]]."""
    labels = V.labels("labels", labels, n_classes)
    xp = get_array_module(labels)
    out = xp.zeros((labels.shape[0], n_classes), dtype=dtype or "float32")
    out[xp.arange(labels.shape[0]), labels] = 1
    return out


def _check_labels(z, labels):
    z = V.as_float_array("z (the logits)", z, ndim=2, finite=False)
    return z, V.labels("labels", labels, z.shape[1], n=z.shape[0])


def softmax_cross_entropy(z, labels):
    """L = −(1/N) Σ_n log softmax(z_n)[label_n]  for logits z and integer labels."""
    z, labels = _check_labels(z, labels)
    xp = get_array_module(z)
    logp = log_softmax(z)
    return -float(logp[xp.arange(z.shape[0]), labels].sum()) / z.shape[0]


def softmax_cross_entropy_grad(z, labels):
    """∂L/∂z = (softmax(z) − onehot(label)) / N."""
    z, labels = _check_labels(z, labels)
    return (softmax(z) - one_hot(labels, z.shape[1], dtype=z.dtype)) / z.shape[0]


def accuracy(z, labels) -> float:
    """Fraction of rows whose argmax equals the label."""
    z, labels = _check_labels(z, labels)
    return float((z.argmax(axis=1) == labels).mean())
