"""Lesson 09 — World model and active inference: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 09 --path solutions``.
"""
import numpy as np


def score_sequences(s0, actions, predict, energy, gamma=1.0):
    """Score imagined futures: roll each action sequence through the model and add up the energy,

        s_{t+1} = predict(s_t, a_t)       (all sequences at once, as one batch)
        F = Σ_{t=0..H−1} γ^t E(s_{t+1})

    s0: the current observation (d,); actions: (n_sequences, H, k) action codes;
    predict(S, A) -> next states for a batch S (n, d), A (n, k); energy(S) -> (n,) energies;
    gamma: discount. Return F of shape (n_sequences,) (lower is better).
    """
    # hint: start with S = repeat s0 n_sequences times; for each t: S = predict(S, actions[:, t]); F += gamma**t * energy(S)
    n, H = actions.shape[:2]
    S = np.repeat(np.asarray(s0, dtype=float)[None], n, axis=0)
    F = np.zeros(n)
    for t in range(H):
        S = predict(S, actions[:, t])
        F += gamma ** t * energy(S)
    return F


def rls_update(W, P, phi, delta, lam=1.0):
    """One step of recursive least squares: learn the linear model Δ ≈ φᵀ W from one transition.

        g = P φ / (λ + φᵀ P φ)          (the gain)
        W ← W + g (Δ − φᵀ W)            (correct by the prediction error)
        P ← (P − g φᵀ P) / λ

    W: (m, d) weights; P: (m, m) the inverse (regularised) feature covariance; phi: (m,)
    features; delta: (d,) the observed change; lam: forgetting factor in (0, 1].
    Return the NEW (W, P); leave the inputs unchanged.
    """
    # hint: Pphi = P @ phi; g = Pphi / (lam + phi @ Pphi); use numpy.outer for the rank-one updates
    Pphi = P @ phi
    gain = Pphi / (lam + phi @ Pphi)
    W_new = W + np.outer(gain, delta - phi @ W)
    P_new = (P - np.outer(gain, Pphi)) / lam
    return W_new, P_new
