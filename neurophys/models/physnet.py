"""PhysNet (document 000): a convolutional network with a Gross–Pitaevskii field in the middle.

The document's network (``neuron_grok5.py``, see docs/originals.md), layer by layer::

    image (28×28×1)
    → Conv 1→16 (3×3, pad 1), ReLU, MaxPool 2 → Conv 16→32, ReLU, MaxPool 2   (7×7×32)
    → flatten 1568 → Linear 128 → ReLU → Linear 64
    → Linear 64 → 2·32·32, reshaped to a field ψ₀ = Re + i·Im on a 32×32 grid
    → 5 forward-Euler steps of  i ∂ψ/∂t = [−½∇² − a + 2b|ψ|²]ψ   (dt 0.01, a = b = 0.15)
    → Conv 2→16, ReLU, MaxPool 2 → Conv 16→32, ReLU, MaxPool 2   (8×8×32)
    → flatten 2048 → Linear 256 → ReLU → Linear 10 (logits)

879,066 parameters; nothing in the physics is learnable. Images and fields are
channels-last here ((batch, H, W, C)), which only relabels the flatten order. Each
"Conv, ReLU, MaxPool" runs as Conv, MaxPool, ReLU: the maximum of a window commutes with
the (monotone) ReLU, forward and backward (the gradient reaches the same input, the first
maximum, or nothing when the maximum is ≤ 0), so the ReLU works on a quarter of the numbers;
and each "Conv, MaxPool, ReLU" is one :class:`~neurophys.blocks.conv.ConvPool2D` block
(``relu=True``; the same numbers: the convolution lists its output pixels by pooling window,
so the pooling and the ReLU run over contiguous memory, a block of images at a time).

Variants (same verbs ``forward`` / ``backward`` / ``params`` / ``grads``):
- ``physics='identity'``: the control the document never ran (ψ passes unchanged);
- ``physics='splitstep'`` and/or more ``n_steps``: a field that actually evolves;
- :class:`FieldOnlyNet`: the document's wording, the field as the only hidden layer
  (input → Linear → field → |ψ|² → Linear → classes).
"""
from __future__ import annotations

import warnings

import numpy

from .. import backend as B
from .. import parallel
from .. import validate as V
from ..blocks import Dense
from ..blocks.conv import ConvPool2D
from ..blocks.init import uniform_fan_in
from ..blocks.sequential import ReLU, Reshape, Sequential
from ..physics.gpe import GPELayer, StabilityError, document_params

PHYSICS = ("euler", "splitstep", "identity")


def torch_like_dense(n_in, n_out, rng):
    """A Dense layer with PyTorch's default Linear init, U(±1/√n_in) for W and b."""
    layer = Dense(n_in, n_out, rng=rng)
    layer.params["W"] = uniform_fan_in(rng, (n_in, n_out), n_in)
    layer.params["b"] = uniform_fan_in(rng, (n_out,), n_in)
    return layer


def _stack_forward(layers, x):
    """A batch through a stack of (name, layer), in order (x already checked: the layers skip their scans)."""
    with V.inner():
        for _, layer in layers:
            x = layer.forward(x)
    return x


def _stack_backward(layers, dout):
    """∂L/∂output back through a stack of (name, layer): fills each layer's grads, returns ∂L/∂x."""
    for _, layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


def _forward_blaming_input(forward, x, name):
    """forward(x); when the field block fails (StabilityError, FloatingPointError) and x is not
    normalised (raw 0–255 pixels, |x| > 50), a NeurophysInputError names the input before dt."""
    try:
        return forward(x)
    except (StabilityError, FloatingPointError) as e:
        hint = V.diagnose_input(x, name)  # blame unnormalised pixels before dt
        if hint:
            raise V.NeurophysInputError(f"{hint}(The field block then failed: {e})") from e
        raise


class PhysNet(Sequential):
    """Document 000's network; ``physics`` chooses the field block ('euler', 'splitstep', 'identity').

    Input: flat images (batch, 784) or (batch, 28, 28, 1). Output: logits (batch, 10).
    ``field`` is the last evolved field ψ (complex, (batch, 32, 32)) after a training-size forward.

    ``cores`` (default 1): with T > 1 a training batch (NumPy, at least 8·T examples) is split into
    T shards that run forward and backward side by side on T cores: shard 0 in this process, the
    others in T − 1 forked copies of the net (:class:`neurophys.parallel.ForkedCopies`: each has its
    own interpreter, so the NumPy calls of the shards never wait for one another; the copies get the
    current parameters at each forward and send back their gradients), which are then added.
    Same logits; gradients equal up to the order of that sum. Linux only: elsewhere (or inside a
    daemonic worker process) a warning says so and the batch runs in one piece.
    """

    n_classes = 10
    cores = 1

    def __init__(self, physics: str = "euler", n_steps: int = 5, dt: float = 0.01, a: float = 0.15,
                 b: float = 0.15, grid: int = 32, rng=None, check_stability: bool = True, **scheme_kw):
        if physics not in PHYSICS:
            raise ValueError(f"unknown physics {physics!r}; valid names are: {', '.join(PHYSICS)}")
        if grid % 4:
            raise ValueError(f"the field grid must be a multiple of 4 (two 2×2 poolings), got {grid}")
        rng = B.rng(0) if rng is None else rng
        p = document_params(a, b)
        self.physics, self.n_steps, self.dt, self.grid = physics, int(n_steps), float(dt), int(grid)
        flat_out = 32 * (grid // 4) ** 2
        super().__init__([
            ("conv1", ConvPool2D(1, 16, 3, 1, rng, input_grad=False, relu=True)),
            ("conv2", ConvPool2D(16, 32, 3, 1, rng, relu=True)),
            ("flat1", Reshape((7 * 7 * 32,))),
            ("fc1", torch_like_dense(1568, 128, rng)), ("relu3", ReLU()),
            ("fc2", torch_like_dense(128, 64, rng)),
            ("inject", torch_like_dense(64, 2 * grid * grid, rng)), ("to_field", Reshape((grid, grid, 2))),
            ("gpe", GPELayer(n_steps, dt, V=p["V"], g=p["g"], scheme=physics, check=check_stability,
                             **scheme_kw)),
            ("conv3", ConvPool2D(2, 16, 3, 1, rng, relu=True)),
            ("conv4", ConvPool2D(16, 32, 3, 1, rng, relu=True)),
            ("flat2", Reshape((flat_out,))),
            ("fc3", torch_like_dense(flat_out, 256, rng)), ("relu6", ReLU()),
            ("fc4", torch_like_dense(256, 10, rng)),
        ])

    def forward(self, x):
        x = V.as_float_array("x (images)", x)
        if x.ndim == 2:
            if x.shape[1] != 784:
                raise ValueError(f"PhysNet expects MNIST images (batch, 784) or (batch, 28, 28, 1), "
                                 f"got {tuple(x.shape)}")
            x = x.reshape(x.shape[0], 28, 28, 1)
        elif x.ndim != 4 or x.shape[1:] != (28, 28, 1):
            raise ValueError(f"PhysNet expects MNIST images (batch, 784) or (batch, 28, 28, 1), got {tuple(x.shape)}")
        return _forward_blaming_input(super().forward, x, "the input images x")

    # ------------------------------------------------------------------ data-parallel shards
    def _shard_bounds(self, x):
        if int(self.cores) < 2 or x.shape[0] > self.chunk or B.get_array_module(x) is not numpy:
            return None
        if self["gpe"].want_param_grads:   # ∂L/∂V, ∂L/∂g, ∂L/∂dt are kept by the layer, not in grads: one piece
            return None
        return parallel.shard_bounds(x.shape[0], self.cores, min_rows=8, multiple=8)   # multiples of 8 images

    def _forked_copies(self, T):
        """The T − 1 forked copies that run shards 1 … T − 1 (made on first use, remade when the layers
        change); None where forked copies are not available (the batch then runs in one piece)."""
        copies = getattr(self, "_copies", None)
        if copies is not None and copies.usable_for(self.layers) and copies.n_copies == T - 1:
            return copies
        if copies is not None:
            copies.close()
        self._copies = None
        if not parallel.ForkedCopies.available():
            if not getattr(self, "_warned_serial", False):
                warnings.warn(f"PhysNet.cores = {T}: forked copies are not available here (Linux only, and not "
                              f"inside a daemonic worker process); the batch runs in one piece", stacklevel=4)
                self._warned_serial = True
            return None
        self._copies = parallel.ForkedCopies(self.layers, T - 1, _stack_forward, _stack_backward,
                                             report=("max_dt_omega",))
        return self._copies

    def _forward_chunks(self, x):
        bounds = self._shard_bounds(x)
        copies = None if bounds is None else self._forked_copies(len(bounds))
        self._bounds = None
        if copies is None:
            return super()._forward_chunks(x)
        try:
            copies.start_forward([x[a:b] for a, b in bounds[1:]])
            with parallel.blas_threads(1):      # one core per shard
                first = _stack_forward(self.layers, x[bounds[0][0]:bounds[0][1]])
        except BaseException:
            copies.close()                 # the copies' answers are not waited for; new copies next time
            raise
        rest = copies.finish()
        gpe = self["gpe"]
        gpe.max_dt_omega = max([gpe.max_dt_omega] + [r["gpe"]["max_dt_omega"] for _, r in rest])
        self._bounds, self._backward_ok = bounds, True
        return numpy.concatenate([first] + [out for out, _ in rest])

    def backward(self, dout):
        bounds = getattr(self, "_bounds", None)
        if bounds is None or not self._backward_ok:
            return super().backward(dout)
        copies = self._copies
        try:
            copies.start_backward([dout[a:b] for a, b in bounds[1:]])
            with parallel.blas_threads(1):
                first = _stack_backward(self.layers, dout[bounds[0][0]:bounds[0][1]])
        except BaseException:
            copies.close()
            raise
        rest = copies.finish()
        for c in range(len(rest)):             # the shards' parameter gradients added, shard 0 first
            for i, key, g in copies.grads(c):
                layer = self.layers[i][1]
                layer.grads[key] = layer.grads[key] + g if c == 0 else numpy.add(layer.grads[key], g,
                                                                               out=layer.grads[key])
        return None if first is None else numpy.concatenate([first] + [d for d, _ in rest])   # conv1: no ∂L/∂image

    @property
    def field(self):
        """ψ after the physics block for the last forward (complex (batch, grid, grid))."""
        if getattr(self, "_bounds", None) is not None:
            return numpy.concatenate([self["gpe"]._psi] + self._copies.fetch("gpe", "_psi"))
        return self["gpe"]._psi

    def __getstate__(self):
        """A copy or pickle of the net leaves its forked copies behind (they belong to this process)."""
        state = dict(self.__dict__)
        state.pop("_copies", None)
        if state.pop("_bounds", None) is not None:   # the copies' halves of the last forward stay behind
            state["_backward_ok"] = False
        return state

    def fields(self, x, batch: int = 500):
        """(ψ₀, ψ) — the injected and the evolved field — for many images, in chunks (for figures)."""
        xp = B.get_array_module(x)
        names = [n for n, _ in self.layers]
        stop = names.index("gpe")
        psi0, psi = [], []
        for i in range(0, x.shape[0], batch):
            h = x[i:i + batch].reshape(-1, 28, 28, 1)
            for _, layer in self.layers[:stop]:
                h = layer.forward(h)
            psi0.append(h[..., 0] + 1j * h[..., 1])
            self["gpe"].forward(h)
            psi.append(self["gpe"]._psi)
        self._backward_ok, self._bounds = False, None
        return xp.concatenate(psi0), xp.concatenate(psi)


class FieldOnlyNet(Sequential):
    """The field as the only hidden layer:  x → Linear → ψ₀ (grid×grid) → GPE → |ψ|² → Linear → logits."""

    def __init__(self, physics: str = "euler", n_steps: int = 5, dt: float = 0.01, a: float = 0.15,
                 b: float = 0.15, grid: int = 32, n_in: int = 784, n_classes: int = 10, rng=None,
                 check_stability: bool = True, **scheme_kw):
        if physics not in PHYSICS:
            raise ValueError(f"unknown physics {physics!r}; valid names are: {', '.join(PHYSICS)}")
        rng = B.rng(0) if rng is None else rng
        p = document_params(a, b)
        self.physics, self.n_steps, self.grid = physics, int(n_steps), int(grid)
        self.n_classes = int(n_classes)
        super().__init__([
            ("inject", torch_like_dense(n_in, 2 * grid * grid, rng)), ("to_field", Reshape((grid, grid, 2))),
            ("gpe", GPELayer(n_steps, dt, V=p["V"], g=p["g"], scheme=physics, readout="density",
                             check=check_stability, **scheme_kw)),
            ("flat", Reshape((grid * grid,))),
            ("out", torch_like_dense(grid * grid, n_classes, rng)),
        ])

    def forward(self, x):
        x = V.as_float_array("x", x)
        return _forward_blaming_input(super().forward, x, "the input x")

    @property
    def field(self):
        return self["gpe"]._psi
