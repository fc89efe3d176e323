"""Conserved quantities from raw trajectories, with no energy labels.

Question: which functions of the state, Q(s) = Σ_j c_j θ_j(s) built from a
library of candidate terms θ_j, stay constant along every trajectory but take
different values on different trajectories?

Along a trajectory, dQ/dt = Σ_j c_j dθ_j/dt. Stack the time derivatives of the
library terms over all trajectories and times into a matrix Θ̇ (samples ×
terms); a conserved quantity is a vector c in its null space, Θ̇ c ≈ 0. The
constant function is trivially "conserved", and so is anything that happens to
take the same value on every trajectory, so we measure c in units of how much
Q differs *between* trajectories: with S_b the covariance of the per-trajectory
means of θ, we solve

    minimise |Θ̇ c|²   subject to   cᵀ S_b c = 1

as the generalised eigenproblem S_b c = μ (Θ̇ᵀΘ̇/N) c. Each eigenvector is a
candidate Q; 1/√μ is the RMS rate at which Q changes along a trajectory per
unit of its spread between trajectories (a Q that is the same on every
trajectory has μ ≈ 0 and is never picked). The dimensionless drift

    drift = (t_end − t_start) / √μ

says how far Q wanders over the record compared with how much it differs from
one trajectory to the next; Q counts as conserved when drift < ``threshold``.
The conserved subspace is then rotated to a sparse, readable basis (reduced
row echelon form) and each member re-fitted on its own terms.

The time derivatives are central finite differences of θ(s(t)) (np.gradient,
second order), so the states must be sampled finely enough for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .expr import Node
from .library import check_library, library_matrix, linear_combination, stlsq
from .search import r2_score


@dataclass
class ConservedQuantity:
    expr: Node                 # Σ c_j θ_j with the pivot coefficient 1
    coefficients: np.ndarray   # c_j on the raw library terms
    drift: float               # σ·duration: change along a trajectory / spread between trajectories

    def __str__(self):
        return f"{self.expr}   (drift {self.drift:.2e})"


@dataclass
class ConservedResult:
    quantities: list
    drifts: np.ndarray          # drift of every whitened direction, ascending
    terms: list
    names: list
    threshold: float
    notes: list = field(default_factory=list)

    def __len__(self):
        return len(self.quantities)

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


def check_trajectories(trajectories, t, names) -> tuple:
    """Validate (n_traj, n_steps, d) trajectories and their times; return float64 copies."""
    S = np.asarray(trajectories, dtype=float)
    names = list(names)
    if S.ndim != 3:
        raise ValueError(f"trajectories must have shape (n_trajectories, n_steps, n_state), got {S.shape}")
    if S.shape[2] != len(names):
        raise ValueError(f"trajectories have {S.shape[2]} state variables but {len(names)} names were given "
                         f"({names}); pass one name per state variable")
    if not np.all(np.isfinite(S)):
        raise ValueError("trajectories contain NaN or inf; drop those trajectories first")
    if S.shape[0] < 2:
        raise ValueError("need at least 2 trajectories: a conserved quantity must differ between them")
    if S.shape[1] < 3:
        raise ValueError("need at least 3 time steps per trajectory for time derivatives")
    t = np.asarray(t, dtype=float)
    if t.shape != (S.shape[1],) or not np.all(np.diff(t) > 0):
        raise ValueError(f"t must be increasing with shape ({S.shape[1]},), got shape {t.shape}")
    return S, t, names


def find_conserved(trajectories, t, names, terms, threshold: float = 1e-2, max_quantities: int | None = None,
                   sparsify_tol: float = 1e-2) -> ConservedResult:
    """Find the conserved quantities spanned by ``terms`` (see the module docstring).

    trajectories: (n_trajectories, n_steps, n_state); t: (n_steps,); names: the
    state variables' names; terms: the candidate library (expression trees).
    """
    S, t, names = check_trajectories(trajectories, t, names)
    terms = check_library(terms)
    n, T, d = S.shape
    m = len(terms)
    Theta = library_matrix(terms, S.reshape(-1, d), names).reshape(n, T, m)
    scale = Theta.reshape(-1, m).std(axis=0)
    scale[scale == 0] = 1.0
    Theta = Theta / scale                                    # unit-spread terms (conditioning only)
    dTheta = np.gradient(Theta, t, axis=1, edge_order=2).reshape(-1, m)

    # the rule "Q differs between trajectories": B is the covariance of per-trajectory means
    means = Theta.mean(axis=1)
    Bm = np.cov(means, rowvar=False).reshape(m, m)
    Am = dTheta.T @ dTheta / dTheta.shape[0]
    # generalised eigenproblem  B c = mu (A + eps) c : large mu = slow along, spread across
    from scipy.linalg import eigh
    eps = 1e-13 * np.trace(Am) / m
    mu, V = eigh(Bm, Am + eps * np.eye(m))
    order = np.argsort(mu)[::-1]
    mu, V = mu[order], V[:, order]
    # drift = duration * sqrt(rate² / spread²) per direction; a direction with (almost) no spread
    # between trajectories has no meaningful drift: inf
    Vn = V / np.linalg.norm(V, axis=0)
    between = np.einsum("ij,ik,kj->j", Vn, Bm, Vn)
    along = np.einsum("ij,ik,kj->j", Vn, Am, Vn)
    drifts = np.full(m, np.inf)
    spread = between > 1e-12 * max(np.linalg.eigvalsh(Bm).max(), 1e-300)
    drifts[spread] = (t[-1] - t[0]) * np.sqrt(np.clip(along[spread], 0, None) / between[spread])
    order = np.argsort(drifts, kind="stable")
    drifts, V = drifts[order], V[:, order]
    notes = []
    n_flat = int(np.sum(mu <= 1e-10 * mu.max()))
    if n_flat:
        notes.append(f"{n_flat} combination(s) of terms barely differ between trajectories and do not count")
    k = int(np.sum(drifts < threshold))
    if max_quantities is not None:
        k = min(k, int(max_quantities))
    if k == 0:
        return ConservedResult([], drifts, terms, names, threshold, notes)
    C = V[:, :k].T                                            # k x m, scaled-term coordinates
    C = _rref(C)
    quantities = []
    for row in C:
        support = np.abs(row) > sparsify_tol * np.abs(row).max()
        c = np.zeros(m)
        c[support] = _refit_null(dTheta[:, support], row[support])
        raw = c / scale
        raw = raw / raw[np.flatnonzero(support)[0]]           # first term's coefficient = 1
        c = raw * scale
        rate = np.sqrt(np.mean((dTheta @ c) ** 2))
        spread = np.std(means @ c)
        drift = float(rate * (t[-1] - t[0]) / spread) if spread > 0 else np.inf
        quantities.append(ConservedQuantity(linear_combination(terms, raw), raw, drift))
    return ConservedResult(quantities, drifts, terms, names, threshold, notes)


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


def _refit_null(D, start):
    """The direction in the span of D's columns that changes least (smallest singular vector)."""
    if D.shape[1] == 1:
        return start
    _, _, Vt = np.linalg.svd(D, full_matrices=False)
    v = Vt[-1]
    return v * np.sign(v @ start) * np.linalg.norm(start)
