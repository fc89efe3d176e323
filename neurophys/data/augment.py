"""Data augmentation: new training examples from old ones, the label unchanged."""
from __future__ import annotations

import numpy

from .. import backend as B


def shift_images(x, max_shift: int, rng, size: int = 28):
    """Each size×size image moved by its own random (dy, dx), |dy|, |dx| ≤ max_shift, zeros fill in.

    x: flattened images (n, size²); rng: a NumPy generator (draws dy, then dx, for all images).
    Pad by max_shift on every side, then crop the size×size window offset by (dy, dx).
    Returns a new (n, size²) array (``x`` itself when max_shift = 0).

    >>> import numpy
    >>> img = numpy.zeros((1, 9), numpy.float32); img[0, 4] = 1.0        # a 3×3 image, centre pixel on
    >>> out = shift_images(img, 1, numpy.random.default_rng(0), size=3)
    >>> float(out.sum()), out.dtype                 # the pixel moved, nothing lost
    (1.0, dtype('float32'))
    """
    if max_shift == 0:
        return x
    xp, k, n = B.get_array_module(x), int(max_shift), x.shape[0]
    padded = xp.pad(x.reshape(n, size, size), ((0, 0), (k, k), (k, k)))
    dy, dx = rng.integers(-k, k + 1, n), rng.integers(-k, k + 1, n)
    out = xp.empty((n, size, size), dtype=x.dtype)
    for a in range(-k, k + 1):
        for c in range(-k, k + 1):
            rows = xp.asarray(numpy.flatnonzero((dy == a) & (dx == c)))
            out[rows] = padded[rows, k + a:k + a + size, k + c:k + c + size]
    return out.reshape(n, size * size)
