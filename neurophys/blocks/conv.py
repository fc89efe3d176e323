"""2D convolution and max-pooling, forward and backward side by side (channels-last images).

Images are (batch, H, W, C) arrays ("NHWC"): the channel is the last axis, so a
pixel's channels sit together in memory and a convolution becomes one matrix
product (im2col):

    cols[n, y, x, (i, j, c)] = x_pad[n, y + i, x + j, c]          (the k×k patch around each pixel)
    z[n, y, x, f] = Σ_{i,j,c} cols[n, y, x, (i, j, c)] W[f, c, i, j] + b[f]

Weights are stored as (C_out, C_in, kh, kw), the layout of PyTorch's Conv2d, so a
reader can compare them one to one. Stride 1 only (all that document 000 needs).
"""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
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


class Conv2D(Module):
    """z = W ⋆ x + b  (cross-correlation, stride 1, zero padding ``pad``), channels last.

    ``forward`` caches the patches; ``backward`` takes ∂L/∂z and fills ``grads`` (and returns
    ∂L/∂x, or None with ``input_grad=False``):

        ∂L/∂W[f, c, i, j] = Σ_{n,y,x} ∂L/∂z[n,y,x,f] · cols[n,y,x,(i,j,c)]
        ∂L/∂b[f]          = Σ_{n,y,x} ∂L/∂z[n,y,x,f]
        ∂L/∂x             = col2im( ∂L/∂z · W ),  i.e.
        ∂L/∂x_pad[n, y+i, x+j, c] += Σ_f ∂L/∂z[n,y,x,f] W[f, c, i, j]   for each offset (i, j)

    The input gradient is computed in that second form, one (N·Ho·Wo, F) × (F, C) product per
    offset added onto a shifted window of x_pad: the same sum as col2im, without forming the
    kh·kw-times-wider patch gradient or scattering C numbers at a time (2-3× faster on the CPU).

    How the CPU time is spent (memory layout, not arithmetic, is what costs):

    * the bias rides in the product: the patch matrix has one more column of ones, and W one
      more row, b; z = [cols, 1] @ [W; b] is one GEMM with no pass over z to add b, and the
      same product in the backward, [cols, 1]ᵀ ∂L/∂z, gives ∂L/∂W and ∂L/∂b together;
    * the padded image and the patch matrix are work arrays kept between calls (same batch
      shape): their zero border and the ones column are written once, and each call copies
      only the image's interior and the kh row blocks of the patches;
    * with few input channels (kh·kw·C < 32: the first convolution of an image, the (Re, Im)
      field) the patches are stored transposed, one row per (i, j, c) holding that shifted
      image, so each copy moves whole image rows rather than C numbers at a time (BLAS takes
      the transpose for free), and the input gradient is assembled in the same layout;
    * otherwise (channels last) the CPU works on ``block`` images at a time: a block's patches
      are built, multiplied and dropped while they sit in the core's cache, and the backward
      rebuilds them from the kept padded image (cheaper than keeping them all).
    """

    # kh·kw·C below this: the transposed patch layout (long contiguous copies for few channels)
    small_k = 32
    # channels-last layout on the CPU: images per block of patches (8 × 16×16 pixels × 145 floats
    # ≈ 1.2 MB, inside a core's L2 cache); 16→32 conv on 14×14, fwd + bwd 17.5 → 13.7 ms here
    block = 8

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, pad: int = 1, rng=None, input_grad: bool = True):
        if min(int(c_in), int(c_out), int(kernel)) < 1 or int(pad) < 0:
            raise ValueError(f"Conv2D needs c_in, c_out, kernel >= 1 and pad >= 0, "
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

    def _padded(self, x, xp):
        """x with a zero border of width pad, in a kept work array (only the interior is copied)."""
        p = self.pad
        if not p:
            return x.transpose(3, 0, 1, 2) if self._transposed else x
        N, H, W, C = x.shape
        if self._transposed:   # channels first, (C, N, H + 2p, W + 2p): image rows are contiguous
            xt = self._buffer("x_pad", (C, N, H + 2 * p, W + 2 * p), x.dtype, xp, fill=lambda a: a.fill(0))
            xt[:, :, p:p + H, p:p + W] = x.transpose(3, 0, 1, 2)
            return xt
        xpad = self._buffer("x_pad", (N, H + 2 * p, W + 2 * p, C), x.dtype, xp, fill=lambda a: a.fill(0))
        xpad[:, p:p + H, p:p + W, :] = x
        return xpad

    def forward(self, x):
        x = _check_nhwc(x, self.c_in, "Conv2D")
        xp = B.get_array_module(x)
        N, H, W, C = x.shape
        k, p, F = self.k, self.pad, self.c_out
        Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
        if Ho < 1 or Wo < 1:
            raise ValueError(f"Conv2D with kernel {k} and pad {p} needs images of at least "
                             f"{k - 2 * p}×{k - 2 * p}, got {H}×{W}")
        M, K = N * Ho * Wo, k * k * C
        x_pad = self._padded(x, xp)
        Wb = xp.concatenate([self._W_matrix(), self.params["b"].reshape(1, F)]).astype(x.dtype, copy=False)
        if self._transposed:
            # colsT[(i, j, c), (n, y, x)] = x_pad[c, n, y + i, x + j]; last row: ones (the bias)
            cols = self._buffer("cols", (K + 1, M), x.dtype, xp, fill=lambda a: a[K].fill(1))
            c5 = cols[:K].reshape(k, k, C, N, Ho, Wo)
            for i in range(k):
                for j in range(k):
                    c5[i, j] = x_pad[:, :, i:i + Ho, j:j + Wo]
            z = cols.T @ Wb
        else:
            # channels last, a block of images at a time (see _blocks): the patches of a block are
            # built, multiplied and dropped while they are still in the core's cache
            z = xp.empty((N, Ho, Wo, F), dtype=x.dtype)
            for a, b, cols in self._blocks(x_pad, xp):
                xp.matmul(cols, Wb, out=z[a:b].reshape(-1, F))
            cols = x_pad       # the backward rebuilds the patches from the padded image
        self._cols, self._x_shape = cols, x.shape
        return z.reshape(N, Ho, Wo, F)

    def _blocks(self, x_pad, xp):
        """(first, stop, patches) for blocks of ``block`` images (all at once on a GPU), channels last:

            cols[(n, y, x), (i, j, c)] = x_pad[n, y + i, x + j, c],  last column: ones (the bias).

        In a channels-last row the kw·C numbers of one patch row are contiguous: a sliding window
        over each flattened image row reads them, one block copy per kernel row i. The patch
        array is one work array reused for every block."""
        N, Hp, Wp, C = x_pad.shape
        k = self.k
        Ho, Wo, K = Hp - k + 1, Wp - k + 1, k * k * C
        step = N if xp.__name__ != "numpy" else max(1, int(self.block))
        cols_all = self._buffer("cols", (min(step, N) * Ho * Wo, K + 1), x_pad.dtype, xp,
                                fill=lambda a: a[:, K].fill(1))
        rows = x_pad.reshape(N, Hp, Wp * C)
        windows = xp.lib.stride_tricks.sliding_window_view(rows, k * C, axis=2)[:, :, ::C]  # (N, Hp, Wo, kw·C)
        for a in range(0, N, step):
            b = min(N, a + step)
            cols = cols_all[:(b - a) * Ho * Wo]
            c5 = cols.reshape(b - a, Ho, Wo, K + 1)[..., :K].reshape(b - a, Ho, Wo, k, k * C)
            for i in range(k):
                c5[:, :, :, i, :] = windows[a:b, i:i + Ho, :Wo, :]
            yield a, b, cols

    def backward(self, dz):
        if self._cols is None:
            raise RuntimeError("Conv2D.backward called before forward")
        xp = B.get_array_module(dz)
        N, H, W, C = self._x_shape
        k, p, F = self.k, self.pad, self.c_out
        Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
        K = k * k * C
        if not self._transposed:
            return self._backward_blocks(dz.reshape(N, Ho * Wo, F), xp)
        dz2 = dz.reshape(N * Ho * Wo, F)
        dWb = self._cols @ dz2                                                    # (kh·kw·C + 1, F)
        self.grads["W"] = dWb[:K].reshape(k, k, C, F).transpose(3, 2, 0, 1)
        self.grads["b"] = dWb[K]
        if not self.input_grad:
            return None
        # ∂L/∂colsT = W_matrix · ∂L/∂zᵀ, one row per (i, j, c), each a shifted image: add them
        # onto the channels-first padded gradient, then back to channels last
        # (in blocks of images on the CPU, so that each block's patch gradient stays in cache)
        Wm = self._W_matrix()
        dx_pad = xp.zeros((C, N, H + 2 * p, W + 2 * p), dtype=dz.dtype)
        step = N if xp.__name__ != "numpy" else max(1, int(self.block))
        for a in range(0, N, step):
            b = min(N, a + step)
            dcols = (Wm @ dz2[a * Ho * Wo:b * Ho * Wo].T).reshape(k, k, C, b - a, Ho, Wo)
            for i in range(k):
                for j in range(k):
                    dx_pad[:, a:b, i:i + Ho, j:j + Wo] += dcols[i, j]
        return xp.ascontiguousarray(dx_pad[:, :, p:p + H, p:p + W].transpose(1, 2, 3, 0))

    def _backward_blocks(self, dz, xp):
        """Channels-last backward, block by block (the patches rebuilt as in forward):
        [cols, 1]ᵀ ∂L/∂z summed over blocks, and ∂L/∂x by one product per offset (i, j)."""
        N, H, W, C = self._x_shape
        k, p, F = self.k, self.pad, self.c_out
        Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
        K = k * k * C
        Wt = self.params["W"]
        dWb = None
        dx_pad = xp.zeros((N, H + 2 * p, W + 2 * p, C), dtype=dz.dtype) if self.input_grad else None
        for a, b, cols in self._blocks(self._cols, xp):
            dzb = dz[a:b].reshape(-1, F)
            part = cols.T @ dzb
            dWb = part if dWb is None else xp.add(dWb, part, out=dWb)
            if dx_pad is not None:
                dxb = dx_pad[a:b]
                for i in range(k):
                    for j in range(k):
                        dxb[:, i:i + Ho, j:j + Wo, :] += (dzb @ Wt[:, :, i, j]).reshape(b - a, Ho, Wo, C)
        self.grads["W"] = dWb[:K].reshape(k, k, C, F).transpose(3, 2, 0, 1)
        self.grads["b"] = dWb[K]
        if dx_pad is None:
            return None
        return dx_pad[:, p:p + H, p:p + W, :] if p else dx_pad


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
