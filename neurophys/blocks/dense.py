"""The dense (fully connected) layer, forward and backward side by side."""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
from .base import Module
from .init import init_weights


class Dense(Module):
    """z = x W + b, with W of shape (n_in, n_out) and b of shape (n_out,).

    ``forward`` caches its input; ``backward`` takes ∂L/∂z and fills
    ``grads`` with ∂L/∂W and ∂L/∂b, returning ∂L/∂x.

    >>> from neurophys import backend as B
    >>> from neurophys.blocks import Dense
    >>> layer = Dense(3, 2, rng=B.rng(0))
    >>> layer.forward(B.ones((4, 3))).shape
    (4, 2)
    >>> layer.backward(B.ones((4, 2))).shape, layer.grads["b"]     # ∂L/∂b = Σ_batch ∂L/∂z
    ((4, 3), array([4., 4.], dtype=float32))
    """

    def __init__(self, n_in: int, n_out: int, rng=None, init: str = "xavier", scale: float | None = None):
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"Dense needs n_in, n_out >= 1, got ({n_in}, {n_out})")
        self.n_in, self.n_out = int(n_in), int(n_out)
        rng = B.rng(0) if rng is None else rng
        self.params = {"W": init_weights(rng, self.n_in, self.n_out, init, scale), "b": B.zeros((self.n_out,))}
        self.grads = {k: None for k in self.params}
        self._x = None

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]

    def forward(self, x):
        """z = x W + b  for a batch x of shape (batch, n_in)."""
        x = V.as_float_array("x", x, ndim=2, shape=(None, self.n_in))
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dz):
        """∂L/∂W = xᵀ ∂L/∂z,  ∂L/∂b = Σ_batch ∂L/∂z,  ∂L/∂x = ∂L/∂z Wᵀ."""
        if self._x is None:
            raise RuntimeError("Dense.backward called before forward")
        want = (self._x.shape[0], self.n_out)       # ∂L/∂z has the shape of the last forward's output z
        if tuple(getattr(dz, "shape", ())) != want:
            raise V.NeurophysInputError(f"dz (∂L/∂z) must have the shape of the last forward's output {want}, "
                                        f"got {V.describe(dz)}")
        self.grads["W"] = self._x.T @ dz
        self.grads["b"] = dz.sum(axis=0)
        return dz @ self.params["W"].T
