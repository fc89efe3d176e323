"""Conserved quantities from raw (possibly noisy) trajectories, with no energy labels.

Question: which functions of the state, Q(s) = Σ_j c_j θ_j(s) built from a
library of candidate terms θ_j, stay constant along every trajectory but take
different values on different trajectories?

Evaluate the library on every sample: trajectory i gives a matrix Θ_i
(samples × terms) with mean row θ̄_i. Two covariances of the terms:

    W = Σ_i (Θ_i − θ̄_i)ᵀ(Θ_i − θ̄_i) / Σ_i (T_i − 1)    how terms wander *along* trajectories
    B = cov_i(θ̄_i)                                       how they differ *between* trajectories

For Q = Σ c_j θ_j the ratio  drift(c) = √(cᵀWc / cᵀBc)  is the RMS wander of Q
along a trajectory in units of its spread between trajectories. The
candidates are the generalised eigenvectors of  B c = μ W c  (Fisher's linear
discriminant with trajectories as classes): drift = 1/√μ, smallest first. A
function that takes the same value on every trajectory has cᵀBc ≈ 0 and an
undefined drift; it is never picked. Values, not time derivatives, are used,
so measurement noise is not amplified by differencing.

**The noise floor.** With measurement noise, even a true invariant wanders:
along a trajectory it is a constant plus noise. Each term's noise is estimated
from the residuals of a Savitzky–Golay fit along every trajectory
(``scipy.signal.savgol_filter``, a local cubic; the residual of white noise
of variance σ² has variance σ²(1 − h₀), h₀ the filter's central weight), which
gives a noise covariance N of the terms and, for each candidate, the drift
that noise alone would cause:  floor(c) = √(cᵀNc / cᵀBc).  A candidate counts
as conserved when

    drift ≤ max_drift   and   (drift ≤ noise_factor · floor   or   drift ≤ tolerance)

- the second condition: it wanders no more than the noise explains (relative
  to the data's own noise, so the rule does not change with the noise level);
- ``tolerance``: for noise-free data, where the floor is rounding error;
- ``max_drift``: a quantity whose wander along a trajectory is a large part
  of its spread between trajectories distinguishes nothing, even if the noise
  could explain it (at very high noise everything is "consistent with noise").

Each candidate is reported with its drift, its floor, the gap to the next
candidate (ratio of drifts) and a confidence: the fraction of bootstrap
resamples of the trajectories in which the same decision is reached. The
conserved subspace is then rotated to a sparse, readable basis (reduced row
echelon form) and each member re-fitted on its own terms.

The smoothing assumes roughly uniform sampling and a state that moves smoothly
over ``window`` samples; trajectories may have different lengths. The floor is
right for noise that is independent from sample to sample. Noise correlated
over several samples (a filtered sensor) looks smooth to the fit, so the floor
comes out too low and true invariants are rejected as "more than the noise
explains" (drift/floor well above 1 in ``report()``): raise ``noise_factor``
or thin the samples. Sampling too coarse for the fit raises the floors of
non-conserved directions instead; ``max_drift`` keeps those out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import validate
from .expr import Node
from .library import check_library, check_names, library_matrix, linear_combination, stlsq
from .search import r2_score
from .data import MIN_SAMPLES


@dataclass
class ConservedQuantity:
    expr: Node                 # Σ c_j θ_j with the pivot coefficient 1
    coefficients: np.ndarray   # c_j on the raw library terms
    drift: float               # RMS wander along a trajectory / spread between trajectories
    noise_floor: float = 0.0   # the drift measurement noise alone would cause
    confidence: float = 1.0    # fraction of bootstrap resamples that also find this many quantities

    def __str__(self):
        return (f"{self.expr}   (drift {self.drift:.2e}, noise floor {self.noise_floor:.2e}, "
                f"confidence {self.confidence:.2f})")


@dataclass
class ConservedResult:
    quantities: list
    drifts: np.ndarray          # drift of every candidate direction, ascending (inf: no spread)
    terms: list
    names: list
    threshold: float            # the absolute tolerance used (kept under its old name)
    notes: list = field(default_factory=list)
    floors: np.ndarray = None   # noise floor of every candidate
    conserved: np.ndarray = None  # decision per candidate (bool)
    confidence: np.ndarray = None  # per candidate: fraction of resamples agreeing with the decision
    gaps: np.ndarray = None     # drift of the next candidate / this one's
    settings: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.quantities)

    @property
    def ratios(self) -> np.ndarray:
        """drift / noise floor per candidate (≈ 1 for a quantity that only noise moves)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.drifts / self.floors

    def report(self) -> str:
        """What was found, and for every candidate its drift, floor, gap, confidence and verdict."""
        lines = list(self.notes)
        lines.append(f"{'#':>3s} {'drift':>9s} {'floor':>9s} {'drift/floor':>11s} {'gap':>8s} "
                     f"{'conf.':>6s}  verdict")
        for j in range(len(self.drifts)):
            d, f, g = self.drifts[j], self.floors[j], self.gaps[j]
            ratio = d / f if f > 0 else np.inf
            verdict = "conserved" if self.conserved[j] else "rejected"
            lines.append(f"{j + 1:3d} {d:9.2e} {f:9.2e} {ratio:11.3g} {g:8.3g} {self.confidence[j]:6.2f}  {verdict}")
        return "\n".join(lines)

    def values(self, states) -> np.ndarray:
        """Each found quantity evaluated on states (..., d): shape (..., k)."""
        states = np.asarray(states, float)
        flat = states.reshape(-1, states.shape[-1])
        Theta = library_matrix(self.terms, flat, self.names)
        C = np.stack([q.coefficients for q in self.quantities], axis=1) if self.quantities else \
            np.zeros((len(self.terms), 0))
        return (Theta @ C).reshape(states.shape[:-1] + (C.shape[1],))

    def explain(self, states, target) -> tuple:
        """How well the found quantities (and a constant) account for ``target``.

        ``target`` is any function of the state evaluated on ``states`` (e.g. the
        true energy, used only to *check* the discovery). Returns ``(law, r2)``:
        the sparse combination  Σ a_i Q_i  as a tree over the library terms
        (without the constant offset) and the R² of  target ≈ Σ a_i Q_i + b.
        """
        if not self.quantities:
            return None, 0.0
        Q = self.values(states).reshape(-1, len(self.quantities))
        y = np.asarray(target, float).ravel()
        A = np.concatenate([Q, np.ones((Q.shape[0], 1))], axis=1)
        a = stlsq(A, y, threshold=1e-3)
        r2 = r2_score(y, A @ a)
        c = sum(a[i] * q.coefficients for i, q in enumerate(self.quantities))
        big = np.abs(c).max()
        c = np.where(np.abs(c) > 1e-6 * big, c, 0.0)
        return linear_combination(self.terms, c), r2


# --------------------------------------------------------------------------- input
def check_trajectories(trajectories, t, names, min_samples: int = 3) -> tuple:
    """Validate trajectories and their times; return (list of (T_i, d) arrays, list of times, names).

    Either an array (n_trajectories, n_steps, n_state) with times (n_steps,) or
    (n_trajectories, n_steps), or lists of (T_i, n_state) arrays and (T_i,)
    times (trajectories of different lengths).
    """
    names = check_names(names)
    if isinstance(trajectories, np.ndarray) or (not isinstance(trajectories, (list, tuple))):
        S = np.asarray(trajectories, dtype=float)
        if S.ndim != 3:
            raise ValueError(f"trajectories must have shape (n_trajectories, n_steps, n_state), got {S.shape}; "
                             "for trajectories of different lengths pass lists of (T_i, n_state) arrays")
        states = list(S)
        t = np.asarray(t, dtype=float)
        if t.ndim == 1:
            times = [t] * len(states)
        elif t.ndim == 2 and t.shape[0] == len(states):
            times = list(t)
        else:
            raise ValueError(f"t must have shape ({S.shape[1]},) or ({S.shape[0]}, {S.shape[1]}), got {t.shape}")
    else:
        states = [np.asarray(s, dtype=float) for s in trajectories]
        if isinstance(t, (list, tuple)):
            times = [np.asarray(ti, dtype=float) for ti in t]
        else:
            times = [np.asarray(t, dtype=float)] * len(states)
        if len(times) != len(states):
            raise ValueError(f"{len(states)} trajectories but {len(times)} time arrays; give one per trajectory")
    if len(states) < 2:
        raise ValueError("need at least 2 trajectories: a conserved quantity must differ between them")
    for i, (s, ti) in enumerate(zip(states, times)):
        if s.ndim != 2 or s.shape[1] != len(names):
            raise ValueError(f"trajectory {i} has shape {s.shape} but {len(names)} state variables were named "
                             f"({names}); pass one name per state variable")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"trajectory {i} contains NaN or inf; drop or repair those samples first")
        if s.shape[0] < min_samples:
            raise ValueError(f"trajectory {i} has {s.shape[0]} samples; need at least {min_samples} per trajectory "
                             "(the noise estimate fits a smooth curve over a window of samples)")
        if ti.shape != (s.shape[0],):
            raise ValueError(f"trajectory {i}: times have shape {ti.shape}, expected ({s.shape[0]},)")
        if not np.all(np.diff(ti) > 0):
            k = int(np.flatnonzero(np.diff(ti) <= 0)[0])
            raise ValueError(f"trajectory {i}: times must be increasing (t[{k + 1}] = {ti[k + 1]} after "
                             f"t[{k}] = {ti[k]}); sort the samples by time and drop duplicates")
    return states, times, names


# --------------------------------------------------------------------------- statistics
def _trajectory_stats(Thetas, window, polyorder):
    """Per trajectory: mean row, within scatter, its dof, noise scatter (savgol residuals), their count."""
    from scipy.signal import savgol_coeffs, savgol_filter

    h0 = savgol_coeffs(window, polyorder)[window // 2]
    half = window // 2
    means, within, dof, noise, n_noise = [], [], [], [], []
    for Th in Thetas:
        mu = Th.mean(axis=0)
        D = Th - mu
        means.append(mu)
        within.append(D.T @ D)
        dof.append(Th.shape[0] - 1)
        R = (Th - savgol_filter(Th, window, polyorder, axis=0, mode="interp"))[half:Th.shape[0] - half]
        noise.append(R.T @ R / (1.0 - h0))
        n_noise.append(R.shape[0])
    return np.array(means), np.array(within), np.array(dof, float), np.array(noise), np.array(n_noise, float)


def _pooled(stats, w):
    """B, W, N from per-trajectory statistics with trajectory weights w (bootstrap counts)."""
    means, within, dof, noise, n_noise = stats
    ws = w.sum()
    mbar = (w[:, None] * means).sum(axis=0) / ws
    D = means - mbar
    B = (w[:, None] * D).T @ D / max(ws - 1.0, 1.0)
    W = np.tensordot(w, within, axes=1) / max(np.dot(w, dof), 1.0)
    N = np.tensordot(w, noise, axes=1) / max(np.dot(w, n_noise), 1.0)
    return B, W, N


def _candidates(B, W, N):
    """Generalised eigenvectors of B c = μ W c, sorted by drift; their drifts and noise floors."""
    from scipy.linalg import eigh

    m = B.shape[0]
    eps = 1e-13 * max(np.trace(W), 1e-300) / m
    _, V = eigh(B, W + eps * np.eye(m))
    V = V / np.linalg.norm(V, axis=0)
    between = np.einsum("ij,ik,kj->j", V, B, V)
    along = np.clip(np.einsum("ij,ik,kj->j", V, W, V), 0, None)
    noise = np.clip(np.einsum("ij,ik,kj->j", V, N, V), 0, None)
    spread = between > 1e-10 * max(np.linalg.eigvalsh(B).max(), 1e-300)
    drifts = np.full(m, np.inf)
    floors = np.full(m, np.inf)
    drifts[spread] = np.sqrt(along[spread] / between[spread])
    floors[spread] = np.sqrt(noise[spread] / between[spread])
    order = np.argsort(drifts, kind="stable")
    return drifts[order], floors[order], V[:, order]


def _decide(drifts, floors, tolerance, noise_factor, max_drift):
    finite = np.isfinite(drifts)
    quiet = (drifts <= noise_factor * floors) | (drifts <= tolerance)
    return finite & (drifts <= max_drift) & quiet


# --------------------------------------------------------------------------- the finder
def find_conserved(trajectories, t, names, terms, tolerance: float = 1e-3, noise_factor: float = 2.0,
                   max_drift: float = 0.1, max_quantities: int | None = None, sparsify_tol: float = 1e-2,
                   window: int | None = None, polyorder: int = 3, n_bootstrap: int = 100, seed: int = 0,
                   threshold: float | None = None) -> ConservedResult:
    """Find the conserved quantities spanned by ``terms`` (see the module docstring).

    trajectories: (n_trajectories, n_steps, n_state) with t (n_steps,), or lists of
    (T_i, n_state) arrays and (T_i,) times; names: the state variables' names;
    terms: the candidate library (expression trees). ``tolerance``,
    ``noise_factor`` and ``max_drift`` set the rule (module docstring);
    ``window``/``polyorder`` the Savitzky–Golay fit of the noise estimate
    (default window: 11 samples, or the longest odd window the shortest
    trajectory allows); ``n_bootstrap`` resamples give the confidence
    (0 skips it). ``threshold`` is the old name of ``tolerance``.

    >>> from neurophys import symbolic as S
    >>> from neurophys.physics import mechanics as M
    >>> t, states = M.simulate("spring", 8, n_steps=200, seed=0)         # k = 5, m = 1
    >>> res = S.find_conserved(states, t, ["x", "v"], S.polynomial_terms(["x", "v"], 2))
    >>> len(res)                                    # one invariant: the energy ½v² + ½kx², up to scale
    1
    >>> print(res.quantities[0].expr)
    x^2 + 0.2*v^2
    """
    if threshold is not None:
        tolerance = threshold
    if not (tolerance >= 0 and noise_factor > 0 and max_drift > 0):
        raise ValueError(f"tolerance >= 0, noise_factor > 0 and max_drift > 0 are needed, got {tolerance}, "
                         f"{noise_factor}, {max_drift}")
    if polyorder < 1:
        raise ValueError(f"polyorder must be >= 1, got {polyorder}")
    n_bootstrap = validate.positive_int("n_bootstrap (resamples for the confidence; 0 skips them)", n_bootstrap,
                                        minimum=0)
    validate.seed("seed", seed)

    min_samples = max(MIN_SAMPLES, polyorder + 4) if window is None else int(window) + 2
    states, times, names = check_trajectories(trajectories, t, names, min_samples=min_samples)
    terms = check_library(terms)
    shortest = min(s.shape[0] for s in states)
    if window is None:
        window = min(11, shortest - 2 if shortest % 2 == 1 else shortest - 3)
        window = max(window, polyorder + 2 if polyorder % 2 == 1 else polyorder + 1)
    window = int(window)
    if window % 2 == 0 or window <= polyorder:
        raise ValueError(f"window must be odd and larger than polyorder={polyorder}, got {window}")
    m = len(terms)
    sizes = [s.shape[0] for s in states]
    Theta = library_matrix(terms, np.concatenate(states, axis=0), names)
    scale = Theta.std(axis=0)
    scale[scale == 0] = 1.0
    Theta = Theta / scale                                    # unit-spread terms (conditioning only)
    Thetas = np.split(Theta, np.cumsum(sizes)[:-1], axis=0)
    stats = _trajectory_stats(Thetas, window, polyorder)
    n = len(states)
    B, W, N = _pooled(stats, np.ones(n))
    drifts, floors, V = _candidates(B, W, N)
    passed = _decide(drifts, floors, tolerance, noise_factor, max_drift)
    idx = np.flatnonzero(passed)
    if max_quantities is not None:
        idx = idx[: int(max_quantities)]
        passed[:] = False
        passed[idx] = True
    k = len(idx)

    # confidence: how often resampled trajectories (with replacement) reach the same decision
    confidence = np.ones(m)
    if n_bootstrap and n >= 3:
        gen = np.random.default_rng(seed)
        counts = np.zeros(n_bootstrap, int)
        for b in range(n_bootstrap):
            w = np.bincount(gen.integers(n, size=n), minlength=n).astype(float)
            dr, fl, _ = _candidates(*_pooled(stats, w))
            counts[b] = int(_decide(dr, fl, tolerance, noise_factor, max_drift).sum())
        rank = np.arange(1, m + 1)
        found_at_least = (counts[None, :] >= rank[:, None]).mean(axis=1)
        confidence = np.where(rank <= k, found_at_least, 1.0 - found_at_least)
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.append(drifts[1:] / drifts[:-1], np.inf)
    gaps = np.where(np.isfinite(drifts), gaps, np.nan)

    quantities = []
    if k:
        C = _rref(V[:, idx].T)                                  # k x m, scaled-term coordinates
        for j, row in enumerate(C):
            if not np.any(row):
                continue
            support = np.abs(row) > sparsify_tol * np.abs(row).max()
            c = np.zeros(m)
            c[support] = _refit(B[np.ix_(support, support)], W[np.ix_(support, support)], row[support])
            raw = c / scale
            raw = raw / raw[np.flatnonzero(support)[0]]           # first term's coefficient = 1
            c = raw * scale
            between = c @ B @ c
            drift = float(np.sqrt(max(c @ W @ c, 0) / between)) if between > 0 else np.inf
            floor = float(np.sqrt(max(c @ N @ c, 0) / between)) if between > 0 else np.inf
            quantities.append(ConservedQuantity(linear_combination(terms, raw), raw, drift, floor,
                                                float(confidence[idx[min(j, k - 1)]])))
    settings = {"tolerance": tolerance, "noise_factor": noise_factor, "max_drift": max_drift, "window": window,
                "polyorder": polyorder, "n_bootstrap": n_bootstrap, "n_trajectories": n,
                "samples": (min(sizes), max(sizes))}
    notes = _messages(drifts, floors, passed, confidence, gaps, quantities, settings)
    return ConservedResult(quantities, drifts, terms, names, tolerance, notes, floors, passed, confidence, gaps,
                           settings)


def _messages(drifts, floors, passed, confidence, gaps, quantities, s) -> list:
    """Plain sentences: what was found, and why each group of the other candidates was rejected."""
    m = len(drifts)
    lo, hi = s["samples"]
    lengths = f"{lo} samples each" if lo == hi else f"{lo} to {hi} samples (each used at its own length)"
    notes = [f"{m} candidate directions from {m} terms on {s['n_trajectories']} trajectories of {lengths}. "
             f"Noise floor: residuals of a Savitzky-Golay fit (window {s['window']}, order {s['polyorder']}) "
             f"along each trajectory. Rule: drift <= {s['noise_factor']:g} x noise floor (or <= "
             f"{s['tolerance']:g}), and drift <= {s['max_drift']:g}."]
    if quantities:
        notes.append(f"found {len(quantities)} conserved quantit{'y' if len(quantities) == 1 else 'ies'}:")
        for i, q in enumerate(quantities):
            if q.drift <= s["tolerance"] and q.noise_floor < s["tolerance"]:
                why = (f"below the tolerance {s['tolerance']:g} (noise floor {q.noise_floor:.1e}: "
                       "the data look noise-free)")
            else:
                why = f"{q.drift / q.noise_floor:.2f} x its noise floor {q.noise_floor:.2e}"
            notes.append(f"  Q{i + 1} = {q.expr}: drift {q.drift:.2e}, {why}; confidence {q.confidence:.2f}")
    else:
        notes.append("found no conserved quantity.")
    finite = np.isfinite(drifts)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = drifts / floors
    small = finite & ~passed & (drifts <= s["max_drift"])
    large = finite & ~passed & (drifts > s["max_drift"])
    if small.any():
        j = int(np.flatnonzero(small)[0])
        notes.append(f"rejected {int(small.sum())} candidate(s) with a small drift that is still more than the "
                     f"noise explains: the closest, #{j + 1}, drifts {drifts[j]:.2e} = {ratio[j]:.3g} x its noise "
                     f"floor {floors[j]:.2e} (limit {s['noise_factor']:g} x); confidence {confidence[j]:.2f}")
    if large.any():
        j = int(np.flatnonzero(large)[0])
        notes.append(f"rejected {int(large.sum())} candidate(s) that wander along a trajectory by more than "
                     f"{s['max_drift']:g} of their spread between trajectories: the closest, #{j + 1}, has drift "
                     f"{drifts[j]:.2e} ({ratio[j]:.3g} x its noise floor {floors[j]:.2e}); confidence "
                     f"{confidence[j]:.2f}")
    last = np.flatnonzero(passed)
    if len(last) and last[-1] + 1 < m and np.isfinite(drifts[last[-1] + 1]):
        i = int(last[-1])
        notes.append(f"gap: the first rejected candidate drifts {drifts[i + 1]:.2e}, "
                     f"{'infinitely' if drifts[i] == 0 else f'{gaps[i]:.3g} times'} more than the last conserved "
                     f"one ({drifts[i]:.2e})")
    if (~finite).any():
        notes.append(f"{int((~finite).sum())} direction(s) take the same value on every trajectory (no spread "
                     "between trajectories, e.g. a constant or an identity among the terms): drift undefined, "
                     "not counted")
    return notes


def _rref(C, tol: float = 1e-9):
    """Reduced row echelon form with the largest available pivot in each row (a sparse basis)."""
    C = np.array(C, float)
    rows, cols = C.shape
    used = []
    for r in range(rows):
        sub = np.abs(C[r:, :])
        sub[:, used] = 0
        i, j = np.unravel_index(np.argmax(sub), sub.shape)
        if sub[i, j] < tol:
            break
        i += r
        C[[r, i]] = C[[i, r]]
        C[r] /= C[r, j]
        for q in range(rows):
            if q != r:
                C[q] -= C[q, j] * C[r]
        used.append(j)
    return C


def _refit(B, W, start):
    """On a fixed support: the direction with the smallest drift (largest μ in B c = μ W c)."""
    from scipy.linalg import eigh

    if B.shape[0] == 1:
        return start
    eps = 1e-13 * max(np.trace(W), 1e-300) / W.shape[0]
    _, V = eigh(B, W + eps * np.eye(W.shape[0]))
    v = V[:, -1]
    return v * np.sign(v @ start) * np.linalg.norm(start) / np.linalg.norm(v)
