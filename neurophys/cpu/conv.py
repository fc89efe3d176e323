"""A convolution's patch sums and copies, each as one compiled sweep.

The twins of the NumPy loops of :class:`neurophys.blocks.conv.Conv2D` that move or add many short
runs of numbers (one NumPy call per kernel offset there):

    add_patches            channels last: the input gradient's col2im sums (``_input_grad_block``)
    add_patches_to_planes  transposed layout: the same sums onto phase planes (``_add_input_grad``)
    patches_from_planes    transposed layout: the patch copies (``_patches_transposed``)

The same additions in the same order (offset after offset), or pure copies: the same numbers.
"""
from __future__ import annotations

from . import jit


@jit
def _add_patches(G, dx_pad, k, Ho, Wo):
    nb, C = dx_pad.shape[0], dx_pad.shape[3]
    for i in range(k):
        for j in range(k):
            col = (i * k + j) * C
            for n in range(nb):
                for y in range(Ho):
                    for x in range(Wo):
                        p = (n * Ho + y) * Wo + x
                        for c in range(C):
                            dx_pad[n, y + i, x + j, c] += G[p, col + c]


def add_patches(G, dx_pad, k: int, Ho: int, Wo: int):
    """dx_pad[n, y + i, x + j, c] += G[(n, y, x), (i, j, c)] for each offset (i, j) in turn (row-major):
    G (nb·Ho·Wo, k·k·C) holds the patch gradients of nb images, dx_pad (nb, Ho + k − 1, Wo + k − 1, C)."""
    _add_patches(G, dx_pad, k, Ho, Wo)


@jit
def _planes_sweep(planes, cols, n0, to_planes):
    """Walk the pairs (cols[i, j, c, a, b, n, Y, X], planes[c, (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s,
    X + (b+j)//s]), offset (i, j) after offset: add the first onto the second (to_planes), or copy the
    second into the first."""
    k, C, s, nb, Hq, Wq = cols.shape[0], cols.shape[2], cols.shape[3], cols.shape[5], cols.shape[6], cols.shape[7]
    for i in range(k):
        for j in range(k):
            for c in range(C):
                for a in range(s):
                    p, dy = (a + i) % s, (a + i) // s
                    for b in range(s):
                        q, dx = (b + j) % s, (b + j) // s
                        for n in range(nb):
                            for Y in range(Hq):
                                for X in range(Wq):
                                    if to_planes:
                                        planes[c, p, q, n0 + n, Y + dy, X + dx] += cols[i, j, c, a, b, n, Y, X]
                                    else:
                                        cols[i, j, c, a, b, n, Y, X] = planes[c, p, q, n0 + n, Y + dy, X + dx]


def add_patches_to_planes(planes, dcols, n0: int):
    """The transposed layout's col2im: for each offset (i, j) in turn (row-major),

        planes[c, (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s, X + (b+j)//s] += dcols[i, j, c, a, b, n, Y, X]

    planes: the padded input gradient as channels-first phase planes (C, s, s, N, ·, ·); dcols: the
    patch gradients of images n0 … n0 + nb − 1, (k, k, C, s, s, nb, Hq, Wq)."""
    _planes_sweep(planes, dcols, n0, True)


def patches_from_planes(c8, planes, n0: int):
    """The transposed layout's im2col, the reverse of :func:`add_patches_to_planes`:

        c8[i, j, c, a, b, n, Y, X] = planes[c, (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s, X + (b+j)//s]"""
    _planes_sweep(planes, c8, n0, False)
