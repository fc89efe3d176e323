"""Lesson 07 — Dreaming: reference solutions (for teachers, not shipped to students).

The energy with a free input (ρ(s) = s inside the box [0, 1]):

    F(s) = ½ Σ_{l≥0} ‖s_l‖² − Σ_l (s_l W_l) · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

Check with ``python -m neurophys check 07 --path solutions``.
"""
import numpy as np


def dream(W, b, y, n_steps=300, eps=0.5):
    """Dream: clamp the output to y, free the input, relax every free layer in the box [0, 1]:

        ∂F/∂s_l = s_l − (s_{l−1} W_{l−1} + b_{l−1} + s_{l+1} W_lᵀ)   (terms that exist for l)
        s_l ← clip(s_l − ε ∂F/∂s_l, 0, 1)        for l = 0 .. L−1 (the input has no bias)

    W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},); y: the clamped output rows (N, n_L).
    Start every free layer at 0, run n_steps steps (all free layers at once, or odd then even).
    Return the list of states [s_0 (the dream), s_1, ..., s_L (= y, unchanged)].
    """
    # hint: the input layer's drive is s_1 @ W[0].T (no bias); the output layer never moves
    L = len(W)
    N = y.shape[0]
    s = [np.zeros((N, W[0].shape[0]))] + [np.zeros((N, W[l].shape[0])) for l in range(1, L)] + [y]
    for _ in range(n_steps):
        new = list(s)
        for l in range(L):
            drive = s[l + 1] @ W[l].T
            if l > 0:
                drive = drive + s[l - 1] @ W[l - 1] + b[l - 1]
            new[l] = np.clip(s[l] - eps * (s[l] - drive), 0.0, 1.0)
        s = new
    return s


def generative_update(s_free, s_nudged, beta):
    """EqProp in the generative direction: the label is clamped, the INPUT is free and is nudged
    towards an image. The rule is the same local one, but now no layer is the same in both phases:

        ∂L/∂W_l ≈ −[ s^β_lᵀ s^β_{l+1} − s⁰_lᵀ s⁰_{l+1} ] / (β N)
        ∂L/∂b_l ≈ −Σ_n [ s^β_{l+1} − s⁰_{l+1} ] / (β N)

    s_free, s_nudged: lists [s_0, ..., s_L] of (N, n_l) arrays (s_0 the free input in BOTH);
    beta: the nudging strength. Return {"W0": ..., "b0": ..., ...}.
    """
    # hint: do not reuse the free input for the nudged phase: s_nudged[0] moved too
    n = s_free[0].shape[0]
    grads = {}
    for l in range(len(s_free) - 1):
        dW = s_nudged[l].T @ s_nudged[l + 1] - s_free[l].T @ s_free[l + 1]
        grads[f"W{l}"] = -dW / (beta * n)
        grads[f"b{l}"] = -(s_nudged[l + 1] - s_free[l + 1]).sum(axis=0) / (beta * n)
    return grads
