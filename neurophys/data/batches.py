"""One pass over a data set in minibatches: the shuffle every training loop uses.

>>> import numpy
>>> from neurophys.data import minibatches, minibatch_indices
>>> x, y = numpy.arange(10.0).reshape(5, 2), numpy.arange(5)
>>> [len(yb) for _, yb in minibatches(x, y, batch_size=2, rng=numpy.random.default_rng(0))]
[2, 2, 1]
>>> [idx.tolist() for idx in minibatch_indices(5, 2, shuffle=False)]
[[0, 1], [2, 3], [4]]
"""
from __future__ import annotations

import numpy

from .. import backend as B


def minibatch_indices(n: int, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False, xp=None):
    """Yield the index arrays of the minibatches of one pass over ``n`` examples.

    The order is ``rng.permutation(n)`` (``rng`` a NumPy generator; a fresh unseeded one if
    None), drawn when the first batch is asked for, or 0..n−1 without ``shuffle``. The indices
    live on ``xp`` (default: the active backend), ready to index arrays there.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n, batch_size = int(n), int(batch_size)
    order = (rng or numpy.random.default_rng()).permutation(n) if shuffle else numpy.arange(n)
    order = (xp or B.xp()).asarray(order)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def minibatches(x, y, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False):
    """Yield ``(x_batch, y_batch)`` over one pass of (x, y); ``rng`` is a NumPy generator for the shuffle
    (see :func:`minibatch_indices`)."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    for idx in minibatch_indices(len(x), batch_size, rng, shuffle, drop_last, xp=B.get_array_module(x)):
        yield x[idx], y[idx]
