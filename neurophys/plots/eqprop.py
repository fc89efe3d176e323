"""Figures for Equilibrium Propagation: relaxation energy, learning curves, digit grids."""
from __future__ import annotations

import numpy

from .. import backend as B


def _plt():
    import matplotlib.pyplot as plt  # lazy: importing neurophys.plots.eqprop stays cheap
    return plt


def plot_relaxation(energy, cost, n_free: int, beta: float, title="Energy of one example during relaxation"):
    """Left: E (free phase) then F = E + βC (nudged phase) per step; right: the cost C = ½‖y − t‖².

    ``energy`` and ``cost`` hold one value per step, step 0 first; the first ``n_free``
    steps after step 0 are the free phase, the rest the nudged phase.
    """
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = numpy.arange(len(energy))
    for ax, values, name in ((a1, energy, "energy"), (a2, cost, "cost C = ½‖y − t‖²")):
        ax.plot(steps[:n_free + 1], values[:n_free + 1], "o-", ms=3, label="free phase (β = 0)")
        ax.plot(steps[n_free:], values[n_free:], "s-", ms=3, color="C3", label=f"nudged phase (β = {beta})")
        ax.axvline(n_free, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("relaxation step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    a1.set_title("E(s) free, then F = E + βC")
    a2.set_title("the nudge pulls the output towards the label")
    a1.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_learning_curves(history: dict, title="Learning curves"):
    """history: {'epoch': [...], 'train_accuracy': [...], 'test_accuracy': [...], 'cost': [...]}."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    ep = history["epoch"]
    for key, style in (("train_accuracy", "o-"), ("test_accuracy", "s-")):
        if key in history:
            a1.plot(ep, 100 * numpy.asarray(history[key]), style, label=key.replace("_", " "))
    a1.set_xlabel("epoch")
    a1.set_ylabel("accuracy (%)")
    a1.legend()
    a1.grid(alpha=0.3)
    if "cost" in history:
        a2.semilogy(ep, history["cost"], "o-", color="C2")
        a2.set_ylabel("mean cost C at the free equilibrium")
        a2.set_xlabel("epoch")
        a2.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_digit_grid(images, labels=None, ncols: int = 10, title=None, predicted=None, shape=(28, 28)):
    """Images (n, 784) as a grid; ``labels`` above each, ``predicted`` (another classifier's) in colour."""
    plt = _plt()
    images = numpy.asarray(B.to_host(images))
    n = len(images)
    nrows = int(numpy.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.25 * nrows + (0.4 if title else 0)))
    axes = numpy.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
        if labels is not None:
            text = f"{int(labels[i])}"
            colour = "black"
            if predicted is not None:
                text += f"→{int(predicted[i])}"
                colour = "green" if int(predicted[i]) == int(labels[i]) else "red"
            ax.set_title(text, fontsize=8, color=colour)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bars(values: dict, ylabel: str, title: str = "", fmt: str = "{:.3f}"):
    """A labelled bar chart of a few measured numbers."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(values), 3.4))
    names = list(values)
    heights = [float(values[k]) for k in names]
    bars = ax.bar(names, heights, color=[f"C{i}" for i in range(len(names))])
    for bar, h in zip(bars, heights):
        ax.text(bar.get_x() + bar.get_width() / 2, h, fmt.format(h), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig
