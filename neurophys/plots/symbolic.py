"""Figures for lesson 12's label-free discovery: drift spectra and the noise sweep."""
from __future__ import annotations

import numpy as np


def plot_drift_spectrum(ax, res, title: str = ""):
    """Every candidate direction of a ``find_conserved`` result: its drift (bars, log scale) and the
    drift its measurement noise alone would cause (black ticks). Green: conserved; grey: rejected;
    blue: no spread between trajectories (drift undefined, drawn at the top)."""
    drifts, floors = np.asarray(res.drifts, float), np.asarray(res.floors, float)
    flat = ~np.isfinite(drifts)
    top = np.nanmax(np.where(flat, np.nan, drifts), initial=1.0) * 10
    shown = np.clip(np.where(flat, top, drifts), 1e-16, None)
    colours = ["tab:blue" if f else ("tab:green" if c else "tab:gray") for f, c in zip(flat, res.conserved)]
    x = np.arange(len(drifts))
    ax.bar(x, shown, color=colours, bottom=1e-16)
    ok = np.isfinite(floors) & (floors > 0)
    ax.plot(x[ok], floors[ok], "_", color="k", ms=14, mew=2, label="noise floor")
    ax.axhline(res.settings.get("max_drift", 0.1), color="tab:red", ls="--", lw=1, label="max_drift")
    ax.set_yscale("log")
    ax.set_xlabel("candidate direction (sorted by drift)")
    ax.set_ylabel("drift")
    ax.set_title(title or f"{len(res)} conserved")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_noise_sweep(levels, drifts, floors, n_found, n_true: int, damped_drifts=None, damped_found=None,
                     max_drift: float = 0.1, noise_factor: float = 2.0, title: str = ""):
    """Drift of the best candidates against the measurement-noise level, with the decision.

    ``levels``: noise levels (fraction of each variable's spread; 0 is drawn at the
    left edge); ``drifts``/``floors``: (n_levels, k) drift and noise floor of the k
    best candidates; ``n_found``: quantities found per level; ``n_true``: how many
    exist; ``damped_*``: the same for a damped control (its best candidate).
    Returns the figure (two panels: drifts, and what was found).
    """
    import matplotlib.pyplot as plt

    levels = np.asarray(levels, float)
    drifts, floors = np.atleast_2d(drifts), np.atleast_2d(floors)
    positive = levels[levels > 0]
    x = np.where(levels > 0, levels, positive.min() / 10 if positive.size else 1e-6)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    noisy = drifts[levels > 0]
    bottom = max(np.nanmin(noisy[noisy > 0]) / 30, 1e-12) if np.any(noisy > 0) else 1e-12
    for j in range(drifts.shape[1]):
        label = f"candidate {j + 1}" + (" (a true invariant)" if j < n_true else " (not conserved)")
        line, = ax.loglog(x, np.clip(drifts[:, j], bottom, None), "o-", label=label)
        ax.loglog(x, np.clip(noise_factor * floors[:, j], bottom, None), ":", color=line.get_color(), lw=1)
    if np.any(levels == 0):
        ax.annotate("no noise:\ndrift ≤ this", (x[levels == 0][0], bottom), textcoords="offset points",
                    xytext=(4, 6), fontsize=7)
    if damped_drifts is not None:
        ax.loglog(x, damped_drifts, "s--", color="k", label="damped control, best candidate")
    ax.axhline(max_drift, color="tab:red", ls="--", lw=1, label="max_drift")
    ax.set_xlabel("measurement noise / spread of each variable (left edge: none)")
    ax.set_ylabel("drift")
    ax.set_title(title or "drift rises with the noise (dotted: noise_factor x noise floor)")
    ax.legend(fontsize=7)
    ax2.semilogx(x, n_found, "o-", label="found")
    if damped_found is not None:
        ax2.semilogx(x, damped_found, "s--", color="k", label="found in the damped control")
    ax2.axhline(n_true, color="tab:green", ls=":", label="true number")
    ax2.set_ylim(-0.3, max(n_true, int(np.max(n_found))) + 0.5)
    ax2.set_xlabel("measurement noise / spread")
    ax2.set_ylabel("conserved quantities found")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig
