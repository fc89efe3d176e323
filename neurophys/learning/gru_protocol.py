"""Lesson 11's experiment (document 002): one GRU energy encoder trained and measured per sweep *unit*.

:func:`gru_energy_unit` trains one :class:`~neurophys.models.gru_encoder.GRUEnergyEncoder`
(one system, the standard λ_E = 0 or the physics-aware model, one latent dimension, one
initialisation) on trajectories from :func:`make_data` and returns what lesson 11 measures:
the energy drift of the reconstructed motion, the head's conservation ratio, the linear
read-outs of the energy, the PCA of the latents, the loss history, and a few test
trajectories for the figures and the dashboard files. Everything random comes from the
arguments: the data from ``data_seed``, the initialisation from ``B.rng(data_seed + 100 init)``
and the minibatch order from ``B.host_rng(data_seed + 100 init)`` — the seeds the lesson
always used — so a unit gives the same numbers alone, in a pool of processes or on Dask.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from .. import backend as B
from ..models import gru_encoder as G
from ..physics import mechanics as M
from ..validate import DivergenceError

__all__ = ["MODELS", "make_data", "affine_calibration", "evaluate", "fit", "pca_energy", "gru_energy_unit"]

MODELS = ("standard", "physics")   # λ_E = 0, and the physics-aware model's λ_E


@functools.lru_cache(maxsize=3)
def _simulate(system: str, n_traj: int, seq_len: int, seed: int):
    return M.simulate(system, n_traj, n_steps=seq_len, integrator="rk45", seed=seed)


def make_data(system: str, n_traj: int, seq_len: int, seed: int, test_fraction: float = 0.2) -> dict:
    """``n_traj`` RK45 trajectories (rtol 1e-9) of ``seq_len`` samples, the last ``test_fraction`` held out;
    states standardised with the training set's mean and std; the true energy per sample."""
    t, states = _simulate(system, int(n_traj), int(seq_len), int(seed))
    n_test = int(round(test_fraction * n_traj))
    tr, te = states[:-n_test], states[-n_test:]
    Xtr, mu, sd = G.standardise(B.asarray(tr))
    Xte, _, _ = G.standardise(B.asarray(te), mu, sd)
    E = M.invariants(system, states)["total"]
    return {"t": t, "train": tr, "test": te, "Xtr": Xtr, "Xte": Xte, "mu": mu, "sd": sd,
            "E_train": E[:-n_test], "E_test": E[-n_test:]}


def affine_calibration(E_head, E_true):
    """(a, b) of the least-squares fit E_true ≈ a Ê + b over all samples. A head that says the same
    everywhere (it collapses when nothing trains it: the standard model, λ_E = 0) carries no
    energy: a = 0 and b = the mean energy (a straight-line fit would divide 0 by 0)."""
    x, y = np.ravel(E_head), np.ravel(E_true)
    if not np.isfinite(x).all():
        raise DivergenceError("the energy head's output Ê is not finite: the encoder's training diverged; "
                              "lower lr or lambda_e")
    if np.ptp(x) == 0:
        return 0.0, float(np.mean(y))
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b)


def evaluate(system: str, model, data: dict, history: dict) -> dict:
    """Everything lesson 11 measures about one trained model on the test trajectories."""
    Xh, Eh, Z = model.predict(data["Xte"])
    _, Eh_tr, Z_tr = model.predict(data["Xtr"])
    recon = np.asarray(B.to_host(Xh * data["sd"] + data["mu"]), dtype=float)
    E_true = data["E_test"]                                # (n_test, T), constant along t up to 1e-8
    E_level = E_true[:, :1]
    E_recon = M.invariants(system, recon)["total"]
    dE = np.abs(E_recon - E_level)
    r2, _, _ = G.linear_readout(Z_tr[:, -1], data["E_train"][:, 0], Z[:, -1], E_true[:, 0])
    # is the head's per-trajectory level mean_t Ê the energy? affine fit on train, R² on test
    Eh_h, Eh_tr_h = (np.asarray(B.to_host(a), dtype=float) for a in (Eh, Eh_tr))
    head_r2, _, _ = G.linear_readout(Eh_tr_h.mean(1, keepdims=True), data["E_train"][:, 0],
                                     Eh_h.mean(1, keepdims=True), E_true[:, 0])
    # affine calibration of the head's Ê onto the true energy (train set, all steps), for display only
    a, b = affine_calibration(Eh_tr_h, data["E_train"])
    rel = (dE / np.abs(E_level)).mean(axis=1)              # per test trajectory
    # the head's own "drift": mean_t |Ê_t − mean_t Ê| / |mean_t Ê|, per trajectory (raw head units)
    level = Eh_h.mean(axis=1, keepdims=True)
    head_drift = np.abs(Eh_h - level).mean(axis=1) / np.maximum(np.abs(level[:, 0]), 1e-12)
    return {
        "head_drift": float(100 * np.median(head_drift)),
        "recon_mse": float(B.to_host(((Xh - data["Xte"]) ** 2).mean())),
        "drift": float(100 * rel.mean()),
        "drift_median": float(100 * np.median(rel)),
        "head_energy_r2": head_r2,
        "max_dE": float(dE.max()),
        "head_ratio": G.conservation_ratio(Eh),
        "head_std": float(B.to_host(Eh.std())),
        "energy_r2": r2,
        "recon": recon, "E_recon": E_recon, "E_head": np.asarray(B.to_host(Eh), dtype=float),
        "E_head_calibrated": a * np.asarray(B.to_host(Eh), dtype=float) + b,
        "Z": np.asarray(B.to_host(Z), dtype=float), "Z_train": np.asarray(B.to_host(Z_tr), dtype=float),
        "history": history,
    }


def fit(system: str, data: dict, lam: float, latent_dim: int, *, seed: int, seq_len: int, epochs: int,
        batch_size: int, lr: float, n_hidden: int, lambda_r: float, energy_loss: str, progress=None):
    """Train one encoder (initialisation ``B.rng(seed)``, minibatch order ``B.host_rng(seed)``) and evaluate it."""
    model = G.GRUEnergyEncoder(M.state_dim(system), seq_len, n_hidden=n_hidden, latent_dim=latent_dim,
                               lambda_e=lam, lambda_r=lambda_r, energy_loss=energy_loss, rng=B.rng(seed))
    t0 = time.time()
    history = G.train(model, data["Xtr"], epochs, batch_size=batch_size, lr=lr, rng=B.host_rng(seed),
                      progress=progress)
    res = evaluate(system, model, data, history)
    res["seconds"] = time.time() - t0
    res["n_params"] = model.n_params()
    return model, res


def pca_energy(Z_all, E_all) -> dict:
    """PCA (SVD) of the latents to 2 dimensions, and how much of the energy the two leading
    directions carry: R² of a linear and of a quadratic fit of E in (PC1, PC2), in-sample."""
    Pz, ratio, _ = G.pca(Z_all, 2)
    r2_pc, _, _ = G.linear_readout(Pz, E_all, Pz, E_all)
    quad = np.column_stack([Pz, Pz ** 2, Pz[:, :1] * Pz[:, 1:]])   # a radius in the plane, as for a spring
    r2_q, _, _ = G.linear_readout(quad, E_all, quad, E_all)
    return {"pca": Pz, "pca_explained": ratio, "pca2_energy_r2": r2_pc, "pca2_quadratic_energy_r2": r2_q}


def gru_energy_unit(system: str, model: str, latent_dim: int, init: int, *, data_seed: int = 0,
                    n_traj: int = 600, seq_len: int = 40, epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                    n_hidden: int = 128, lambda_e: float = 0.1, lambda_r: float = 1e-5, energy_loss: str = "var",
                    test_fraction: float = 0.2, n_show: int = 6) -> dict:
    """One encoder: ``system``, ``model`` ("standard": λ_E = 0; "physics": ``lambda_e``), ``latent_dim``,
    initialisation number ``init`` (seed ``data_seed + 100 init``), on the data of ``data_seed``.

    Returns the scalar measurements of :func:`evaluate`, the loss history, the PCA of z_T over all
    trajectories (:func:`pca_energy`) and the first ``n_show`` test trajectories' reconstruction,
    energies and latents (lists), for the figures and the dashboard files.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    data = make_data(system, n_traj, seq_len, data_seed, test_fraction)
    lam = 0.0 if model == "standard" else float(lambda_e)
    _, res = fit(system, data, lam, int(latent_dim), seed=int(data_seed) + 100 * int(init), seq_len=int(seq_len),
                 epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), n_hidden=int(n_hidden),
                 lambda_r=float(lambda_r), energy_loss=energy_loss)
    E_all = np.concatenate([data["E_train"][:, 0], data["E_test"][:, 0]])
    pca = pca_energy(np.concatenate([res["Z_train"][:, -1], res["Z"][:, -1]]), E_all)
    out = {k: res[k] for k in ("head_drift", "recon_mse", "drift", "drift_median", "head_energy_r2", "max_dE",
                               "head_ratio", "head_std", "energy_r2", "seconds", "n_params", "history")}
    out.update({k: np.asarray(res[k][:n_show]).tolist() for k in ("recon", "E_recon", "E_head", "E_head_calibrated")})
    out["latents"] = res["Z"][:n_show, -1].tolist()
    out.update({k: np.asarray(v).tolist() if k in ("pca", "pca_explained") else v for k, v in pca.items()})
    return out
