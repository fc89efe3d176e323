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


# ---------------------------------------------------------------- the GRU energy encoder
from neurophys.models.gru_encoder import (GRUEnergyEncoder, conservation_ratio, linear_readout,  # noqa: E402
                                          pca, standardise, train)


@pytest.mark.parametrize("energy_loss", ["var", "diff"])
def test_encoder_gradients_all_parameters(f64, energy_loss):
    """L = recon + λ_E L_energy + λ_R ‖θ‖², every parameter and both energy penalties."""
    model = GRUEnergyEncoder(n_state=2, seq_len=5, n_hidden=6, latent_dim=3, decoder_hidden=7,
                             energy_hidden=4, lambda_e=0.7, lambda_r=1e-2, energy_loss=energy_loss,
                             rng=B.rng(2))
    X = B.asarray(f64.standard_normal((3, 5, 2)))
    for p in model.params.values():  # non-zero biases, so no gradient is exactly 0 (0/0 in the check)
        p += 0.3 * f64.standard_normal(p.shape)
    model.loss_and_grads(X)
    grads = {k: g.copy() for k, g in model.grads.items()}
    for name, p in model.params.items():
        err = check_gradient(lambda: model.loss(X)[0], p, grads[name], eps=1e-5)
        assert err < 1e-6, f"∂L/∂{name}: relative error {err:.2e}"


def test_encoder_learns_to_reconstruct(f64):
    """A few epochs on spring trajectories lower the reconstruction error a lot."""
    from neurophys.physics import mechanics as M
    _, s = M.simulate("spring", 64, n_steps=10, integrator="verlet", seed=0)
    X, _, _ = standardise(B.asarray(s))
    model = GRUEnergyEncoder(2, 10, n_hidden=16, latent_dim=4, decoder_hidden=32, energy_hidden=8,
                             rng=B.rng(0))
    first = model.loss(X)[1]["recon"]
    hist = train(model, X, epochs=40, batch_size=16, lr=3e-3, rng=np.random.default_rng(0))
    assert hist["recon"][-1] < 0.3 * first, (first, hist["recon"][-1])


def test_measurements():
    rng = np.random.default_rng(0)
    level = rng.normal(size=(50, 1))
    assert conservation_ratio(level + 1e-3 * rng.normal(size=(50, 20))) < 1e-4
    assert np.isnan(conservation_ratio(np.ones((10, 5))))
    Z = rng.normal(size=(200, 3))
    y = Z @ np.array([1.0, -2.0, 0.5]) + 3.0
    r2, w, w0 = linear_readout(Z[:150], y[:150], Z[150:], y[150:])
    assert r2 > 0.999 and np.allclose(w, [1, -2, 0.5]) and np.isclose(w0, 3.0)
    P, ratio, _ = pca(np.outer(rng.normal(size=100), [3.0, 4.0]) + 1e-3 * rng.normal(size=(100, 2)))
    assert P.shape == (100, 2) and ratio[0] > 0.999


def test_encoder_bad_input():
    model = GRUEnergyEncoder(4, 10, n_hidden=8, latent_dim=2)
    with pytest.raises(ValueError, match=r"shape \(batch, 10, 4\)"):
        model.forward(B.zeros((2, 10, 2)))
    bad = np.zeros((2, 10, 4), dtype=np.float32)
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.forward(bad)
    with pytest.raises(ValueError, match="unknown energy_loss"):
        GRUEnergyEncoder(4, 10, energy_loss="l1")
    with pytest.raises(ValueError, match="lambda_e"):
        GRUEnergyEncoder(4, 10, lambda_e=-1)
