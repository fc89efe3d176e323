"""Layers in a row: :class:`Sequential`, and the two parameter-free layers it needs most
(:class:`ReLU`, :class:`Reshape`). Each backward sits next to its forward.

>>> from neurophys import backend as B
>>> from neurophys.blocks import Dense
>>> from neurophys.blocks.sequential import ReLU, Sequential
>>> net = Sequential([("fc1", Dense(4, 8, rng=B.rng(0))), ("relu", ReLU()), ("fc2", Dense(8, 3, rng=B.rng(1)))])
>>> z = net.forward(B.ones((5, 4)))
>>> z.shape, sorted(net.params)
((5, 3), ['fc1.W', 'fc1.b', 'fc2.W', 'fc2.b'])
>>> net.backward(B.ones((5, 3))).shape                # ∂L/∂x, and net.grads filled
(5, 4)
"""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
from .activations import get_activation
from .base import Classifier, Module


class ReLU(Module):
    """y = max(x, 0);  ∂L/∂x = ∂L/∂y · [x > 0]."""

    def __init__(self):
        self.params, self.grads, self._x = {}, {}, None
        self._act = get_activation("relu")

    def forward(self, x):
        x = V.as_float_array("x", x)
        self._x = x
        return self._act.f(x)

    def backward(self, dy):
        return dy * self._act.df(self._x)


class Reshape(Module):
    """A view of each example with another shape (flatten, or a vector into a field); backward undoes it."""

    def __init__(self, shape):
        self.shape, self.params, self.grads, self._in = tuple(shape), {}, {}, None

    def forward(self, x):
        x = V.as_float_array("x", x)
        self._in = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        return dy.reshape(self._in)


class Sequential(Classifier):
    """Layers applied in order; ``params`` / ``grads`` are flat dicts named 'layer.param'.

    Large batches in ``forward`` (more than ``chunk``) are run in chunks to bound the
    memory of the im2col patches; such a forward (evaluation) cannot be followed by backward.
    """

    chunk = 500

    def __init__(self, layers):
        self.layers = list(layers)
        self._backward_ok = None     # None: no forward yet; False: the last forward was chunked (evaluation)

    @property
    def params(self):
        return {f"{name}.{k}": v for name, layer in self.layers for k, v in layer.params.items()}

    @property
    def grads(self):
        return {f"{name}.{k}": v for name, layer in self.layers for k, v in layer.grads.items()}

    def _forward(self, x):
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, x):
        x = V.as_float_array("x", x)
        with V.inner():  # x is checked once here; the layers skip the finiteness scan
            return self._forward_chunks(x)

    def _forward_chunks(self, x):
        if x.shape[0] > self.chunk:
            xp = B.get_array_module(x)
            out = xp.concatenate([self._forward(x[i:i + self.chunk]) for i in range(0, x.shape[0], self.chunk)])
            self._backward_ok = False
            return out
        self._backward_ok = True
        return self._forward(x)

    def backward(self, dout):
        ok = getattr(self, "_backward_ok", None)
        if ok is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run forward on a "
                               f"training batch (at most {self.chunk} examples) first")
        if not ok:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward of at most {self.chunk} examples "
                               f"(a training batch) just before it; the last forward kept nothing for backward "
                               f"(more than {self.chunk} examples run in chunks, for evaluation). To train on more "
                               f"examples, use learn(x, y, opt, batch_size=...) with batch_size <= {self.chunk}")
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, name):
        return dict(self.layers)[name]
