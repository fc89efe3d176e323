"""2D convolution and max-pooling, forward and backward side by side (channels-last images).

Images are (batch, H, W, C) arrays ("NHWC"): the channel is the last axis, so a
pixel's channels sit together in memory and a convolution becomes one matrix
product (im2col):

    cols[n, y, x, (i, j, c)] = x_pad[n, y + i, x + j, c]          (the k×k patch around each pixel)
    z[n, y, x, f] = Σ_{i,j,c} cols[n, y, x, (i, j, c)] W[f, c, i, j] + b[f]

Weights are stored as (C_out, C_in, kh, kw), the layout of PyTorch's Conv2d, so a
reader can compare them one to one. Stride 1 only (all that document 000 needs).

:class:`Conv2D` is the convolution, :class:`MaxPool2D` the pooling; :class:`ConvPool2D` is the
two (and optionally the ReLU) in one block, with the convolution's output pixels listed by
pooling window so that the pooling runs over contiguous memory (what PhysNet uses).
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import cpu
from .. import validate as V
from ..cpu import conv as cpu_conv
from ..cpu import pool as cpu_pool
from .base import Module
from .init import uniform_fan_in


def _check_nhwc(x, c_in, who):
    x = V.as_float_array("x", x)
    if x.ndim != 4 or x.shape[-1] != c_in:
        raise ValueError(f"{who} expects images of shape (batch, H, W, {c_in}) (channels last), "
                         f"got {tuple(x.shape)}")
    return x


def im2col(x, kh: int, kw: int, pad: int):
    """(N, H, W, C) → patches (N, Ho, Wo, kh·kw, C), Ho = H + 2·pad − kh + 1 (zero padding).

    In a channels-last row the kw·C numbers of one patch row, x_pad[n, y+i, x : x+kw, :],
    are contiguous; a sliding window over each flattened image row (windows kw·C long,
    one every C numbers = one per pixel) reads them all, so the patches are copied in kh
    block copies (not kh·kw copies of C numbers each).
    """
    xp = B.get_array_module(x)
    N, H, W, C = x.shape
    x_pad = xp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else x
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    rows = x_pad.reshape(N, H + 2 * pad, (W + 2 * pad) * C)
    windows = xp.lib.stride_tricks.sliding_window_view(rows, kw * C, axis=2)[:, :, ::C]  # (N, Hp, Wo, kw·C)
    cols = xp.empty((N, Ho, Wo, kh, kw * C), dtype=x.dtype)
    for i in range(kh):
        cols[:, :, :, i, :] = windows[:, i:i + Ho, :Wo, :]
    return cols.reshape(N, Ho, Wo, kh * kw, C)


def col2im(dcols, x_shape, kh: int, kw: int, pad: int):
    """Adjoint of :func:`im2col`: add each patch's gradient back onto the pixels it came from."""
    xp = B.get_array_module(dcols)
    N, H, W, C = x_shape
    Ho, Wo = dcols.shape[1:3]
    dx_pad = xp.zeros((N, H + 2 * pad, W + 2 * pad, C), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, i:i + Ho, j:j + Wo, :] += dcols[:, :, :, i * kw + j, :]
    return dx_pad[:, pad:pad + H, pad:pad + W, :] if pad else dx_pad


def _row_windows(x_pad, k):
    """The view w[n, y, x, (j, c)] = x_pad[n, y, x + j, c], j < k, of channels-last images: in a row
    the k·C numbers of a patch row are contiguous, so a sliding window over each flattened row
    (windows k·C long, one every C numbers) reads them without a copy."""
    N, Hp, Wp, C = x_pad.shape
    xp = B.get_array_module(x_pad)
    return xp.lib.stride_tricks.sliding_window_view(x_pad.reshape(N, Hp, Wp * C), k * C, axis=2)[:, :, ::C]


def _fill_patches(c7, windows, n0, s):
    """Channels-last patches of images n0, n0 + 1, ... with rows listed by phase:

        c7[a, b, n, Y, X, i, (j, c)] = windows[n0 + n, s·Y + a + i, s·X + b, (j, c)] = x_pad[n0 + n, s·Y + a + i, s·X + b + j, c]

    one block copy per phase (a, b) and kernel row i."""
    nb, Hq, Wq, k = c7.shape[2], c7.shape[3], c7.shape[4], c7.shape[5]
    for a in range(s):
        for b in range(s):
            for i in range(k):
                c7[a, b, :, :, :, i, :] = windows[n0:n0 + nb, a + i:a + i + s * (Hq - 1) + 1:s,
                                                  b:b + s * (Wq - 1) + 1:s, :]


def _touched(planes, axis, i, j, s, n0, n1, Hq, Wq):
    """The view V[..., a, b, n, Y, X, ...] = planes[..., (a+i) % s, (b+j) % s, n0 + n, Y + (a+i)//s, X + (b+j)//s, ...]
    of padded phase planes (axes ``axis`` … ``axis + 4``: phase p, phase q, image, Y', X'): the
    padded pixels (s·Y + a + i, s·X + b + j) that output row (a, b, n, Y, X) meets at kernel offset
    (i, j). From a = 0 to a = 1 the phase and the shift change together by a fixed step, so the four
    window positions (a, b) are one strided view (one copy or one sum per offset, not four)."""
    st = planes.strides
    sp, sq, sn, sy, sx = st[axis:axis + 5]
    step_a = ((i + 1) % s - i % s) * sp + ((i + 1) // s - i // s) * sy if s > 1 else 0
    step_b = ((j + 1) % s - j % s) * sq + ((j + 1) // s - j // s) * sx if s > 1 else 0
    corner = planes[(slice(None),) * axis + (i % s, j % s, slice(n0, None), slice(i // s, None), slice(j // s, None))]
    xp = B.get_array_module(planes)
    return xp.lib.stride_tricks.as_strided(
        corner, shape=planes.shape[:axis] + (s, s, n1 - n0, Hq, Wq) + planes.shape[axis + 5:],
        strides=st[:axis] + (step_a, step_b, sn, sy, sx) + st[axis + 5:])


class Conv2D(Module):
    """z = W ⋆ x + b  (cross-correlation, stride 1, zero padding ``pad``), channels last.

    ``forward`` keeps what the backward needs; ``backward`` takes ∂L/∂z and fills ``grads``
    (and returns ∂L/∂x, or None with ``input_grad=False``):

        ∂L/∂W[f, c, i, j] = Σ_{n,y,x} ∂L/∂z[n,y,x,f] · cols[n,y,x,(i,j,c)]
        ∂L/∂b[f]          = Σ_{n,y,x} ∂L/∂z[n,y,x,f]
        ∂L/∂x             = col2im( ∂L/∂z · W ),  i.e.
        ∂L/∂x_pad[n, y+i, x+j, c] += Σ_f ∂L/∂z[n,y,x,f] W[f, c, i, j]   for each offset (i, j)

    The input gradient is computed in that second form: one (pixels, F) × (F, kh·kw·C) product
    per block of images, G[(n, y, x), (i, j, c)] = Σ_f ∂L/∂z[n,y,x,f] W[f, c, i, j], then each offset's
    columns added onto a shifted window of x_pad, offset after offset. On the CPU those sums are one
    compiled sweep (:mod:`neurophys.cpu.conv`, the same additions in the same order); elsewhere they
    are NumPy adds of strided windows.

    How the CPU time is spent (memory layout, not arithmetic, is what costs):

    * the bias rides in the product: the patch matrix has one more column of ones, and W one
      more row, b; z = [cols, 1] @ [W; b] is one GEMM with no pass over z to add b, and the
      same product in the backward, [cols, 1]ᵀ ∂L/∂z, gives ∂L/∂W and ∂L/∂b together;
    * the padded image and the patch matrix are work arrays kept between calls (same batch
      shape): their zero border and the ones column are written once, and each call copies
      only the image's interior and the row blocks of the patches;
    * with few input channels (kh·kw·C < 32: the first convolution of an image, the (Re, Im)
      field) the patches are stored transposed, one row per (i, j, c) holding that shifted
      image, so each copy moves whole image rows rather than C numbers at a time (BLAS takes
      the transpose for free), and the input gradient is assembled in the same layout (it is
      returned as a channels-last view of channels-first numbers);
    * the CPU works on ``block`` images at a time: a block's patches (channels last) and
      outputs are built, multiplied and used while they sit in the core's cache; a training
      batch keeps its channels-last patches for the backward (``keep_patches_bytes``), a larger
      one has them rebuilt there, block by block, from the kept padded image.

    The rows of the patch matrix (the output pixels) may come in any order; :class:`ConvPool2D`
    lists them by pooling window. Both are written for an output grid of ``s × s`` *phases*
    (s = 1 here): in a block of images, row (a, b, n, Y, X) is output pixel (s·Y + a, s·X + b)
    of image n. In the transposed layout the padded image and its gradient are kept as s × s
    phase planes, x_pad[c, n, s·Y' + p, s·X' + q] = planes[c, p, q, n, Y', X'], so that every copy
    and every sum runs over whole rows; channels last, ∂L/∂z is put back in image order before
    the input gradient's sums.
    """

    # kh·kw·C below this: the transposed patch layout (long contiguous copies for few channels)
    small_k = 32
    # images per block on the CPU (8 × 16×16 pixels × 145 floats ≈ 1.2 MB of patches, inside a
    # core's L2 cache); 16→32 conv on 14×14, fwd + bwd 17.5 → 13.7 ms here
    block = 8
    # the transposed layout keeps its patches whole: a block holds only the product, the pooling and
    # their gradients (16 × 32×32 pixels × 16 floats = 1 MB); field conv fwd + bwd, 8 → 16 images:
    # 27.3 → 24.1 ms best of 20 (CPU time under load)
    block_transposed = 16
    # the output grid's phases per axis (ConvPool2D: 2, the pooling window)
    s = 1
    # channels last: a batch whose patches take at most this many bytes keeps them for the backward
    # (PhysNet's 16→32 convolutions, batch 128: 19 and 15 MB); a larger one rebuilds them block by block
    # there (lesson-03 training step, one thread, idle: rebuilding cost 2-3 ms of a 70 ms step).
    keep_patches_bytes = 32 << 20

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, pad: int = 1, rng=None, input_grad: bool = True):
        if min(int(c_in), int(c_out), int(kernel)) < 1 or int(pad) < 0:
            raise ValueError(f"{type(self).__name__} needs c_in, c_out, kernel >= 1 and pad >= 0, "
                             f"got ({c_in}, {c_out}, {kernel}, {pad})")
        self.c_in, self.c_out, self.k, self.pad = int(c_in), int(c_out), int(kernel), int(pad)
        self.input_grad = bool(input_grad)  # False for a first layer: ∂L/∂image is not needed
        rng = B.rng(0) if rng is None else rng
        fan_in = self.c_in * self.k * self.k
        self.params = {"W": uniform_fan_in(rng, (self.c_out, self.c_in, self.k, self.k), fan_in),
                       "b": uniform_fan_in(rng, (self.c_out,), fan_in)}
        self.grads = {k: None for k in self.params}
        self._cols = self._x_shape = None
        self._work = {}   # name -> reusable work array (see _buffer)

    @property
    def _transposed(self) -> bool:
        return self.k * self.k * self.c_in < self.small_k

    def _W_matrix(self):
        """W (F, C, kh, kw) as the (kh·kw·C, F) matrix that multiplies the patches."""
        W = self.params["W"]
        return W.transpose(2, 3, 1, 0).reshape(self.k * self.k * self.c_in, self.c_out)

    def _buffer(self, name, shape, dtype, xp, fill=None):
        """A work array kept between calls; a new one (with ``fill(a)`` applied once) when the
        shape, dtype or array module changes. Its contents belong to this layer."""
        a = self._work.get(name)
        if a is None or a.shape != shape or a.dtype != dtype or B.get_array_module(a) is not xp:
            self._work.pop(name, None)        # free the old one first: its memory can be reused
            a = xp.empty(shape, dtype=dtype)
            if fill is not None:
                fill(a)
            self._work[name] = a
        return a

    # ------------------------------------------------------------------ geometry
    def _grid(self, H, W):
        """(Ho, Wo, Hq, Wq): the convolution's output size and the rows computed, Hq × Wq per
        phase (Ho // s, Wo // s: a ragged last row or column of a pooled output is not needed)."""
        k, p, s = self.k, self.pad, self.s
        Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
        if min(Ho, Wo) < s:
            what = f"{type(self).__name__} with kernel {k}, pad {p}" + (f" and {s}×{s} pooling" if s > 1 else "")
            raise ValueError(f"{what} needs images of at least {k - 2 * p + s - 1}×{k - 2 * p + s - 1}, "
                             f"got {H}×{W}")
        return Ho, Wo, Ho // s, Wo // s

    def _phase_runs(self, n):
        """For each phase p < s: (p, the first image index y with (y + pad) % s == p, the phase-plane
        index of that y, how many such y < n)."""
        s, pad = self.s, self.pad
        out = []
        for p in range(s):
            y0 = (p - pad) % s
            out.append((p, y0, (y0 + pad) // s, len(range(y0, n, s))))
        return out

    def _plane_shape(self, N, H, W):
        s, p = self.s, self.pad
        return (s, s, N, -(-(H + 2 * p) // s), -(-(W + 2 * p) // s))

    def _block_size(self, N, xp) -> int:
        """Images per block: ``block`` (transposed layout: ``block_transposed``) on the CPU, all N on a GPU."""
        if xp.__name__ != "numpy":
            return N
        return max(1, int(self.block_transposed if self._transposed else self.block))

    def _blocks(self, N, xp):
        """(first, stop) of each block of images (see :meth:`_block_size`)."""
        step = self._block_size(N, xp)
        return [(n0, min(N, n0 + step)) for n0 in range(0, N, step)]

    def _block_rows(self, name, N, n0, n1, width, dtype, xp, fill=None, per_image=None):
        """A contiguous (rows of images n0..n1, width) array: a view of a work array sized for the
        largest block (the rows of a block: s·s·Hq·Wq per image unless given)."""
        largest, (Hq, Wq) = min(N, self._block_size(N, xp)), self._hq
        per_image = (self.s * self.s * Hq * Wq if per_image is None else per_image) * width
        flat = self._buffer(name, (largest * per_image,), dtype, xp,
                            fill=None if fill is None else (lambda f: fill(f.reshape(-1, width))))
        return flat[:(n1 - n0) * per_image].reshape(-1, width)

    # ------------------------------------------------------------------ forward
    def _padded(self, x, xp):
        """x with a zero border of width pad, in a kept work array (only the interior is copied).

        Channels last: (N, H + 2p, W + 2p, C). Transposed layout: channels first, as phase
        planes (C, s, s, N, ⌈Hp/s⌉, ⌈Wp/s⌉) (s = 1: (C, 1, 1, N, Hp, Wp), image rows contiguous)."""
        p, s = self.pad, self.s
        N, H, W, C = x.shape
        zero = (lambda a: a.fill(0))
        if self._transposed:
            planes = self._buffer("x_pad", (C,) + self._plane_shape(N, H, W), x.dtype, xp, fill=zero)
            xt = x.transpose(3, 0, 1, 2)
            for pa, y0, Y0, ny in self._phase_runs(H):
                for pb, x0, X0, nx in self._phase_runs(W):
                    planes[:, pa, pb, :, Y0:Y0 + ny, X0:X0 + nx] = xt[:, :, y0::s, x0::s]
            return planes
        if not p:
            return x
        xpad = self._buffer("x_pad", (N, H + 2 * p, W + 2 * p, C), x.dtype, xp, fill=zero)
        xpad[:, p:p + H, p:p + W, :] = x
        return xpad

    def _patches_transposed(self, planes, xp):
        """All patches, transposed, a block of columns per block of images:
        colsT[(i, j, c), (a, b, n, Y, X)] = x_pad[c, n, s·Y + a + i, s·X + b + j]; last row: ones (the bias).
        One copy of whole image rows per offset (i, j) and block."""
        C, N = planes.shape[0], planes.shape[3]
        k, s, (Hq, Wq) = self.k, self.s, self._hq
        K, per_image = k * k * C, s * s * Hq * Wq
        cols = self._buffer("cols", (K + 1, N * per_image), planes.dtype, xp, fill=lambda a: a[K].fill(1))
        for n0, n1 in self._blocks(N, xp):
            c8 = cols[:K, n0 * per_image:n1 * per_image].reshape(k, k, C, s, s, n1 - n0, Hq, Wq)
            if cpu.active(planes, c8):                 # the same copies in one compiled sweep
                cpu_conv.patches_from_planes(c8, planes, n0)
                continue
            for i in range(k):
                for j in range(k):
                    c8[i, j] = _touched(planes, 1, i, j, s, n0, n1, Hq, Wq)
        return cols

    def _patch_blocks(self, x_pad, xp, fill: bool = True):
        """(first, stop, patches) for each block of images, channels last:

            cols[(a, b, n, Y, X), (i, j, c)] = x_pad[n, s·Y + a + i, s·X + b + j, c],  last column: ones (the bias).

        A batch whose patches fit in ``keep_patches_bytes`` (a training batch) keeps them all in one
        work array: the forward fills it block by block, the backward reads it again (``fill=False``).
        A larger one (evaluation) reuses one block's work array, and the backward refills it."""
        N, C = x_pad.shape[0], x_pad.shape[3]
        k, s, (Hq, Wq) = self.k, self.s, self._hq
        K, per_image = k * k * C, s * s * Hq * Wq
        if self._keeps_patches(N, x_pad.dtype):
            patches = self._buffer("cols", (N * per_image, K + 1), x_pad.dtype, xp, fill=lambda a: a[:, K].fill(1))
            block_cols = lambda n0, n1: patches[n0 * per_image:n1 * per_image]
        else:
            fill = True
            block_cols = lambda n0, n1: self._block_rows("cols_block", N, n0, n1, K + 1, x_pad.dtype, xp,
                                                         fill=lambda a: a[:, K].fill(1))
        windows = _row_windows(x_pad, k)
        for n0, n1 in self._blocks(N, xp):
            cols = block_cols(n0, n1)
            if fill:
                _fill_patches(cols.reshape(s, s, n1 - n0, Hq, Wq, K + 1)[..., :K].reshape(s, s, n1 - n0, Hq, Wq, k, k * C),
                              windows, n0, s)
            yield n0, n1, cols

    def _keeps_patches(self, N, dtype) -> bool:
        """Whether the patches of N images (channels-last layout) stay whole between forward and backward."""
        k, s, (Hq, Wq) = self.k, self.s, self._hq
        return N * s * s * Hq * Wq * (k * k * self.c_in + 1) * numpy.dtype(dtype).itemsize <= self.keep_patches_bytes

    def forward(self, x):
        x = _check_nhwc(x, self.c_in, type(self).__name__)
        xp = B.get_array_module(x)
        N, H, W, C = x.shape
        F, s = self.c_out, self.s
        Ho, Wo, Hq, Wq = self._grid(H, W)
        self._hq = (Hq, Wq)
        x_pad = self._padded(x, xp)
        Wb = xp.concatenate([self._W_matrix(), self.params["b"].reshape(1, F)]).astype(x.dtype, copy=False)
        out = self._output(N, Ho, Wo, x.dtype, xp)
        if self._transposed:
            cols = self._patches_transposed(x_pad, xp)
            per_image = s * s * Hq * Wq
            blocks = ((n0, n1, cols[:, n0 * per_image:n1 * per_image].T) for n0, n1 in self._blocks(N, xp))
            self._cols = cols
        else:
            blocks = self._patch_blocks(x_pad, xp)
            self._cols = x_pad       # the backward rebuilds the patches from the padded image
        for n0, n1, cols_b in blocks:
            z = self._z_block(out, n0, n1, xp)                      # (s, s, n1 − n0, Hq, Wq, F)
            xp.matmul(cols_b, Wb, out=z.reshape(-1, F))
            self._after_block(out, z, n0, n1, xp)
        self._x_shape = x.shape
        return out

    def _output(self, N, Ho, Wo, dtype, xp):
        """The array forward returns: here z itself, (N, Ho, Wo, F)."""
        return xp.empty((N, Ho, Wo, self.c_out), dtype=dtype)

    def _z_block(self, out, n0, n1, xp):
        """Where the block's product goes, (s, s, n1 − n0, Hq, Wq, F): here straight into z."""
        return out[n0:n1].reshape(1, 1, n1 - n0, *out.shape[1:])

    def _after_block(self, out, z, n0, n1, xp):
        """What follows the product of a block (ConvPool2D: the pooling); nothing here."""

    # ------------------------------------------------------------------ backward
    def backward(self, dz):
        if self._cols is None or self._x_shape is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        want = (self._x_shape[0], *self._hq, self.c_out)   # the last forward's output (pooled for ConvPool2D)
        if tuple(getattr(dz, "shape", ())) != want:
            raise V.NeurophysInputError(f"dz (∂L/∂output) must have the shape of {type(self).__name__}'s last "
                                        f"forward output {want}, got {V.describe(dz)}")
        xp = B.get_array_module(dz)
        N, H, W, C = self._x_shape
        k, F, s = self.k, self.c_out, self.s
        Hq, Wq = self._hq
        K = k * k * C
        if self._transposed:
            per_image = s * s * Hq * Wq
            blocks = ((n0, n1, self._cols[:, n0 * per_image:n1 * per_image]) for n0, n1 in self._blocks(N, xp))
        else:
            blocks = ((n0, n1, cols.T) for n0, n1, cols in self._patch_blocks(self._cols, xp, fill=False))
        dx = None
        if self.input_grad and self._transposed:
            dx = xp.zeros((C,) + self._plane_shape(N, H, W), dtype=dz.dtype)      # phase planes, channels first
            Wk = self.params["W"].transpose(2, 3, 1, 0).reshape(K, F).astype(dz.dtype, copy=False)
        elif self.input_grad:
            p = self.pad
            dx = xp.zeros((N, H + 2 * p, W + 2 * p, C), dtype=dz.dtype)           # the padded gradient
            Wk = xp.ascontiguousarray(self.params["W"].transpose(0, 2, 3, 1)).astype(dz.dtype, copy=False)
            Wk = Wk.reshape(F, K)                                                    # (F, (i, j, c))
            Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
            dz_img = dz if s == 1 else self._buffer("dz_img", (N, Ho, Wo, F), dz.dtype, xp, fill=lambda a: a.fill(0))
        dWb = None
        for n0, n1, colsT in blocks:
            dzb = self._dz_block(dz, n0, n1, xp)                          # (s, s, nb, Hq, Wq, F): rows (a, b, n, Y, X)
            part = colsT @ dzb.reshape(-1, F)                             # [cols, 1]ᵀ ∂L/∂z: (K + 1, F)
            dWb = part if dWb is None else xp.add(dWb, part, out=dWb)
            if dx is not None and self._transposed:
                self._add_input_grad(dx, dzb.reshape(-1, F), Wk, n0, n1)
            elif dx is not None:
                self._input_grad_block(dx, dz_img, dzb, Wk, n0, n1, xp)
        self.grads["W"] = xp.ascontiguousarray(dWb[:K].reshape(k, k, C, F).transpose(3, 2, 0, 1))
        self.grads["b"] = dWb[K].copy()
        if dx is None:
            return None
        if not self._transposed:
            p = self.pad
            return dx[:, p:p + H, p:p + W, :] if p else dx
        return self._dx_from_planes(dx, xp)

    def _dz_block(self, dz, n0, n1, xp):
        """∂L/∂z of a block with its rows in patch order, (s, s, n1 − n0, Hq, Wq, F)."""
        return dz[n0:n1].reshape(1, 1, n1 - n0, *dz.shape[1:])

    def _input_grad_block(self, dx_pad, dz, dzb, Wk, n0, n1, xp):
        """∂L/∂x_pad[n, y + i, x + j, c] += Σ_f ∂L/∂z[n, y, x, f] W[f, c, i, j] for images n0..n1 (channels
        last): ∂L/∂z in image order (ConvPool2D: its block's rows put back in place), then one
        (pixels, F) × (F, k·k·C) product, G, whose columns (i, j, ·) are added onto a shifted window of
        the padded gradient, offset after offset (the CPU: one compiled sweep; else whole image rows)."""
        N, Ho, Wo, F = dz.shape
        s, k = self.s, self.k
        Hq, Wq = self._hq
        if s > 1:                                  # rows (a, b, n, Y, X) back to pixels (s·Y + a, s·X + b)
            for a in range(s):
                for b in range(s):
                    dz[n0:n1, a:a + s * (Hq - 1) + 1:s, b:b + s * (Wq - 1) + 1:s] = dzb[a, b]
        dz2 = dz[n0:n1].reshape(-1, F)
        C = dx_pad.shape[-1]
        G = self._block_rows("G", N, n0, n1, k * k * C, dz2.dtype, xp, per_image=Ho * Wo)
        xp.matmul(dz2, Wk, out=G)                  # G[(n, y, x), (i, j, c)] = Σ_f ∂L/∂z[n, y, x, f] W[f, c, i, j]
        dxb = dx_pad[n0:n1]
        if cpu.active(G, dxb):                     # the same sums in one compiled sweep
            return cpu_conv.add_patches(G, dxb, k, Ho, Wo)
        G6 = G.reshape(n1 - n0, Ho, Wo, k, k, C)
        for i in range(k):
            for j in range(k):
                dxb[:, i:i + Ho, j:j + Wo, :] += G6[:, :, :, i, j, :]

    def _add_input_grad(self, planes, dz2, Wm, n0, n1):
        """Transposed layout: ∂L/∂x_pad[c, n, s·Y + a + i, s·X + b + j] += Σ_f W[f, c, i, j] ∂L/∂z[(a, b, n, Y, X), f]
        for a block, one product for all offsets (a row per (i, j, c)), each offset's rows added onto
        the channels-first phase planes of the padded gradient in one sum (whole image rows; the CPU:
        the same sums in one compiled sweep)."""
        s, k = self.s, self.k
        Hq, Wq = self._hq
        C = planes.shape[0]
        dcols = (Wm @ dz2.T).reshape(k, k, C, s, s, n1 - n0, Hq, Wq)
        if cpu.active(planes, dcols):              # the same sums in one compiled sweep
            return cpu_conv.add_patches_to_planes(planes, dcols, n0)
        for i in range(k):
            for j in range(k):
                _touched(planes, 1, i, j, s, n0, n1, Hq, Wq)[...] += dcols[i, j]

    def _dx_from_planes(self, planes, xp):
        """∂L/∂x (N, H, W, C) from the channels-first phase planes of the padded gradient: its interior,
        as a channels-last view of channels-first numbers (C is small here: a channels-last copy would
        move one or two numbers at a time)."""
        N, H, W, C = self._x_shape
        s, p = self.s, self.pad
        if s == 1:
            return planes[:, 0, 0, :, p:p + H, p:p + W].transpose(1, 2, 3, 0)
        dx = xp.empty((C, N, H, W), dtype=planes.dtype)
        for pa, y0, Y0, ny in self._phase_runs(H):
            for pb, x0, X0, nx in self._phase_runs(W):
                dx[:, :, y0::s, x0::s] = planes[:, pa, pb, :, Y0:Y0 + ny, X0:X0 + nx]
        return dx.transpose(1, 2, 3, 0)


class ConvPool2D(Conv2D):
    """Conv2D then 2×2 max-pooling (stride 2), in one block, channels last:

        z[n, y, x, f] = Σ_{i,j,c} x_pad[n, y + i, x + j, c] W[f, c, i, j] + b[f]
        y[n, Y, X, f] = max_{a, b ∈ {0, 1}} z[n, 2Y + a, 2X + b, f]        (relu=True: max(y, 0))

    the same numbers as ``Conv2D`` followed by ``MaxPool2D(2)`` (and ``ReLU``; a ragged last
    row or column of z, which the pooling drops, is not computed). The backward sends ∂L/∂y
    to the first maximum of each window in reading order (top-left, top-right, bottom-left,
    bottom-right), as MaxPool2D does (with relu=True only where y > 0), then runs the
    convolution's backward. Pooling then ReLU is ReLU then pooling: the maximum of a window
    commutes with the (monotone) ReLU, forward and backward.

    Why one block: in channels-last z the four entries of a window are F numbers apart, so a
    separate pooling works on runs of F numbers. The convolution may list its output pixels
    (the rows of the patch matrix) in any order; here, in a block of images, row
    (a, b, n, Y, X) is pixel (2Y + a, 2X + b) of image n: z is four contiguous arrays, one per
    window position (a, b), the pooling is the maximum of four contiguous arrays, and y comes
    out channels last. A block of images is pooled right after its product, while in cache;
    the pooling keeps three yes/no masks for the backward (which of top/bottom, and which of
    left/right in each row, won).
    """

    s = 2

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, pad: int = 1, rng=None, input_grad: bool = True,
                 relu: bool = False):
        super().__init__(c_in, c_out, kernel, pad, rng, input_grad)
        self.relu = bool(relu)

    def _output(self, N, Ho, Wo, dtype, xp):
        Hq, Wq = self._hq
        self._won = self._buffer("won", (3 + self.relu, N, Hq, Wq, self.c_out), bool, xp)
        return xp.empty((N, Hq, Wq, self.c_out), dtype=dtype)

    def _block_buffer(self, name, N, n0, n1, dtype, xp):
        """A contiguous (2, 2, n1 − n0, Hq, Wq, F) work array."""
        Hq, Wq = self._hq
        return self._block_rows(name, N, n0, n1, self.c_out, dtype, xp).reshape(2, 2, n1 - n0, Hq, Wq, self.c_out)

    def _z_block(self, out, n0, n1, xp):
        return self._block_buffer("z", out.shape[0], n0, n1, out.dtype, xp)

    def _after_block(self, out, z, n0, n1, xp):
        """y = max(top, bottom), top = max(z[0,0], z[0,1]), bottom = max(z[1,0], z[1,1]); the masks
        won[0] = [top ≥ bottom], won[1] = [z[0,0] ≥ z[0,1]], won[2] = [z[1,0] ≥ z[1,1]]."""
        won, y = self._won[:, n0:n1], out[n0:n1]
        if cpu.active(z, y):                           # the same numbers in one compiled sweep
            return cpu_pool.pool_block(z, y, won, self.relu)
        z00, z01, z10, z11 = z[0, 0], z[0, 1], z[1, 0], z[1, 1]
        xp.greater_equal(z00, z01, out=won[1])
        xp.greater_equal(z10, z11, out=won[2])
        xp.maximum(z00, z01, out=z00)                  # top    (z[0,0] is not needed any more)
        xp.maximum(z10, z11, out=z10)                  # bottom
        xp.greater_equal(z00, z10, out=won[0])
        xp.maximum(z00, z10, out=y)
        if self.relu:                                  # max(y, 0) and the mask won[3] = [y > 0]
            xp.greater(y, 0, out=won[3])
            xp.maximum(y, 0, out=y)

    def _dz_block(self, dy, n0, n1, xp):
        """∂L/∂z of a block, (2, 2, nb, Hq, Wq, F): ∂L/∂y to the winner of each window, 0 elsewhere.

            g_top = ∂L/∂y·[top ≥ bottom],  g_bottom = ∂L/∂y − g_top
            ∂L/∂z[0,0] = g_top·[z[0,0] ≥ z[0,1]],  ∂L/∂z[0,1] = g_top − ∂L/∂z[0,0]   (and the bottom row alike)

        g·[win] and g − g·[win] are exactly g or 0: one entry of each window gets ∂L/∂y."""
        dz = self._block_buffer("dz", dy.shape[0], n0, n1, dy.dtype, xp)
        won, g = self._won[:, n0:n1], dy[n0:n1]
        if cpu.active(g, dz):                          # the same numbers in one compiled sweep
            cpu_pool.unpool_block(g, won, dz, self.relu)
            return dz
        top, bottom = dz[0, 1], dz[1, 1]                  # g_top and g_bottom held in place for a moment
        if self.relu:                                     # ∂L/∂y·[y > 0] first (held in bottom)
            xp.multiply(g, won[3], out=bottom)
            g = bottom
        xp.multiply(g, won[0], out=top)
        xp.subtract(g, top, out=bottom)
        xp.multiply(top, won[1], out=dz[0, 0])
        xp.subtract(top, dz[0, 0], out=dz[0, 1])
        xp.multiply(bottom, won[2], out=dz[1, 0])
        xp.subtract(bottom, dz[1, 0], out=dz[1, 1])
        return dz


class MaxPool2D(Module):
    """y[n, Y, X, c] = max over the k×k window {x[n, kY + i, kX + j, c]}  (stride k; a ragged edge
    is dropped, as in PyTorch).

    The backward sends ∂L/∂y to the one input that was the maximum (the first one in
    reading order when several tie), and zero to the others.
    """

    def __init__(self, k: int = 2):
        if int(k) < 1:
            raise ValueError(f"MaxPool2D needs k >= 1, got {k}")
        self.k = int(k)
        self.params, self.grads = {}, {}
        self._x = self._h = self._y = None

    def forward(self, x):
        x = V.as_float_array("x", x)
        if x.ndim != 4:
            raise ValueError(f"MaxPool2D expects images of shape (batch, H, W, C), got {tuple(x.shape)}")
        k = self.k
        N, H, W, C = x.shape
        Ho, Wo = H // k, W // k
        if Ho < 1 or Wo < 1:
            raise ValueError(f"MaxPool2D with k={k} needs images of at least {k}×{k}, got {H}×{W}")
        xp = B.get_array_module(x)
        if k == 2 and H % 2 == 0 and W % 2 == 0 and x.flags.c_contiguous:
            # 2×2 on even sizes: the maximum of each row pair (left, right) first, h[n, Y', X, c],
            # then of each column pair (top, bottom): two passes over contiguous runs, no masks kept
            x5 = x.reshape(N, H, Wo, 2, C)
            h = xp.maximum(x5[:, :, :, 0], x5[:, :, :, 1])                 # (N, H, Wo, C)
            h4 = h.reshape(N, Ho, 2, Wo, C)
            y = xp.maximum(h4[:, :, 0], h4[:, :, 1])                        # (N, Ho, Wo, C)
            self._x, self._h, self._y = x, h, y
            return y
        # the k² strided views x[:, i::k, j::k] hold the window entries; y is their maximum
        views = [x[:, i:Ho * k:k, j:Wo * k:k, :] for i in range(k) for j in range(k)]
        y = views[0].copy()
        for v in views[1:]:
            xp.maximum(y, v, out=y)
        self._x, self._h, self._y = x, None, y
        return y

    def backward(self, dy):
        if self._x is None:
            raise RuntimeError("MaxPool2D.backward called before forward")
        xp = B.get_array_module(dy)
        k, x, y = self.k, self._x, self._y
        if self._h is not None:
            # the first maximum in reading order: the top row wins when max(top) >= max(bottom),
            # and within that row the left entry wins when left >= right.  g·[win] and g − g·[win]
            # are exactly g or 0, so this is the masked rule below with two comparisons per window
            N, H, W, C = x.shape
            Ho, Wo = H // 2, W // 2
            h4 = self._h.reshape(N, Ho, 2, Wo, C)
            gh = xp.empty(self._h.shape, dtype=dy.dtype)
            gh4 = gh.reshape(N, Ho, 2, Wo, C)
            xp.multiply(dy, h4[:, :, 0] >= h4[:, :, 1], out=gh4[:, :, 0])
            xp.subtract(dy, gh4[:, :, 0], out=gh4[:, :, 1])
            x5 = x.reshape(N, H, Wo, 2, C)
            dx = xp.empty(x.shape, dtype=dy.dtype)
            dx5 = dx.reshape(N, H, Wo, 2, C)
            xp.multiply(gh, x5[:, :, :, 0] >= x5[:, :, :, 1], out=dx5[:, :, :, 0])
            xp.subtract(gh, dx5[:, :, :, 0], out=dx5[:, :, :, 1])
            return dx
        Ho, Wo = dy.shape[1:3]
        dx = xp.zeros(x.shape, dtype=dy.dtype)
        free = xp.ones(y.shape, dtype=bool)   # the windows whose gradient has not been given yet
        for n in range(k * k):  # the first entry equal to the maximum takes the gradient
            i, j = divmod(n, k)
            hit = x[:, i:Ho * k:k, j:Wo * k:k, :] == y
            hit &= free
            free ^= hit
            xp.multiply(dy, hit, out=dx[:, i:Ho * k:k, j:Wo * k:k, :])
        return dx
