"""A multilayer perceptron assembled from :class:`~neurophys.blocks.Dense` layers.

    h⁰ = x,   zˡ = hˡ⁻¹ Wˡ + bˡ,   hˡ = f(zˡ)   (f_out on the last layer)

Parameters live in one flat dict (``W0, b0, W1, b1, ...``) so that any
optimizer (``opt.step(net.params, net.grads)``) and any continual-learning
penalty can work on them by name.
"""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
from ..blocks import Dense, get_activation
from ..blocks.base import Classifier


def layer_sizes(sizes, who: str = "MLP") -> list:
    """``sizes`` checked: a sequence (list, tuple, array) of at least two positive integers,
    returned as a list of ints. Strings and non-integer sizes (2.7) are refused, not truncated."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or not hasattr(sizes, "__iter__"):
        raise V.NeurophysInputError(f"sizes must be a list of layer widths such as [784, 100, 10], "
                                    f"got {V.describe(sizes)}")
    sizes = [V.positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise V.NeurophysInputError(f"{who} needs at least two layer sizes (input and output), got sizes={sizes}")
    return sizes


class MLP(Classifier):
    """Training verb: :meth:`~neurophys.blocks.base.Classifier.learn` (one pass of minibatches
    on the softmax cross-entropy); ``predict`` = ``forward``.

    >>> from neurophys import backend as B
    >>> from neurophys.models.mlp import MLP
    >>> net = MLP([2, 8, 1], activation="tanh", rng=B.rng(0))     # 2 → 8 (tanh) → 1
    >>> net.forward(B.ones((3, 2))).shape, net.n_params()
    ((3, 1), 33)
    """

    def __init__(self, sizes, activation="tanh", out_activation="identity", rng=None,
                 init: str = "xavier", init_scale: float | None = None):
        self.sizes = layer_sizes(sizes, "MLP")
        self.act = get_activation(activation)
        self.out_act = get_activation(out_activation)
        self.init, self.init_scale = init, init_scale
        self.params, self.grads = {}, {}
        self.reset(B.rng(0) if rng is None else rng)

    def reset(self, rng):
        """Redraw every weight from the initial distribution (biases to zero), in place."""
        self.layers = [Dense(a, b, rng, init=self.init, scale=self.init_scale)
                       for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        for i, layer in enumerate(self.layers):
            for name in ("W", "b"):
                key = f"{name}{i}"
                if key in self.params:  # keep the arrays the optimizer already refers to
                    self.params[key][...] = layer.params[name]
                    layer.params[name] = self.params[key]
                else:
                    self.params[key] = layer.params[name]
        self._z = []

    def _activation(self, i):
        return self.out_act if i == len(self.layers) - 1 else self.act

    def forward(self, x):
        """Returns the output h^L; caches every pre-activation zˡ for backward."""
        x = V.as_float_array("x", x, ndim=(1, 2))
        if x.ndim == 1:
            x = x[None, :]
        self._z = []
        h = x
        with V.inner():  # x was checked once; the layers skip the finiteness scan
            for i, layer in enumerate(self.layers):
                layer.params["W"], layer.params["b"] = self.params[f"W{i}"], self.params[f"b{i}"]
                z = layer.forward(h)
                self._z.append(z)
                h = self._activation(i).f(z)
        return h

    __call__ = forward

    def backward(self, dout):
        """Backpropagation: δᴸ = ∂L/∂hᴸ ⊙ f'(zᴸ);  δˡ = (δˡ⁺¹ Wˡ⁺¹ᵀ) ⊙ f'(zˡ).

        Fills ``self.grads`` (∂L/∂Wˡ = hˡ⁻¹ᵀ δˡ, ∂L/∂bˡ = Σ δˡ) and returns ∂L/∂x.
        """
        if not self._z:
            raise RuntimeError("MLP.backward called before forward")
        want = tuple(self._z[-1].shape)    # ∂L/∂hᴸ has the shape of the last forward's output
        if tuple(getattr(dout, "shape", ())) != want:
            raise V.NeurophysInputError(f"dout (∂L/∂output) must have the shape of the last forward's output "
                                        f"{want}, got {V.describe(dout)}")
        g = dout
        for i in reversed(range(len(self.layers))):
            g = g * self._activation(i).df(self._z[i])
            g = self.layers[i].backward(g)
            self.grads[f"W{i}"], self.grads[f"b{i}"] = self.layers[i].grads["W"], self.layers[i].grads["b"]
        return g
