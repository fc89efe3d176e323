"""Lesson 12 — Discovering conservation laws: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 12 --path solutions``.
"""
import numpy as np
import scipy.linalg
import scipy.signal


def along_and_between(Theta, t):
    """The two quadratic forms of the conserved-quantity search, for library terms θ_j(s(t)):

        Θ̇  = dΘ/dt along each trajectory (central differences: numpy.gradient(..., t, axis=1,
             edge_order=2)), stacked over trajectories and times into (n·T, m)
        A  = Θ̇ᵀ Θ̇ / (n·T)                         how fast each combination changes ALONG trajectories
        B  = covariance of the per-trajectory means of Θ (numpy.cov, ddof = 1)
                                                   how much it differs BETWEEN trajectories

    Theta: (n_trajectories, T, m) the terms evaluated on the trajectories; t: (T,) times.
    Return (A, B), both (m, m).
    """
    # hint: dTheta = numpy.gradient(Theta, t, axis=1, edge_order=2).reshape(-1, m); means = Theta.mean(axis=1)
    n, T, m = Theta.shape
    dTheta = np.gradient(Theta, t, axis=1, edge_order=2).reshape(-1, m)
    A = dTheta.T @ dTheta / dTheta.shape[0]
    B = np.cov(Theta.mean(axis=1), rowvar=False).reshape(m, m)
    return A, B


def conserved_direction(A, B):
    """The most conserved combination Q = Σ_j c_j θ_j: slow along trajectories, spread between them.

        maximise  μ = cᵀ B c / cᵀ A c     ⇔   the generalised eigenproblem  B c = μ A c

    Take the eigenvector of the LARGEST μ. A, B: symmetric (m, m), A positive definite.
    Return (mu, c) with c scaled to unit length (‖c‖ = 1).
    """
    # hint: scipy.linalg.eigh(B, A) solves B c = μ A c with μ ascending
    mu, V = scipy.linalg.eigh(B, A)
    c = V[:, -1]
    return float(mu[-1]), c / np.linalg.norm(c)


def noise_floor(values, window, polyorder):
    """The noise floor of one quantity measured along a trajectory: the σ of its measurement noise.

    values: (T,) samples of the quantity at uniformly spaced times. Fit the smooth part with a
    Savitzky–Golay filter (scipy.signal.savgol_filter(values, window, polyorder), a local
    polynomial of degree `polyorder` over `window` samples) and keep the residual
    r = values − fit on the INTERIOR samples only (drop window // 2 at each end, where the fit
    is extrapolated). For white noise of variance σ² the residual has variance σ²(1 − h₀), with
    h₀ the filter's central weight (scipy.signal.savgol_coeffs(window, polyorder)[window // 2]),
    so return

        σ̂ = √( mean(r²) / (1 − h₀) )

    find_conserved calls a quantity conserved when its drift (its RMS wander along the
    trajectory) is at most noise_factor · σ̂: it wanders no more than the noise explains.
    """
    # hint: r = values - scipy.signal.savgol_filter(values, window, polyorder), interior samples only; σ̂² = mean(r²) / (1 − h₀)
    values = np.asarray(values, dtype=float)
    half = window // 2
    fit = scipy.signal.savgol_filter(values, window, polyorder)
    r = (values - fit)[half:len(values) - half]
    h0 = scipy.signal.savgol_coeffs(window, polyorder)[half]
    return float(np.sqrt(np.mean(r * r) / (1.0 - h0)))
