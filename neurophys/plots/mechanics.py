"""Figures for lessons 10 and 11: trajectories, invariant drift, energy monitors, latent PCA."""
from __future__ import annotations

import numpy as np

from .. import backend as B
from ..physics import mechanics as M


def _host(a):
    return np.asarray(B.to_host(a), dtype=float)


def plot_trajectories(ax, system: str, t, states, n_show: int = 8, recon=None, title: str | None = None):
    """Paths in the plane (projectile, orbit: y vs x) or the phase portrait (spring: v vs x).

    With ``recon`` (same shape as states), the reconstructions are drawn dashed on top.
    """
    s = _host(states)[:n_show]
    r = None if recon is None else _host(recon)[:n_show]
    i, j = (0, 1)
    xlabel, ylabel = ("x", "v") if system == "spring" else ("x", "y")
    colours = [f"C{k % 10}" for k in range(len(s))]
    for k, traj in enumerate(s):
        ax.plot(traj[:, i], traj[:, j], color=colours[k], lw=1.2)
        ax.plot(traj[0, i], traj[0, j], "o", color=colours[k], ms=3)
        if r is not None:
            ax.plot(r[k][:, i], r[k][:, j], "--", color=colours[k], lw=1.0)
    if system == "orbit":
        ax.plot(0, 0, "*", color="k", ms=8)
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or system)
    return ax


def plot_relative_error(ax, curves: dict, title: str = "", ylabel: str = "|E(t) − E(0)| / |E(0)|"):
    """Median (line) and 10–90 % band over trajectories of relative errors, log scale.

    ``curves`` maps a label to ``(t, err)``: times (n_steps,) and relative errors
    (n_trajectories, n_steps).
    """
    for k, (label, (t, err)) in enumerate(curves.items()):
        # from the second sample on: at t = 0 the error is 0 by definition
        t, err = _host(t)[1:], np.maximum(_host(err)[:, 1:], 1e-17)
        lo, med, hi = np.percentile(err, [10, 50, 90], axis=0)
        ax.plot(t, med, color=f"C{k}", label=label)
        ax.fill_between(t, lo, hi, color=f"C{k}", alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def plot_energy_monitor(ax, t, E_true, E_recon=None, E_pred=None, title: str = ""):
    """Energy along a few trajectories: the true (conserved) value, the energy of the
    reconstructed states E(x̂_t), and a model's predicted energy, one colour per trajectory."""
    t = _host(t)
    E_true = _host(E_true)
    for k in range(E_true.shape[0]):
        c = f"C{k % 10}"
        ax.plot(t, E_true[k], color=c, lw=1.5)
        if E_recon is not None:
            ax.plot(t, _host(E_recon)[k], "--", color=c, lw=1.0)
        if E_pred is not None:
            ax.plot(t, _host(E_pred)[k], ":", color=c, lw=1.5)
    ax.set_xlabel("t")
    ax.set_ylabel("E")
    ax.set_title(title + "\n(solid: true, dashed: E(x̂), dotted: predicted)")
    return ax


def plot_latent_pca(ax, P, energy, ratio=None, title: str = "latent PCA"):
    """First two principal components of the latents, coloured by the true energy."""
    P, energy = _host(P), _host(energy)
    sc = ax.scatter(P[:, 0], P[:, 1], c=energy, s=6, cmap="viridis")
    ax.figure.colorbar(sc, ax=ax, label="true energy E")
    if ratio is not None:
        ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f} %)")
        ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f} %)")
    ax.set_title(title)
    return ax


def plot_loss_curves(ax, histories: dict, key: str = "recon", title: str = ""):
    """Training curves (log scale) of one loss part for several runs."""
    for label, h in histories.items():
        ax.plot(np.arange(1, len(h[key]) + 1), h[key], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def state_labels(system: str):
    return M.STATE_NAMES[M.check_system(system)]
