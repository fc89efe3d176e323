"""Hand-written GRU and the GRU energy encoder against central differences (float64)."""
import numpy as np
import pytest

from neurophys import backend as B
from neurophys.blocks.gru import GRU
from neurophys.gradcheck import check_gradient


def _gru_setup(rng, n_in=3, H=5, batch=4, T=6):
    gru = GRU(n_in, H, rng=B.rng(1))
    X = B.asarray(rng.standard_normal((batch, T, n_in)))
    G = B.asarray(rng.standard_normal((batch, T, H)))
    return gru, X, G


def test_gru_forward_matches_step_by_step(f64):
    gru, X, _ = _gru_setup(f64)
    Hs = gru.forward(X)
    h = B.zeros((X.shape[0], gru.n_hidden))
    for t in range(X.shape[1]):
        h = gru.step(X[:, t], h)
        assert np.allclose(Hs[:, t], h)
    assert np.all(np.abs(Hs) < 1), "h_t is a convex mix of tanh values and h_0 = 0"


def test_gru_bptt_gradients(f64):
    """L = Σ_t Σ_i G_ti · h_ti  (every hidden state contributes)."""
    gru, X, G = _gru_setup(f64)

    def loss():
        return float((gru.forward(X) * G).sum())

    gru.forward(X)
    dX = gru.backward(G)
    for name, p in gru.params.items():
        err = check_gradient(loss, p, gru.grads[name])
        assert err < 1e-6, f"GRU ∂L/∂{name}: relative error {err:.2e}"
    assert check_gradient(loss, X, dX) < 1e-6


def test_gru_last_state_only_and_h0(f64):
    """Loss on the last hidden state only (what an encoder uses), from a non-zero h0."""
    gru, X, G = _gru_setup(f64, T=8)
    h0 = B.asarray(f64.standard_normal((X.shape[0], gru.n_hidden)) * 0.5)
    w = B.asarray(f64.standard_normal(gru.n_hidden))

    def loss():
        return float((gru.forward(X, h0)[:, -1] @ w).sum())

    Hs = gru.forward(X, h0)
    dHs = np.zeros_like(Hs)
    dHs[:, -1] = w
    gru.backward(dHs)
    for name, p in gru.params.items():
        assert check_gradient(loss, p, gru.grads[name]) < 1e-6, name
    assert check_gradient(loss, h0, gru.dh0) < 1e-6


def test_gru_bad_input():
    gru = GRU(2, 4)
    with pytest.raises(ValueError, match=r"shape \(batch, T, 2\)"):
        gru.forward(B.zeros((3, 5, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        GRU(2, 4).backward(B.zeros((1, 1, 4)))
    with pytest.raises(ValueError, match="n_in, n_hidden >= 1"):
        GRU(0, 4)
