"""Lesson 08 — Surprise-gated learning: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 08 --path solutions``.
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
    # hint: mask = surprise > threshold; lr_scale = boost * mask.sum() / len(surprise)
    if threshold is None:
        mask = np.ones(np.shape(surprise), dtype=bool)
    else:
        mask = np.asarray(surprise) > threshold
    return mask, float(boost) * int(mask.sum()) / mask.size


def energy_jump(s_free, s_nudged, target, W, b, beta):
    """The other surprise signal (document 004): the energy jump of the nudge, per example,

        [F(s^β) − E(s⁰)] / β,     F = E + β C,   C(s) = ½ ‖s_L − t‖²
        E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l (s_l W_l) · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l

    s_free, s_nudged: lists [s_0, ..., s_L] of (N, n_l) arrays; target t: (N, n_L);
    W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},); beta > 0. Return an (N,) array.
    """
    # hint: write E(s) once as a small inner function, then (E(s_nudged) + beta*C(s_nudged) - E(s_free)) / beta
    def E(s):
        total = 0.0
        for l in range(1, len(s)):
            total = total + 0.5 * (s[l] * s[l]).sum(axis=1) - s[l] @ b[l - 1]
        for l in range(len(s) - 1):
            total = total - ((s[l] @ W[l]) * s[l + 1]).sum(axis=1)
        return total

    d = s_nudged[-1] - target
    F = E(s_nudged) + beta * 0.5 * (d * d).sum(axis=1)
    return (F - E(s_free)) / beta
