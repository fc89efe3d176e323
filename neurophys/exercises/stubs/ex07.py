"""Lesson 07 — Dreaming: exercises.

The energy with a free input (ρ(s) = s inside the box [0, 1]):

    F(s) = ½ Σ_{l≥0} ‖s_l‖² − Σ_l (s_l W_l) · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

Fill in each function, then check your work with ``python -m neurophys check 07``.
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
    raise NotImplementedError("hint: the input layer's drive is s_1 @ W[0].T (no bias); the output layer never moves")


def generative_update(s_free, s_nudged, beta):
    """EqProp in the generative direction: the label is clamped, the INPUT is free and is nudged
    towards an image. The rule is the same local one, but now no layer is the same in both phases:

        ∂L/∂W_l ≈ −[ s^β_lᵀ s^β_{l+1} − s⁰_lᵀ s⁰_{l+1} ] / (β N)
        ∂L/∂b_l ≈ −Σ_n [ s^β_{l+1} − s⁰_{l+1} ] / (β N)

    s_free, s_nudged: lists [s_0, ..., s_L] of (N, n_l) arrays (s_0 the free input in BOTH);
    beta: the nudging strength. Return {"W0": ..., "b0": ..., ...}.
    """
    raise NotImplementedError('hint: do not reuse the free input for the nudged phase: s_nudged[0] moved too')
