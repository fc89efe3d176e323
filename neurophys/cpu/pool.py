"""ConvPool2D's 2×2 max-pooling (and ReLU) of a block, and its backward, each as one sweep.

The twins of :meth:`neurophys.blocks.conv.ConvPool2D._after_block` and ``._dz_block`` (seven and
eight NumPy passes there). The block's convolution output z is four arrays z[a, b] of the same
shape, one per window position (a, b) (top/bottom, left/right), so a window is the four numbers
z[0, 0][k], z[0, 1][k], z[1, 0][k], z[1, 1][k]; ``won`` holds the masks the backward reads.
"""
from __future__ import annotations

import numpy

from . import jit


@jit(inline=True)
def _maximum(a, b):
    """numpy.maximum of two numbers: NaN if either is NaN, else the larger (b when they are equal)."""
    return a if (a > b or a != a) else b


@jit
def _pool_sweep(z00, z01, z10, z11, y, won, relu, zero):
    for k in range(y.shape[0]):
        won[1, k] = z00[k] >= z01[k]                 # left won in the top row
        won[2, k] = z10[k] >= z11[k]                 # left won in the bottom row
        top = _maximum(z00[k], z01[k])
        bottom = _maximum(z10[k], z11[k])
        won[0, k] = top >= bottom                    # the top row won
        y_k = _maximum(top, bottom)
        if relu:
            won[3, k] = y_k > zero
            y_k = _maximum(y_k, zero)
        y[k] = y_k


def pool_block(z, y, won, relu: bool):
    """y = max over each window of z (then max(y, 0) with relu), and the masks:

        won[0] = [top ≥ bottom],  won[1] = [z[0,0] ≥ z[0,1]],  won[2] = [z[1,0] ≥ z[1,1]],  won[3] = [y > 0]

    z: (2, 2, …) contiguous; y: z[0, 0]'s shape; won: (3 + relu, …) with contiguous rows."""
    L = y.size
    z4 = z.reshape(4, L)
    _pool_sweep(z4[0], z4[1], z4[2], z4[3], y.reshape(L), won.reshape(won.shape[0], L), bool(relu),
                y.dtype.type(0))


@jit
def _unpool_sweep(g, won, dz00, dz01, dz10, dz11, relu, one, zero):
    for k in range(g.shape[0]):
        g_k = g[k]
        if relu:                                                 # ∂L/∂y·[y > 0]
            g_k = g_k * (one if won[3, k] else zero)
        top = g_k * (one if won[0, k] else zero)                 # g_top = ∂L/∂y·[top ≥ bottom]
        bottom = g_k - top
        dz00[k] = top * (one if won[1, k] else zero)
        dz01[k] = top - dz00[k]
        dz10[k] = bottom * (one if won[2, k] else zero)
        dz11[k] = bottom - dz10[k]


def unpool_block(g, won, dz, relu: bool):
    """dz = ∂L/∂z of a block from g = ∂L/∂y (nb, Hq, Wq, F), each window's gradient to its winner:

        g_top = g·[top ≥ bottom],  g_bottom = g − g_top
        dz[0,0] = g_top·[z[0,0] ≥ z[0,1]],  dz[0,1] = g_top − dz[0,0]   (and the bottom row alike)

    (g first multiplied by [y > 0] with relu); dz: (2, 2, nb, Hq, Wq, F) contiguous."""
    t, L = g.dtype.type, g.size
    dz4 = dz.reshape(4, L)
    _unpool_sweep(numpy.ascontiguousarray(g).reshape(L), won.reshape(won.shape[0], L), dz4[0], dz4[1], dz4[2], dz4[3],
                  bool(relu), t(1), t(0))
