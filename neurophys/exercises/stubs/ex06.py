"""Lesson 06 — Equilibrium Propagation on MNIST: exercises.

Both exercises use the energy on the states themselves (ρ(s) = s, what the hard sigmoid is
inside its box [0, 1]):

    E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l s_l W_l · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

Fill in each function, then check your work with ``python -m neurophys check 06``.
"""
import numpy as np


def eqprop_update(s_free, s_nudged, beta):
    """The Equilibrium-Propagation estimate of ∂L/∂θ from two equilibria (Scellier & Bengio 2017):

        ∂L/∂W_l ≈ −[ s^β_lᵀ s^β_{l+1} − s⁰_lᵀ s⁰_{l+1} ] / (β N)
        ∂L/∂b_l ≈ −Σ_n [ s^β_{l+1} − s⁰_{l+1} ] / (β N)

    (∂E/∂W_l = −s_lᵀ s_{l+1}: each weight needs only the two neurons it connects, at two
    equilibria.) s_free = [s⁰_0, ..., s⁰_L], s_nudged = [s^β_0, ..., s^β_L]: lists of
    (N, n_l) arrays, layer 0 the input; beta: the nudging strength (its sign matters).
    Return a dict {"W0": ..., "b0": ..., "W1": ...} of gradients (the update is θ ← θ − η g).
    """
    raise NotImplementedError("hint: loop l over the weight layers; use both phases' states for both ends of every weight")


def hopfield_energy(s, W, b):
    """The energy of a layered network, one value per example:

        E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l (s_l W_l) · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

    s = [s_0 (input), s_1, ..., s_L]: (N, n_l) arrays; W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},),
    the bias of layer l+1. The input's own ½‖s_0‖² is NOT included (it is clamped).
    Return E of shape (N,).
    """
    raise NotImplementedError('hint: sum over layers; (s[l] @ W[l] * s[l+1]).sum(axis=1) is the coupling of layers l and l+1')
