"""Pictures of complex fields: density |ψ|² and phase arg ψ, drifts over time, per-class field maps."""
from __future__ import annotations

import numpy

from .. import backend as B


def _host(psi):
    return numpy.asarray(B.to_host(psi))


def show_field(psi, ax_density, ax_phase, title: str = "", extent=None, floor: float = 1e-4):
    """|ψ|² (viridis) on one axis and the phase arg ψ ∈ (−π, π] (a cyclic colour map) on the other.

    The phase is left blank where |ψ|² < floor · max|ψ|² (there it is round-off, not physics).
    """
    psi = _host(psi)
    n = numpy.abs(psi) ** 2
    phase = numpy.where(n >= floor * n.max(), numpy.angle(psi), numpy.nan)
    im_d = ax_density.imshow(n, cmap="viridis", origin="lower", extent=extent)
    im_p = ax_phase.imshow(phase, cmap="twilight", vmin=-numpy.pi, vmax=numpy.pi, origin="lower", extent=extent)
    ax_density.set_title(f"{title} |ψ|²".strip(), fontsize=9)
    ax_phase.set_title(f"{title} arg ψ".strip(), fontsize=9)
    for ax in (ax_density, ax_phase):
        ax.set_xticks([])
        ax.set_yticks([])
    return im_d, im_p


def field_snapshots(fields, titles, extent=None, suptitle: str = ""):
    """A 2-row figure: densities on top, phases below, one column per field."""
    import matplotlib.pyplot as plt
    n = len(fields)
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n, 5.0), squeeze=False)
    for k, (psi, title) in enumerate(zip(fields, titles)):
        show_field(psi, axes[0, k], axes[1, k], title, extent)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def drift_figure(t, curves: dict, ylabel: str, title: str = ""):
    """|relative drift| against time on a log axis, one line per named curve."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in curves.items():
        ax.semilogy(t, numpy.abs(numpy.asarray(values)) + 1e-18, label=label)
    ax.set_xlabel("time t")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def convergence_figure(dts, curves: dict, title: str = ""):
    """Drift against dt on log-log axes, with the slopes of straight-line fits in the legend."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    dts = numpy.asarray(dts, dtype=float)
    for label, values in curves.items():
        values = numpy.abs(numpy.asarray(values, dtype=float)) + 1e-18
        slope = numpy.polyfit(numpy.log(dts), numpy.log(values), 1)[0]
        ax.loglog(dts, values, "o-", label=f"{label} (slope {slope:.2f})")
    ax.set_xlabel("dt")
    ax.set_ylabel("|relative drift| at the same final time")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def class_fields_figure(densities, phases, row_titles, col_titles=None, suptitle: str = ""):
    """Per-class mean fields: for each condition two rows (mean |ψ|², phase of the mean ψ), one column
    per class. ``densities`` / ``phases``: lists (one per condition) of arrays (n_classes, Ny, Nx)."""
    import matplotlib.pyplot as plt
    n_cond = len(densities)
    n_cls = densities[0].shape[0]
    fig, axes = plt.subplots(2 * n_cond, n_cls, figsize=(1.3 * n_cls, 2.7 * n_cond), squeeze=False)
    for c in range(n_cond):
        d, p = _host(densities[c]), _host(phases[c])
        vmax = float(d.max())
        for k in range(n_cls):
            axes[2 * c, k].imshow(d[k], cmap="viridis", vmin=0, vmax=vmax, origin="lower")
            axes[2 * c + 1, k].imshow(p[k], cmap="twilight", vmin=-numpy.pi, vmax=numpy.pi, origin="lower")
            if c == 0:
                axes[0, k].set_title(col_titles[k] if col_titles else str(k), fontsize=9)
        axes[2 * c, 0].set_ylabel(f"{row_titles[c]}\n⟨|ψ|²⟩", fontsize=8)
        axes[2 * c + 1, 0].set_ylabel(f"{row_titles[c]}\narg⟨ψ⟩", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def per_class_fields(psi, labels, n_classes: int = 10):
    """(mean |ψ|², arg of the mean ψ) per class: arrays (n_classes, Ny, Nx) on the host."""
    psi, labels = _host(psi), _host(labels).astype(int)
    dens = numpy.stack([numpy.mean(numpy.abs(psi[labels == k]) ** 2, axis=0) for k in range(n_classes)])
    phase = numpy.stack([numpy.angle(numpy.mean(psi[labels == k], axis=0)) for k in range(n_classes)])
    return dens, phase
