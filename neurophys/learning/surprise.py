"""Surprise-gated ("dopamine") learning for Equilibrium Propagation.

A global scalar per example decides whether the network learns from it:

    surprise = C(s⁰) = ½‖y⁰ − t‖²          (the cost at the free equilibrium), or
    surprise = [F(s^β) − E(s⁰)] / β         (the energy jump of the nudge, document 004's idea).

The two agree as β → 0: F(s^β) = E(s^β) + βC(s^β), and since s⁰ minimises E,
d/dβ F(s^β)|₀ = ∂F/∂β = C(s⁰), so the jump / β → C(s⁰). The cost needs only the
free phase, so gating on it can skip the nudged phases *and* the weight update.

The modulator: no update below ``threshold``; above it, the learning rate is
multiplied by ``boost``.

**What the gate saves, counted.** Compute is counted in relaxation steps, which is
deterministic (wall time is not, on a shared machine): ``example_steps`` = Σ over
relaxation calls of (examples relaxed × steps), proportional to the arithmetic, and
``batch_steps`` = Σ of steps per call, proportional to the fixed cost per NumPy call
that dominates small batches on a CPU. Plain EqProp spends, per batch of n,
n·(n_free + phases·n_nudged) example-steps and n_free + phases·n_nudged batch-steps
(phases = 2 for symmetric nudging). :func:`ungated_steps` gives that reference.

Two ways to skip the nudged phase:

- :func:`gated_train_step` (per batch): only the surprising examples of each batch get
  the nudged phases, on a sub-batch. It saves example-steps but hardly any batch-steps:
  a batch of 32 with 5 surprising examples still makes every nudged call.
- :class:`PooledGate` (pooled): surprising examples and their free states wait in a
  pool; when it holds a full batch, that batch gets the nudged phases and one update.
  Batches without enough surprise make no nudged call at all, so both counts fall.
  With ``scale="batch"`` the pooled update has the per-batch gate's size per learned
  example (``lr_scale = boost``: the same sum of example gradients, applied in one
  step instead of spread over several batches); ``scale="seen"`` divides it further by
  the batches it waited for (``boost · pool / seen``), a smaller, more cautious step.
"""
from __future__ import annotations

import time

from .. import backend as B
from ..data import load_mnist, minibatch_indices
from ..models.eqprop import EqPropNet


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


def _phases(net) -> int:
    return 2 if net.nudging == "symmetric" else 1


def ungated_steps(net, n_examples: int, batch_size: int) -> dict:
    """Relaxation steps plain EqProp spends on ``n_examples`` in batches of ``batch_size``."""
    n_batches = -(-int(n_examples) // int(batch_size))
    per_batch = net.n_free + _phases(net) * net.n_nudged
    return {"example_steps": int(n_examples) * per_batch, "batch_steps": n_batches * per_batch}


def _count(counter, n_examples, n_steps):
    if counter is not None:
        counter["example_steps"] = counter.get("example_steps", 0) + int(n_examples) * int(n_steps)
        counter["batch_steps"] = counter.get("batch_steps", 0) + int(n_steps)


def gated_train_step(net, x, target, gate: SurpriseGate, counter: dict | None = None) -> dict:
    """One surprise-gated EqProp step on a batch.

    1. Free phase for every example; surprise = C(s⁰) per example.
    2. Examples with surprise ≤ threshold are skipped: no nudged phase, no update.
    3. The others get the usual EqProp update, scaled by ``boost``; the update is
       normalised by the whole batch size, so boost = 1 with threshold = 0 is plain
       training.
    Returns dict(cost, n_examples, n_learned, surprise (per example), learn_seconds = the
    process CPU time spent on the nudged phases and the update). ``counter`` (a dict) is
    incremented by the relaxation steps run (``example_steps``, ``batch_steps``).
    """
    x = net.as_input(x)
    t = net.as_target(target, x.shape[0])
    s_free = net.free_phase(x)
    surprise = net.cost(s_free[-1], t)
    mask = gate.surprising(surprise)
    n, k = x.shape[0], int(B.to_host(mask.sum()))
    _count(counter, n, net.n_free)
    started = time.process_time()
    if k:
        _count(counter, k, _phases(net) * net.n_nudged)
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



class PooledGate:
    """Surprise gating that skips whole nudged phases: surprising examples are pooled.

    ``step(x, target)`` runs the free phase of a batch (always: it is the prediction),
    keeps the examples with C(s⁰) > threshold together with their free states, and when
    ``batch_size`` of them are waiting, runs the nudged phases on exactly that batch and
    applies one update: ``lr_scale = boost`` with ``scale="batch"`` (the per-batch gate's
    step per learned example), or ``boost · batch_size / seen`` with ``scale="seen"``
    (``seen``: examples whose free phase ran since the last update). The nudged phases start from the stored
    free states, computed with the weights of up to a few batches ago; the symmetric
    estimate relaxes both ±β states with the current weights. Leftover pooled examples at
    the end of training are simply dropped (``flush()`` learns from them instead).
    ``counter`` holds the relaxation steps run (see the module docstring).
    """

    def __init__(self, net, gate: SurpriseGate, batch_size: int = 32, scale: str = "batch"):
        if gate.threshold is None:
            raise ValueError("PooledGate needs a threshold (SurpriseGate(None) learns from every example)")
        if scale not in ("seen", "batch"):
            raise ValueError(f"scale must be 'seen' or 'batch', got {scale!r}")
        self.net, self.gate, self.batch_size, self.scale = net, gate, int(batch_size), scale
        self.counter = {"example_steps": 0, "batch_steps": 0}
        self.n_seen = self.n_learned = self.n_updates = 0
        self._seen_since = 0
        self._pool = []          # (states list, targets) chunks of surprising examples

    def _pooled(self) -> int:
        return sum(int(t.shape[0]) for _, t in self._pool)

    def step(self, x, target) -> dict:
        net = self.net
        x = net.as_input(x)
        t = net.as_target(target, x.shape[0])
        s_free = net.free_phase(x)
        surprise = net.cost(s_free[-1], t)
        mask = self.gate.surprising(surprise)
        n, k = x.shape[0], int(B.to_host(mask.sum()))
        _count(self.counter, n, net.n_free)
        self.n_seen += n
        self._seen_since += n
        if k:
            idx = B.xp().nonzero(mask)[0]
            self._pool.append(([s_l[idx] for s_l in s_free], t[idx]))
        updated = 0
        while self._pooled() >= self.batch_size:
            self._learn(self.batch_size)
            updated += 1
        return {"cost": float(B.to_host(surprise.mean())), "n_examples": n, "n_surprising": k,
                "updates": updated, "surprise": surprise}

    def _learn(self, m: int):
        xp = B.xp()
        states = [xp.concatenate([c[0][l] for c in self._pool]) for l in range(len(self._pool[0][0]))]
        targets = xp.concatenate([c[1] for c in self._pool])
        rest = ([s_l[m:] for s_l in states], targets[m:])
        states, targets = [s_l[:m] for s_l in states], targets[:m]
        self._pool = [rest] if rest[1].shape[0] else []
        grads, _ = self.net.eqprop_gradient(states, targets)
        _count(self.counter, m, _phases(self.net) * self.net.n_nudged)
        share = m / max(self._seen_since, m) if self.scale == "seen" else m / self.batch_size
        self.net.apply_update(grads, lr_scale=self.gate.boost * share)
        self._seen_since = 0
        self.n_learned += m
        self.n_updates += 1

    def flush(self):
        """Learn from the examples still waiting in the pool (if any)."""
        m = self._pooled()
        if m:
            self._learn(m)


def surprise_unit(mode: str, seed: int, *, hidden: int = 256, n_train=None, n_test=None, epochs: int = 3,
                  batch_size: int = 32, eps: float = 1.0, n_free: int = 10, n_nudged: int = 4, beta: float = 0.5,
                  lr=(0.2, 0.1), threshold: float = 0.02, boost: float = 1.5) -> dict:
    """One training run of lesson 08 (a sweep unit): an EqProp net 784-hidden-10 on MNIST.

    mode: "ungated" (plain EqProp), "gated" (:func:`gated_train_step`, per batch) or "pooled"
    (:class:`PooledGate`, batch scaling). Seed s draws the initial weights (``B.rng(s)``) and
    the example order (``host_rng(s + 1)``, the same for every mode). Returns the test accuracy
    after each epoch, the fraction of examples not learned from, the relaxation steps run
    (``example_steps``, ``batch_steps``) and those plain EqProp would run, the fraction of
    skipped examples whose cost was exactly zero, and the CPU seconds of the training loop.
    """
    if mode not in ("ungated", "gated", "pooled"):
        raise ValueError(f"mode must be 'ungated', 'gated' or 'pooled', got {mode!r}")
    x, y, xt, yt = load_mnist(n_train=n_train, n_test=n_test)
    net = EqPropNet([784, int(hidden), 10], eps=eps, n_free=n_free, n_nudged=n_nudged, beta=beta, lr=list(lr),
                    rng=B.rng(seed))
    shuffle = B.host_rng(int(seed) + 1)
    gate = SurpriseGate(None) if mode == "ungated" else SurpriseGate(threshold, boost)
    pooled = PooledGate(net, gate, batch_size, scale="batch") if mode == "pooled" else None
    counter = pooled.counter if pooled else {"example_steps": 0, "batch_steps": 0}
    curve, skipped_curve = [], []
    learned = seen = zero_cost = 0
    cpu = 0.0
    for _ in range(int(epochs)):
        ep_learned = ep_seen = 0
        c0 = time.process_time()
        for idx in minibatch_indices(len(x), int(batch_size), shuffle):
            if pooled is not None:
                info = pooled.step(x[idx], y[idx])
                k = info["n_surprising"]
            else:
                info = gated_train_step(net, x[idx], y[idx], gate, counter)
                k = info["n_learned"]
            ep_learned += k
            ep_seen += info["n_examples"]
            zero_cost += int(B.to_host((info["surprise"] == 0).sum()))
        B.synchronize()
        cpu += time.process_time() - c0
        learned, seen = learned + ep_learned, seen + ep_seen
        curve.append(net.accuracy(xt, yt))
        skipped_curve.append(1 - ep_learned / ep_seen)
    reference = ungated_steps(net, len(x), batch_size)
    reference = {k: v * int(epochs) for k, v in reference.items()}
    return {"test_accuracy": curve[-1], "curve": curve, "skipped": 1 - learned / seen,
            "skipped_curve": skipped_curve, "zero_cost_fraction": zero_cost / seen,
            "example_steps": counter["example_steps"], "batch_steps": counter["batch_steps"],
            "ungated_example_steps": reference["example_steps"], "ungated_batch_steps": reference["batch_steps"],
            "updates": pooled.n_updates if pooled is not None else None, "cpu_seconds": round(cpu, 2)}
