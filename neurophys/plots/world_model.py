"""Figures for the world-model lesson: prediction error, returns, imagined futures, an episode."""
from __future__ import annotations

import numpy

from ..learning.active_inference import running_mean


def plot_prediction_errors(errors: dict, window: int = 100, title: str = "", ax=None):
    """Prequential squared error per step (running mean over ``window`` steps), log scale, one line per model."""
    import matplotlib.pyplot as plt
    fig, ax = (plt.subplots(figsize=(6.4, 3.8)) if ax is None else (ax.figure, ax))
    for name, err in errors.items():
        ax.plot(numpy.arange(1, len(err) + 1), running_mean(err, window), label=name, lw=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("environment step (one online update each)")
    ax.set_ylabel(f"squared error of s' (mean of last {window})")
    ax.set_title(title or "next-state prediction, test-then-train")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_returns(returns: dict, max_return: float | None = None, title: str = "", ax=None):
    """Each policy's evaluation returns as dots, with the mean as a bar."""
    import matplotlib.pyplot as plt
    fig, ax = (plt.subplots(figsize=(6.4, 3.8)) if ax is None else (ax.figure, ax))
    rng = numpy.random.default_rng(0)
    for i, (name, r) in enumerate(returns.items()):
        r = numpy.asarray(r, dtype=float)
        ax.bar(i, r.mean(), color=f"C{i}", alpha=0.35, width=0.6)
        ax.plot(i + 0.15 * rng.uniform(-1, 1, len(r)), r, "o", color=f"C{i}", ms=3)
    if max_return is not None:
        ax.axhline(max_return, color="k", ls="--", lw=0.8)
    ax.set_xticks(range(len(returns)))
    ax.set_xticklabels(list(returns), rotation=15)
    ax.set_ylabel("episode return")
    ax.set_title(title or "evaluation returns")
    return fig


def plot_imagination(states, energies, dt: float, component: int, label: str, n_best: int = 5, ax=None):
    """The imagined futures of one planning step: every candidate's ``component`` against time.

    states: (N, H, d) imagined states; energies: (N,) their free energies F. The
    lowest-F futures are drawn bold; colour runs from low F (dark) to high F (light).
    """
    import matplotlib.pyplot as plt
    fig, ax = (plt.subplots(figsize=(6.4, 3.8)) if ax is None else (ax.figure, ax))
    states, energies = numpy.asarray(states), numpy.asarray(energies)
    order = numpy.argsort(energies)
    t = dt * numpy.arange(1, states.shape[1] + 1)
    ranks = numpy.empty(len(order))
    ranks[order] = numpy.linspace(0, 1, len(order))
    cmap = plt.get_cmap("viridis")
    for i in order[::-1]:
        ax.plot(t, states[i, :, component], color=cmap(ranks[i]), lw=0.8, alpha=0.7)
    for i in order[:n_best]:
        ax.plot(t, states[i, :, component], color="C3", lw=2)
    ax.set_xlabel("imagined time ahead (s)")
    ax.set_ylabel(label)
    ax.set_title(f"{len(order)} imagined futures (red: the {n_best} lowest energies)")
    ax.grid(alpha=0.3)
    return fig


def plot_episode(states, dt: float, labels, title: str = ""):
    """An episode's observation components against time, one panel each."""
    import matplotlib.pyplot as plt
    states = numpy.asarray(states)
    d = states.shape[1]
    fig, axes = plt.subplots(d, 1, figsize=(6.4, 1.5 * d + 0.6), sharex=True)
    t = dt * numpy.arange(len(states))
    for k, ax in enumerate(numpy.atleast_1d(axes)):
        ax.plot(t, states[:, k], lw=1)
        ax.set_ylabel(labels[k])
        ax.grid(alpha=0.3)
    numpy.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.suptitle(title)
    return fig
