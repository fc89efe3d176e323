"""Surprise-gated ("dopamine") learning for Equilibrium Propagation.

A global scalar per example decides whether the network learns from it:

    surprise = C(s⁰) = ½‖y⁰ − t‖²          (the cost at the free equilibrium), or
    surprise = [F(s^β) − E(s⁰)] / β         (the energy jump of the nudge, document 004's idea).

The two agree as β → 0: F(s^β) = E(s^β) + βC(s^β), and since s⁰ minimises E,
d/dβ F(s^β)|₀ = ∂F/∂β = C(s⁰), so the jump / β → C(s⁰). The cost needs only the
free phase, so gating on it can skip the nudged phases *and* the weight update.

The modulator: no update below ``threshold``; above it, the learning rate is
multiplied by ``boost``.
"""
from __future__ import annotations

import time

from .. import backend as B


class SurpriseGate:
    """lr_scale(surprise) = 0 if surprise ≤ threshold else boost (per example).

    threshold=None opens the gate for every example (plain, ungated EqProp).
    """

    def __init__(self, threshold, boost: float = 1.0):
        boost = float(boost)
        if threshold is not None:
            threshold = float(threshold)
            if not threshold >= 0.0:
                raise ValueError(f"threshold must be >= 0 (or None for no gating), got {threshold}")
        if not boost > 0.0:
            raise ValueError(f"boost must be > 0, got {boost}")
        self.threshold, self.boost = threshold, boost

    def surprising(self, surprise):
        """Boolean mask of the examples that will be learned from."""
        if self.threshold is None:
            return B.xp().ones(surprise.shape, dtype=bool)
        return surprise > self.threshold


def energy_jump(net, s_free, target, beta=None, n_steps=None):
    """Per-example [F(s^β) − E(s⁰)] / β after a nudged phase from the free state s⁰."""
    beta = net.beta if beta is None else float(beta)
    s_beta = net.relax(s_free, beta, target, n_steps=n_steps)
    F = net.energy(s_beta) + beta * net.cost(s_beta[-1], target)
    return (F - net.energy(s_free)) / beta


def gated_train_step(net, x, target, gate: SurpriseGate) -> dict:
    """One surprise-gated EqProp step on a batch.

    1. Free phase for every example; surprise = C(s⁰) per example.
    2. Examples with surprise ≤ threshold are skipped: no nudged phase, no update.
    3. The others get the usual EqProp update, scaled by ``boost``; the update is
       normalised by the whole batch size, so boost = 1 with threshold = 0 is plain
       training.
    Returns dict(cost, n_examples, n_learned, surprise (per example), learn_seconds = the
    process CPU time spent on the nudged phases and the update).
    """
    x = net.as_input(x)
    t = net.as_target(target, x.shape[0])
    s_free = net.free_phase(x)
    surprise = net.cost(s_free[-1], t)
    mask = gate.surprising(surprise)
    n, k = x.shape[0], int(B.to_host(mask.sum()))
    started = time.process_time()
    if k:
        if k < n:
            idx = B.xp().nonzero(mask)[0]
            s_sub, t_sub = [s_l[idx] for s_l in s_free], t[idx]
        else:
            s_sub, t_sub = s_free, t
        grads, _ = net.eqprop_gradient(s_sub, t_sub)
        net.apply_update(grads, lr_scale=gate.boost * k / n)
        B.synchronize()
    return {"cost": float(B.to_host(surprise.mean())), "n_examples": n, "n_learned": k, "surprise": surprise,
            "learn_seconds": time.process_time() - started}

