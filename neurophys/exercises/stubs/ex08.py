"""Lesson 08 — Surprise-gated learning: exercises.

Fill in each function, then check your work with ``python -m neurophys check 08``.
"""
import numpy as np


def surprise_gate(surprise, threshold, boost):
    """The dopamine gate: learn only from surprising examples, and learn harder from them.

        learn_n   = surprise_n > threshold          (all examples when threshold is None)
        lr_scale  = boost · k / N                   (k examples learned, out of N)

    surprise: (N,) array; threshold: a number ≥ 0 or None; boost > 0.
    Return (mask, lr_scale): a boolean (N,) array and a Python float. The update of the k
    learned examples, averaged over them, is scaled by lr_scale so that threshold 0,
    boost 1 is plain training averaged over the whole batch.
    """
    raise NotImplementedError('hint: mask = surprise > threshold; lr_scale = boost * mask.sum() / len(surprise)')


def energy_jump(s_free, s_nudged, target, W, b, beta):
    """The other surprise signal (document 004): the energy jump of the nudge, per example,

        [F(s^β) − E(s⁰)] / β,     F = E + β C,   C(s) = ½ ‖s_L − t‖²
        E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l (s_l W_l) · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

    s_free, s_nudged: lists [s_0, ..., s_L] of (N, n_l) arrays; target t: (N, n_L);
    W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},); beta > 0. Return an (N,) array.
    """
    raise NotImplementedError('hint: write E(s) once as a small inner function, then (E(s_nudged) + beta*C(s_nudged) - E(s_free)) / beta')
