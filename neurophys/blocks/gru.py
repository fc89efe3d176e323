"""A gated recurrent unit (GRU), forward and backpropagation through time, by hand.

One step (Cho et al. 2014, in the convention PyTorch uses), for input x_t
(batch, n_in) and hidden state h_{t−1} (batch, n_hidden):

    r_t = σ(x_t W_r + h_{t−1} U_r + b_r)                   reset gate
    u_t = σ(x_t W_u + h_{t−1} U_u + b_u)                   update gate
    n_t = tanh(x_t W_n + b_n + r_t ⊙ (h_{t−1} U_n + c_n))  candidate state
    h_t = (1 − u_t) ⊙ n_t + u_t ⊙ h_{t−1}

Parameters (``params`` dict): ``Wx`` = [W_r | W_u | W_n] of shape (n_in, 3H),
``Wh`` = [U_r | U_u | U_n] of shape (H, 3H), ``b`` = [b_r | b_u | b_n] (3H,)
and ``c`` = c_n (H,), the hidden bias inside the reset gate.

The update gate u_t is a learned "inertia": u → 1 keeps the old state, u → 0
replaces it by the candidate. Backward (BPTT) runs the same recursion in
reverse; ``tests/test_gru.py`` checks it against central differences.
"""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
from .activations import sigmoid
from .base import Module
from .init import uniform_fan_in


class GRU(Module):
    """A GRU layer run over whole sequences: ``forward(X) -> Hs``, ``backward(dHs) -> dX``.

    ``X`` has shape (batch, T, n_in); ``Hs`` has shape (batch, T, n_hidden) and
    holds every hidden state h_1 … h_T (the last one, ``Hs[:, -1]``, summarises
    the sequence). ``backward`` takes ∂L/∂Hs (zeros where the loss does not
    look), fills ``grads`` and returns ∂L/∂X (and stores ∂L/∂h_0 as ``dh0``).
    """

    def __init__(self, n_in: int, n_hidden: int, rng=None):
        if int(n_in) < 1 or int(n_hidden) < 1:
            raise ValueError(f"GRU needs n_in, n_hidden >= 1, got ({n_in}, {n_hidden})")
        self.n_in, self.n_hidden = int(n_in), int(n_hidden)
        rng = B.rng(0) if rng is None else rng
        H = self.n_hidden
        self.params = {  # U(−1/√H, 1/√H), PyTorch's default for recurrent layers
            "Wx": uniform_fan_in(rng, (self.n_in, 3 * H), H),
            "Wh": uniform_fan_in(rng, (H, 3 * H), H),
            "b": uniform_fan_in(rng, (3 * H,), H),
            "c": uniform_fan_in(rng, (H,), H),
        }
        self.grads = {k: None for k in self.params}
        self.dh0 = None
        self._cache = None

    def step(self, x, h):
        """One step h_{t−1} → h_t (the equations in the module docstring); returns h_t."""
        xp = B.get_array_module(x)
        H = self.n_hidden
        Wx, Wh, b, c = (self.params[k] for k in ("Wx", "Wh", "b", "c"))
        ax = x @ Wx + b
        ah = h @ Wh[:, :2 * H]
        r = sigmoid(ax[:, :H] + ah[:, :H])
        u = sigmoid(ax[:, H:2 * H] + ah[:, H:])
        n = xp.tanh(ax[:, 2 * H:] + r * (h @ Wh[:, 2 * H:] + c))
        return (1 - u) * n + u * h

    def forward(self, X, h0=None):
        """Run the GRU over X (batch, T, n_in) from h0 (zeros by default); returns Hs (batch, T, H)."""
        X = V.as_float_array("X", X, ndim=3, shape=(None, "T", self.n_in))
        if X.shape[1] == 0:
            raise V.NeurophysInputError(f"X has no time steps (shape {tuple(X.shape)}); pass sequences of length >= 1")
        if h0 is not None:
            h0 = V.as_float_array("h0", h0, shape=(X.shape[0], self.n_hidden)).astype(X.dtype, copy=False)
        xp = B.get_array_module(X)
        batch, T, _ = X.shape
        H = self.n_hidden
        Wh, c = self.params["Wh"], self.params["c"]
        h = xp.zeros((batch, H), dtype=X.dtype) if h0 is None else h0
        # the input part of every gate for all steps at once: (batch, T, 3H)
        AX = (X.reshape(batch * T, self.n_in) @ self.params["Wx"] + self.params["b"]).reshape(batch, T, 3 * H)
        Hs = xp.empty((batch, T, H), dtype=X.dtype)
        Hprev = xp.empty_like(Hs)
        R, U, N, HN = (xp.empty_like(Hs) for _ in range(4))
        for t in range(T):
            Hprev[:, t] = h
            ah = h @ Wh
            r = sigmoid(AX[:, t, :H] + ah[:, :H])
            u = sigmoid(AX[:, t, H:2 * H] + ah[:, H:2 * H])
            hn = ah[:, 2 * H:] + c
            n = xp.tanh(AX[:, t, 2 * H:] + r * hn)
            h = (1 - u) * n + u * h
            R[:, t], U[:, t], N[:, t], HN[:, t], Hs[:, t] = r, u, n, hn, h
        self._cache = (X, Hprev, R, U, N, HN)
        return Hs

    __call__ = forward

    def backward(self, dHs):
        """Backpropagation through time. For each step, from t = T down to 1, with
        g = ∂L/∂h_t (from the output plus from step t+1):

            ∂n = g ⊙ (1 − u),   ∂u = g ⊙ (h_{t−1} − n),   ∂h_{t−1} ⊇ g ⊙ u
            ∂a_n = ∂n ⊙ (1 − n²)                 (a_n: pre-activation of n)
            ∂r = ∂a_n ⊙ (h_{t−1} U_n + c_n),      ∂(h_{t−1} U_n + c_n) = ∂a_n ⊙ r
            ∂a_r = ∂r ⊙ r (1 − r),   ∂a_u = ∂u ⊙ u (1 − u)
            ∂h_{t−1} ⊇ [∂a_r, ∂a_u, ∂a_n ⊙ r] Whᵀ

        and the weight gradients sum over steps: ∂Wx = Σ_t x_tᵀ [∂a_r, ∂a_u, ∂a_n],
        ∂Wh = Σ_t h_{t−1}ᵀ [∂a_r, ∂a_u, ∂a_n ⊙ r], ∂b = Σ [∂a_r, ∂a_u, ∂a_n], ∂c = Σ ∂a_n ⊙ r.
        """
        if self._cache is None:
            raise RuntimeError("GRU.backward called before forward")
        X, Hprev, R, U, N, HN = self._cache
        if tuple(dHs.shape) != tuple(Hprev.shape):
            raise ValueError(f"dHs must have shape {tuple(Hprev.shape)}, got {tuple(dHs.shape)}")
        xp = B.get_array_module(X)
        batch, T, _ = X.shape
        H = self.n_hidden
        WhT = self.params["Wh"].T
        DAX = xp.empty((batch, T, 3 * H), dtype=X.dtype)  # ∂L/∂(input part of the gates)
        DAH = xp.empty((batch, T, 3 * H), dtype=X.dtype)  # ∂L/∂(h_{t−1} Wh + [0, 0, c])
        g_next = xp.zeros((batch, H), dtype=X.dtype)
        for t in reversed(range(T)):
            g = dHs[:, t] + g_next
            r, u, n, hn, hp = R[:, t], U[:, t], N[:, t], HN[:, t], Hprev[:, t]
            dan = g * (1 - u) * (1 - n * n)
            dar = dan * hn * r * (1 - r)
            dau = g * (hp - n) * u * (1 - u)
            DAX[:, t, :H], DAX[:, t, H:2 * H], DAX[:, t, 2 * H:] = dar, dau, dan
            DAH[:, t, :H], DAH[:, t, H:2 * H], DAH[:, t, 2 * H:] = dar, dau, dan * r
            g_next = g * u + DAH[:, t] @ WhT
        dax = DAX.reshape(batch * T, 3 * H)
        dah = DAH.reshape(batch * T, 3 * H)
        self.grads["Wx"] = X.reshape(batch * T, self.n_in).T @ dax
        self.grads["b"] = dax.sum(axis=0)
        self.grads["Wh"] = Hprev.reshape(batch * T, H).T @ dah
        self.grads["c"] = dah[:, 2 * H:].sum(axis=0)
        self.dh0 = g_next
        return (dax @ self.params["Wx"].T).reshape(batch, T, self.n_in)
