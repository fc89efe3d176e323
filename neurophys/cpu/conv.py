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
def _add_patches_to_planes(planes, dcols, n0):
    k, C, s, nb, Hq, Wq = dcols.shape[0], dcols.shape[2], dcols.shape[3], dcols.shape[5], dcols.shape[6], dcols.shape[7]
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
                                    planes[c, p, q, n0 + n, Y + dy, X + dx] += dcols[i, j, c, a, b, n, Y, X]


def add_patches_to_planes(planes, dcols, n0: int):
    """The transposed layout's col2im: for each offset (i, j) in turn (row-major),

        planes[c, (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s, X + (b+j)//s] += dcols[i, j, c, a, b, n, Y, X]

    planes: the padded input gradient as channels-first phase planes (C, s, s, N, ·, ·); dcols: the
    patch gradients of images n0 … n0 + nb − 1, (k, k, C, s, s, nb, Hq, Wq)."""
    _add_patches_to_planes(planes, dcols, n0)


@jit
def _patches_from_planes(c8, planes, n0):
    k, C, s, nb, Hq, Wq = c8.shape[0], c8.shape[2], c8.shape[3], c8.shape[5], c8.shape[6], c8.shape[7]
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
                                    c8[i, j, c, a, b, n, Y, X] = planes[c, p, q, n0 + n, Y + dy, X + dx]


def patches_from_planes(c8, planes, n0: int):
    """The transposed layout's im2col, the reverse of :func:`add_patches_to_planes`:

        c8[i, j, c, a, b, n, Y, X] = planes[c, (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s, X + (b+j)//s]"""
    _patches_from_planes(c8, planes, n0)
