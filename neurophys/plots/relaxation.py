"""Figures of lesson 01: energy relaxation curves and decision-boundary phase diagrams."""
from __future__ import annotations

import numpy

from .animation import figure_to_image


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def energy_decay_figure(curves: dict, title: str = "Energy relaxation", saddle: float | None = None):
    """One panel: for each label, the median energy over seeds and its 10–90 % band (log scale).

    ``curves`` maps a label to an array of shape (n_seeds, n_epochs + 1).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, E in curves.items():
        E = numpy.asarray(E)
        epochs = numpy.arange(E.shape[1])
        line, = ax.plot(epochs, numpy.median(E, axis=0), label=label)
        ax.fill_between(epochs, numpy.percentile(E, 10, axis=0), numpy.percentile(E, 90, axis=0),
                        color=line.get_color(), alpha=0.15)
    if saddle is not None:
        ax.axhline(saddle, color="k", ls=":", lw=1, label=f"saddle: all outputs 0.5 (E = {saddle:g})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("energy E = (1/N) Σ ½‖y − t‖²")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def energy_decay_frames(curves: dict, n_frames: int = 40, title: str = "Energy relaxation"):
    """Frames of an animation that draws the median energy curves epoch by epoch."""
    plt = _plt()
    n_epochs = max(numpy.asarray(E).shape[1] for E in curves.values())
    stops = numpy.unique(numpy.linspace(2, n_epochs, n_frames).astype(int))
    lo = min(float(numpy.median(numpy.asarray(E), axis=0).min()) for E in curves.values())
    hi = max(float(numpy.median(numpy.asarray(E), axis=0).max()) for E in curves.values())
    frames = []
    for stop in stops:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for label, E in curves.items():
            med = numpy.median(numpy.asarray(E), axis=0)
            ax.plot(numpy.arange(stop), med[:stop], label=label)
        ax.set_xlim(0, n_epochs)
        ax.set_ylim(max(lo * 0.5, 1e-8), hi * 2)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("energy E")
        ax.set_title(f"{title} — epoch {stop - 1}")
        ax.legend(fontsize=8, loc="upper right")
        frames.append(figure_to_image(fig))
    return frames


def decision_grid(lo: float = -0.5, hi: float = 1.5, n: int = 100):
    """The n×n grid of input points over [lo, hi]² (returns X, Y and the (n², 2) inputs)."""
    g = numpy.linspace(lo, hi, n)
    X, Y = numpy.meshgrid(g, g)
    return X, Y, numpy.column_stack([X.ravel(), Y.ravel()])


def phase_diagram_frame(X, Y, Z, points, targets, epoch: int, energy: float):
    """One phase diagram: the network output over the plane, the 0.5 contour, the XOR points."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    cs = ax.contourf(X, Y, Z, levels=numpy.linspace(-0.2, 1.2, 15), cmap="coolwarm", extend="both")
    ax.contour(X, Y, Z, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(points[:, 0], points[:, 1], c=targets.ravel(), cmap="coolwarm", edgecolors="k", s=90,
               vmin=0, vmax=1)
    fig.colorbar(cs, ax=ax, label="output y")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(f"epoch {epoch}: E = {energy:.2e}")
    return fig
