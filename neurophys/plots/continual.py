"""Figures for continual learning (lesson 04) and the Dissipative Learning Machine (lesson 05)."""
from __future__ import annotations

import numpy


def _plt():
    import matplotlib.pyplot as plt
    return plt


def accuracy_matrices(Rs: dict, title: str = ""):
    """One heat map of R[i, j] (row: after training task i; column: tested on task j) per method."""
    plt = _plt()
    n = len(Rs)
    fig, axes = plt.subplots(1, n, figsize=(3.1 * n, 3.3), squeeze=False)
    for k, (ax, (name, R)) in enumerate(zip(axes[0], Rs.items())):
        R = numpy.asarray(R)
        im = ax.imshow(R, vmin=0, vmax=1, cmap="viridis")
        ax.set_title(f"{name}\nA = {R[-1].mean():.3f}", fontsize=9)
        ax.set_xlabel("tested on task j")
        if k == 0:
            ax.set_ylabel("after training task i")
        ax.set_xticks(range(R.shape[1]))
        ax.set_yticks(range(R.shape[0]))
        ax.tick_params(labelsize=6)
        if R.shape[0] <= 4:
            for i in range(R.shape[0]):
                for j in range(R.shape[1]):
                    ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="accuracy")
    if title:
        fig.suptitle(title)
    return fig


def method_bars(table: dict, reference: dict | None = None, ylabel: str = "average accuracy, 10 tasks"):
    """Bars of mean ± std per method; ``table[name] = (mean, std)``; optional published references."""
    plt = _plt()
    names = list(table)
    means = [table[n][0] for n in names]
    stds = [table[n][1] for n in names]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3.2))
    ax.bar(names, means, yerr=stds, capsize=4, color="tab:blue", alpha=0.8, label="measured (mean ± std)")
    if reference:
        for k, v in reference.items():
            if k in names:
                x = names.index(k)
                ax.plot([x - 0.4, x + 0.4], [v, v], "r--", lw=1.5)
        ax.plot([], [], "r--", label="published (different settings)")
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def paired_forgetting(dlm, std, single=None):
    """Per-seed forgetting of the DLM against the standard net (paired: same seed, same data)."""
    plt = _plt()
    dlm, std = numpy.asarray(dlm), numpy.asarray(std)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    ax = axes[0]
    for a, b in zip(std, dlm):
        ax.plot([0, 1], [a, b], "-", color="gray", alpha=0.5)
    ax.plot(numpy.zeros_like(std), std, "o", color="tab:orange", label="standard")
    ax.plot(numpy.ones_like(dlm), dlm, "o", color="tab:green", label="DLM")
    if single is not None:
        ax.plot([0, 1], single[::-1], "k*", ms=14, label="the original's single run")
    ax.set_xticks([0, 1], ["standard", "DLM"])
    ax.set_ylabel("forgetting of task 1")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.hist(std - dlm, bins=12, color="tab:purple", alpha=0.8)
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("standard − DLM forgetting (per seed)")
    ax.set_ylabel("seeds")
    fig.tight_layout()
    return fig


def spectra(curves: dict, band=None):
    """Log-log Welch spectra; ``curves[name] = (f, P, slope)``; the fit band shaded."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, (f, P, slope) in curves.items():
        m = f > 0
        ax.loglog(f[m], P[m], label=f"{name}: slope {slope:.2f}")
    if band is not None:
        ax.axvspan(band[0], band[1], color="gray", alpha=0.15, label="fit band")
    ax.set_xlabel("frequency (cycles per step)")
    ax.set_ylabel("power spectral density")
    ax.legend(fontsize=8)
    return fig


def thermodynamics(history: dict):
    """The DLM's recorded thermodynamic state per step (energy, dissipation, entropy production, current)."""
    plt = _plt()
    keys = ["energy", "dissipation", "entropy_production", "information_current"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, k in zip(axes, keys):
        ax.plot(history[k], lw=0.8)
        ax.set_title(k.replace("_", " "), fontsize=9)
        ax.set_xlabel("step")
    fig.tight_layout()
    return fig
