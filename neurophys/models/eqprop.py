"""Equilibrium Propagation: a layered network that computes by relaxing and learns locally.

Layers s_0 (input), s_1, ..., s_L (output) interact through weights W_l of shape
(n_l, n_{l+1}) and biases b_l of shape (n_{l+1},). The Hopfield-like energy is

    E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l ρ(s_l) W_l ρ(s_{l+1}) − Σ_{l≥1} b_{l−1} ρ(s_l)     (energy="scellier")
    E(s) = ½ Σ_{l≥1} ‖s_l‖² − Σ_l s_l W_l s_{l+1}       − Σ_{l≥1} b_{l−1} s_l        (energy="raw")

("scellier" is Scellier & Bengio 2017 with the hard sigmoid ρ(s) = clip(s, 0, 1);
"raw" is document 004's variant on the states themselves.) The input layer always
enters linearly, ρ(s_0) = s_0, so inputs of any range can be clamped; when the input
is free (dreaming) it gets its own ½‖s_0‖² term. With a target t on the output the
cost is C = ½‖s_L − t‖² and the total energy F = E + βC.

Inference: clamp the input and relax, s ← clip(s − ε ∂F/∂s, lo, hi), to a minimum
of F (the *free phase*, β = 0). Learning (Scellier & Bengio 2017): relax again from
the free state with a small β > 0 (the *nudged phase*); then

    ∂L/∂θ ≈ [∂E/∂θ(s^β) − ∂E/∂θ(s^0)] / β,     L = C(s^0)   (exact as β → 0),

with ∂E/∂W_l = −ρ(s_l)ᵀ ρ(s_{l+1}) and ∂E/∂b_l = −ρ(s_{l+1}): each weight's update
needs only the two neurons it connects, at two equilibria. The symmetric estimate
[∂E/∂θ(s^β) − ∂E/∂θ(s^−β)] / 2β (Laborieux et al. 2021) removes the O(β) bias.

Note: while the states stay inside the box [0, 1], ρ(s) = s, so the two energies
give the same dynamics; they differ when clipping is turned off (``clip=None``) or
with a smooth ρ (``rho='sigmoid'``).

The relaxation's inner loop is :func:`relax_step`, one step on all free layers
(by default odd layers, then even layers, so that F never rises for ε ≤ 1); it is
module-level so that a GPU kernel can replace it.

Dreaming is the same relaxation with the label clamped and the input free
(:meth:`EqPropNet.dream`); :meth:`EqPropNet.train_generative_step` trains that
direction with the same local rule (cost on the input).

Regression works the same way: float targets of any width, ``linear_output=True``
(an output layer without ρ and clipping, so targets need not lie in [0, 1]) and
``train_step(x, target)`` with a batch of one.
"""
from __future__ import annotations

import contextlib
import math

import numpy

from .. import backend as B
from .. import parallel
from .. import validate as V
from ..blocks import SGD, get_activation
from ..blocks.base import Module
from ..blocks.init import init_weights
from ..data import minibatch_indices

try:  # the ufunc numpy.clip calls, without its Python-level argument handling (~5 µs a call)
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # NumPy < 2
    from numpy.core.umath import clip as _clip_ufunc

ENERGIES = ("scellier", "raw")
NUDGINGS = ("symmetric", "one-sided", "random-sign")
SHARD_MIN_ROWS = 256  # the fewest examples per shard worth a thread (EqPropNet.threads): below, the two
                      # threads' handoffs of the interpreter lock (one per NumPy call) outweigh the halved
                      # array work. Free phase, 784-500-10, 30 steps, idle 2-core machine, T=1 vs T=2:
                      # 4.8 vs 7.3 ms at 128 rows, 9.8 vs 10.1 at 256, 17.1 vs 15.0 at 512, 40 vs 26 at 1024


class RelaxationDiverged(V.DivergenceError):
    """A relaxation produced NaN or inf; the message names the setting to change."""


IDENTITY = get_activation("identity")   # ρ of the input layer, of energy='raw' and of a linear output


# ------------------------------------------------------------------ ρ and ρ'
def rho_activation(energy: str, rho: str, clip):
    """The named activation (:mod:`neurophys.blocks.activations`) used as ρ for the hidden layers.

    energy='raw' uses the states themselves (the identity). The hard sigmoid clip(s, 0, 1)
    is the identity while the box ``clip`` keeps the states inside [0, 1] (ρ(s) = s, ρ' = 1
    there, so the cheaper identity is used); unboxed it is ``hard_sigmoid``, whose derivative
    is 1 on the *closed* box [0, 1] (see :func:`neurophys.blocks.activations.hard_sigmoid_prime`).
    """
    if energy == "raw":
        return IDENTITY
    if rho == "hard_sigmoid" and clip is not None and 0.0 <= clip[0] and clip[1] <= 1.0:
        return IDENTITY  # the states never leave [0, 1], where ρ(s) = s, ρ'(s) = 1
    return get_activation(rho)


# ------------------------------------------------------------------ the hot loop
def relax_step(s, W, b, free, rho, drho, eps, beta=0.0, target=None, target_layer=-1,
               const_drive=None, lo=None, hi=None, order="alternating", n_steps: int = 1):
    """One step of the relaxation on every free layer (returns the new list of states);
    ``n_steps`` > 1 runs that many (as :func:`relax_steps`).

        ∂F/∂s_l = s_l − ρ'(s_l) ⊙ (ρ(s_{l−1}) W_{l−1} + b_{l−1} + ρ(s_{l+1}) W_lᵀ) + β (s_l − t)·[l = target]
        s_l ← clip(s_l − ε_l ∂F/∂s_l, lo_l, hi_l),   ε_l = ε / (1 + |β|) on the target layer, else ε

    (the target layer's energy has curvature 1 + β, so ε_l = ε/(1 + |β|) makes ε = 1 the exact
    minimum along that layer, as it is for the others when ρ(s) = s in the box).

    order: 'alternating' updates the odd layers, then the even layers with the new odd
      states (layers couple only to neighbours, so each half-sweep minimises F exactly
      over its layers when ε = 1: F never increases); 'synchronous' (Jacobi) updates all
      layers from the old states (what document 004 does; it can oscillate at ε = 1).
    Arguments (lists indexed by layer 0..L):
      s: the states; W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},) bias of layer l+1 (layer 0 has none).
      free[l]: update layer l? rho[l], drho[l]: ρ and ρ' of layer l.
      const_drive[l]: a precomputed part of layer l's drive (the contribution of clamped
        neighbours and the bias, e.g. x W_0 + b_0), or None to compute it here.
      lo[l], hi[l]: the box of layer l (None: no clipping).
    The arrays in ``s`` are read, never written.

    The work of a step is planned once per call: which matrix products feed each layer,
    with W_lᵀ copied once into a contiguous array on NumPy (a product with a K = 10 inner
    dimension runs ~1.6× faster than through a transposed view, with the same sums), and
    two buffers per free layer that the steps write in turn (the step's drive becomes the
    new state in place: no allocation after the first two steps). The arithmetic, and its
    order, is exactly the formula above, one operation at a time.
    """
    L = len(s) - 1
    xp = B.get_array_module(s[0])
    tl = target_layer % (L + 1)
    if order == "alternating":
        sweeps = [range(1, L + 1, 2), range(0, L + 1, 2)]
    elif order == "synchronous":
        sweeps = [range(L + 1)]
    else:
        raise ValueError(f"unknown relaxation order {order!r}; valid: 'alternating', 'synchronous'")
    n_steps = int(n_steps)
    # W_lᵀ contiguous pays from the second step on (NumPy, a batch of more than one: one row goes through gemv)
    contiguous = xp is numpy and n_steps > 1 and s[0].shape[0] > 1
    transposed = {}

    def W_T(l):
        if l not in transposed:
            transposed[l] = numpy.ascontiguousarray(W[l].T) if contiguous else W[l].T
        return transposed[l]

    plan = []  # per half-sweep: (l, known, first product, other products, ρ' or None, step, nudged, lo, hi, box)
    for sweep in sweeps:
        layers = []
        for l in sweep:
            if not free[l]:
                continue
            # drive_l = ρ(s_{l−1}) W_{l−1} + b_{l−1} + ρ(s_{l+1}) W_lᵀ: the precomputed part (clamped
            # neighbours and bias) plus the free neighbours' matrix products (neighbour, ρ or None, matrix)
            has_const = const_drive is not None and const_drive[l] is not None
            known = const_drive[l] if has_const else (b[l - 1] if l > 0 else None)
            products = []
            if l > 0 and (free[l - 1] or not has_const):
                products.append((l - 1, None if rho[l - 1] is IDENTITY.f else rho[l - 1], W[l - 1]))
            if l < L and (free[l + 1] or not has_const):
                products.append((l + 1, None if rho[l + 1] is IDENTITY.f else rho[l + 1], W_T(l)))
            nudged = bool(beta) and l == tl
            step = eps / (1.0 + abs(beta)) if nudged else eps
            box = lo is not None and lo[l] is not None
            layers.append((l, known, products[0] if products else None, tuple(products[1:]),
                           None if drho[l] is IDENTITY.df else drho[l], step, nudged,
                           lo[l] if box else None, hi[l] if box else None, box))
        plan.append(layers)
    states = list(s)
    spare = [None] * (L + 1)     # the array layer l's next step writes into (None: allocate)
    owned = [False] * (L + 1)    # is states[l] an array of this call (not the caller's)?
    matmul, add, subtract, multiply = xp.matmul, xp.add, xp.subtract, xp.multiply
    clip = _clip_ufunc if xp is numpy else xp.clip
    snapshot = order == "synchronous"   # alternating: a half-sweep's layers never read each other
    # (ufunc outputs are passed by position, and after the first step the scalars are of the states'
    #  dtype, as the operations would convert them anyway: the same numbers, less time per call)
    for it in range(n_steps):
        for layers in plan:
            cur = list(states) if snapshot else states  # the states this half-sweep reads
            for l, known, first, rest, dr, step, nudged, lo_l, hi_l, box in layers:
                sl = cur[l]
                if first is not None:  # the first product writes this step's array; the rest work in place on it
                    j, r, M = first
                    P = cur[j] if r is None else r(cur[j])
                    drive = matmul(P, M) if spare[l] is None else matmul(P, M, out=spare[l])
                    if known is not None:
                        add(drive, known, drive)
                    for j, r, M in rest:
                        add(drive, matmul(cur[j] if r is None else r(cur[j]), M), drive)
                else:
                    drive = xp.zeros_like(sl)
                    if known is not None:
                        add(drive, known, drive)
                # ∂F/∂s_l = s_l − ρ'(s_l) ⊙ drive_l  (+ β (s_l − t) on the target layer); ρ' = 1: no product
                if dr is not None:
                    multiply(drive, dr(sl), drive)
                subtract(sl, drive, drive)
                if nudged:
                    add(drive, beta * (sl - target), drive)
                # s_l ← clip(s_l − ε_l ∂F/∂s_l, lo_l, hi_l), in place on the same array (× 1 is exact: skipped)
                if step != 1.0:
                    multiply(drive, step, drive)
                subtract(sl, drive, drive)
                if box:
                    clip(drive, lo_l, hi_l, drive)
                # the old state is free once this half-sweep is done (it holds no other layer's reads next
                # step): it becomes the buffer of the next step, unless it is the caller's array
                spare[l] = sl if owned[l] else None
                states[l], owned[l] = drive, True
        if it == 0 and n_steps > 1:
            plan = [[e[:5] + (_typed(states[e[0]], e[5]),) + e[6:7] + (_typed(states[e[0]], e[7]),
                                                                       _typed(states[e[0]], e[8]), e[9])
                     for e in layers] for layers in plan]
    return states


def _typed(a, v):
    """The scalar v in a's dtype (None stays None): what an operation with a would make of it."""
    return None if v is None else a.dtype.type(v)


def relax_steps(s, W, b, free, rho, drho, eps, beta=0.0, target=None, target_layer=-1, const_drive=None,
                lo=None, hi=None, order="alternating", n_steps: int = 1):
    """``n_steps`` × :func:`relax_step` (same arguments): the reference of the named operation
    ``eqprop.relax_steps`` (the cupy backend's kernels fuse the steps into one launch)."""
    return relax_step(s, W, b, free, rho, drho, eps, beta, target, target_layer, const_drive, lo, hi, order,
                      n_steps=n_steps)


def weight_grads(net, s_a, s_b, denominator: float = 1.0):
    """[∂E/∂θ(s_a) − ∂E/∂θ(s_b)] / denominator of ``net`` (:meth:`EqPropNet.dE_dtheta_difference`):
    the reference of the named operation ``eqprop.weight_grads``."""
    return net.dE_dtheta_difference(s_a, s_b, denominator)


B.register_op("eqprop.relax_steps", "numpy", relax_steps)
B.register_op("eqprop.weight_grads", "numpy", weight_grads)


# ------------------------------------------------------------------ the network
class EqPropNet(Module):
    """A layered energy-based network trained by Equilibrium Propagation.

    sizes: [n_in, n_hidden..., n_out] (any number of hidden layers).
    energy: 'scellier' (ρ = ``rho``, default the hard sigmoid) or 'raw' (document 004).
    clip: the box (lo, hi) the hidden states (and the output, unless ``linear_output``)
        are kept in; None for no clipping.
    linear_output: output units with ρ = identity and no clipping (regression targets
        of any range).
    eps, n_free, n_nudged: step size and step counts of the free and nudged phases.
    order: 'alternating' (odd layers, then even layers: F never rises at ε ≤ 1) or
        'synchronous' (all layers at once, as document 004).
    beta: nudging strength β (> 0); nudging: 'symmetric' (±β), 'one-sided' (+β), or
        'random-sign' (β with a random sign each step, Scellier & Bengio 2017).
    lr: learning rate, one number or one per layer of weights (layer-wise rates);
        momentum: SGD momentum. Updates are averaged over the batch.
    persistent: keep each training example's free state between epochs and start the
        next free phase from it (needs ``index=`` in :meth:`train_step`).
    threads: T > 1 (NumPy) computes on T threads of the net's own, with BLAS held to one
        thread: a batch of at least ``SHARD_MIN_ROWS`` = 256 examples per thread relaxes as T
        shards of rows side by side (the element-wise work runs on T cores, not only the
        matrix products), and the large products (x W_0, the input layer's weight gradient)
        and the weight update are split by rows. The numbers are those of ``threads=1`` with
        one BLAS thread, and no BLAS thread pool is left spin-waiting after a call. Settable
        later (``net.threads = 2``); default 1 (BLAS then threads as it is configured).

    >>> import numpy
    >>> from neurophys import backend as B
    >>> from neurophys.models.eqprop import EqPropNet
    >>> net = EqPropNet([4, 8, 3], rng=B.rng(0))
    >>> x = B.rng(1).random((5, 4), dtype=numpy.float32)
    >>> s, E = net.relax(net.init_states(x), record_energy=True)   # the free phase, input clamped
    >>> [a.shape for a in s]
    [(5, 4), (5, 8), (5, 3)]
    >>> bool(E[-1] < E[0])                                         # relaxing descends the energy
    True
    >>> info = net.learn(x, numpy.array([0, 1, 2, 0, 1]), batch_size=5)   # one EqProp epoch
    >>> sorted(info), net.predict(x).shape
    (['cost', 'loss'], (5, 3))
    """

    threads = 1
    _drives = None   # within a training step: {key: (clamped arrays, drives)} shared by its relaxations

    def __init__(self, sizes, energy: str = "scellier", rho: str = "hard_sigmoid", clip=(0.0, 1.0),
                 linear_output: bool = False, eps: float = 0.5, n_free: int = 20, n_nudged: int = 4,
                 beta: float = 0.5, nudging: str = "symmetric", lr=0.05, momentum: float = 0.0,
                 init: str = "xavier", init_scale: float | None = None, persistent: bool = False,
                 order: str = "alternating", threads: int = 1, rng=None):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"EqPropNet needs sizes [n_in, (hidden...,) n_out] of positive ints, got {sizes}")
        if energy not in ENERGIES:
            raise ValueError(f"unknown energy {energy!r}; valid names are: {', '.join(ENERGIES)}")
        if nudging not in NUDGINGS:
            raise ValueError(f"unknown nudging {nudging!r}; valid names are: {', '.join(NUDGINGS)}")
        if clip is not None:
            clip = (float(clip[0]), float(clip[1]))
            if not clip[0] < clip[1]:
                raise ValueError(f"clip must be (lo, hi) with lo < hi, got {clip}")
        self.sizes, self.energy_name, self.clip = sizes, energy, clip
        self.linear_output = bool(linear_output)
        self.L = len(sizes) - 1
        self.eps = _check_eps(eps)
        self.n_free, self.n_nudged = _check_steps("n_free", n_free), _check_steps("n_nudged", n_nudged)
        self.beta = _check_beta(beta)
        self.nudging = nudging
        if order not in ("alternating", "synchronous"):
            raise ValueError(f"unknown relaxation order {order!r}; valid: 'alternating', 'synchronous'")
        self.order = order
        self.threads = V.positive_int("threads", threads)
        lrs = list(lr) if isinstance(lr, (list, tuple)) else [lr] * self.L
        if len(lrs) != self.L:
            raise ValueError(f"lr needs one rate per weight layer ({self.L}), got {len(lrs)}")
        self.lrs = [float(v) for v in lrs]
        self.momentum = float(momentum)
        self.optimizers = [SGD(lr=v, momentum=self.momentum) for v in self.lrs]
        rng = B.rng(0) if rng is None else rng
        self.rng = rng
        self.params = {}
        for l in range(self.L):
            self.params[f"W{l}"] = init_weights(rng, sizes[l], sizes[l + 1], init, init_scale)
            self.params[f"b{l}"] = B.zeros((sizes[l + 1],))
        self.grads = {}
        act = rho_activation(energy, rho, clip)
        self.activations = [IDENTITY] + [act] * self.L      # named activations, layer 0..L
        if self.linear_output:
            self.activations[-1] = IDENTITY
        self.rho = [a.f for a in self.activations]
        self.drho = [a.df for a in self.activations]
        self.persistent = bool(persistent)
        self._bank = None  # persistent free states, allocated on first use
        self.n_updates = 0  # weight updates so far (runaway weights are looked for every 64)

    # -------------------------------------------------------------- parameters
    @property
    def W(self):
        return [self.params[f"W{l}"] for l in range(self.L)]

    @property
    def b(self):
        return [self.params[f"b{l}"] for l in range(self.L)]

    def box(self, input_free=False, input_range=None):
        """(lo, hi): per layer 0..L, the bounds the relaxation clips each layer's states to
        (None: no clipping): ``clip`` on the hidden layers and the output (not a linear one),
        ``input_range`` on a free input."""
        lo, hi = [None] * (self.L + 1), [None] * (self.L + 1)
        if self.clip is not None:
            for l in range(1, self.L + 1):
                lo[l], hi[l] = self.clip
        if self.linear_output:
            lo[-1] = hi[-1] = None
        if input_free and input_range is not None:
            lo[0], hi[0] = input_range
        return lo, hi

    # -------------------------------------------------------------- input checks
    def as_input(self, x):
        """x as a checked (batch, n_in) array in the default dtype (a single example becomes a batch of 1)."""
        x = V.as_float_array("x", x)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise V.NeurophysInputError(f"input x must have shape (batch, {self.sizes[0]}) or ({self.sizes[0]},), got "
                             f"{tuple(x.shape)}; flatten images (load_mnist(flatten=True)) or change sizes[0]")
        return x.astype(B.float_dtype(), copy=False)

    def as_target(self, target, batch: int):
        """Integer labels → one-hot rows; float arrays → (batch, n_out) targets (checked)."""
        xp = B.xp()
        n_out = self.sizes[-1]
        t = target if hasattr(target, "dtype") else xp.asarray(target)
        if t.dtype.kind in "iu":
            if t.size != batch:  # checked before the reshape below, so that the message shows what was passed
                hint = (f"; one-hot rows are float targets: pass target.astype(numpy.float32), or the labels "
                        f"target.argmax(axis=1)" if t.ndim == 2 and t.shape[1] == n_out else "")
                raise V.NeurophysInputError(f"target (integer labels) must have shape ({batch},), one label per "
                                            f"example, got {V.describe(t)}{hint}")
            t = V.labels("target labels", t.reshape(-1), n_out, n=batch)
            out = xp.zeros((batch, n_out), dtype=B.float_dtype())
            out[xp.arange(batch), xp.asarray(t)] = 1.0
            return out
        t = B.asarray(V.as_float_array("target", t))
        if t.ndim == 1 and (batch == 1 and t.shape[0] == n_out or n_out == 1 and t.shape[0] == batch):
            t = t.reshape(batch, n_out)
        if t.shape != (batch, n_out):
            hint = ""
            if t.ndim == 1 and t.shape[0] == batch and bool((t == B.xp().round(t)).all()):
                hint = ("; these look like class labels stored as floats: pass them as integers "
                        "(target.astype(int)) to train on one-hot targets")
            raise V.NeurophysInputError(f"target must have shape ({batch}, {n_out}) (or integer labels), "
                                        f"got {tuple(t.shape)}{hint}")
        return t

    # -------------------------------------------------------------- physics
    def energy(self, s):
        """E(s) per example (shape (batch,)); s = [s_0, ..., s_L].

        E = ½ Σ_{l≥1} ‖s_l‖² − Σ_l ρ(s_l) W_l ρ(s_{l+1}) − Σ_{l≥1} b_{l−1} ρ(s_l)
        (the input's ½‖s_0‖² is constant while it is clamped and is left out).
        """
        E = 0.0
        for l in range(1, self.L + 1):
            E = E + 0.5 * (s[l] * s[l]).sum(axis=1) - self.rho[l](s[l]) @ self.params[f"b{l - 1}"]
        for l in range(self.L):
            E = E - ((self.rho[l](s[l]) @ self.params[f"W{l}"]) * self.rho[l + 1](s[l + 1])).sum(axis=1)
        return E

    @staticmethod
    def cost(s_out, target):
        """C = ½‖s_L − t‖² per example."""
        d = s_out - target
        return 0.5 * (d * d).sum(axis=1)

    def dE_ds(self, s, input_free=False):
        """∂E/∂s_l = s_l − ρ'(s_l) ⊙ (ρ(s_{l−1}) W_{l−1} + b_{l−1} + ρ(s_{l+1}) W_lᵀ), per example.

        Layer 0's entry is for a free input (its energy ½‖s_0‖² − s_0 W_0 ρ(s_1)).
        """
        free = [True] * (self.L + 1)
        # a step of size 1 from s with no clipping: s − 1·∂E/∂s  →  ∂E/∂s = s − new
        new = relax_step(s, self.W, self.b, free, self.rho, self.drho, 1.0, order="synchronous")
        g = [s[l] - new[l] for l in range(self.L + 1)]
        return g if input_free else [None] + g[1:]

    def dE_dtheta(self, s):
        """∂E/∂W_l = −ρ(s_l)ᵀ ρ(s_{l+1}),  ∂E/∂b_l = −Σ_batch ρ(s_{l+1})  (summed over the batch)."""
        out = {}
        for l in range(self.L):
            out[f"W{l}"] = -(self.rho[l](s[l]).T @ self.rho[l + 1](s[l + 1]))
            out[f"b{l}"] = -self.rho[l + 1](s[l + 1]).sum(axis=0)
        return out

    def init_states(self, x):
        """Zero hidden and output states, with the input s_0 = x."""
        return [x] + [B.zeros((x.shape[0], n)) for n in self.sizes[1:]]

    def relax(self, s, beta: float = 0.0, target=None, n_steps=None, eps=None, input_free: bool = False,
              clamp_output=None, target_layer: int = -1, input_range=None, record_energy: bool = False):
        """Relax the states ``s`` (a list [s_0, ..., s_L], s_0 the input) to a minimum of F = E + βC.

        beta, target: the nudging (β = 0 is the free phase); target_layer: which layer the
          cost C = ½‖s_k − t‖² acts on (the output by default; 0 to nudge a free input).
        n_steps, eps: number and size of Euler steps (default: the net's n_free, eps).
        input_free: let s_0 relax too (dreaming); input_range: its box, e.g. (0, 1).
        clamp_output: hold the output layer at these values (dreaming a label).
        record_energy: also return the list of mean E + βC after every step.
        The clamped layers' contribution to their neighbours (x W_0 + b_0) is computed once.
        With ``threads`` = T > 1 (NumPy, at least SHARD_MIN_ROWS examples per shard, no
        record_energy) the batch relaxes as T shards of rows side by side (:mod:`neurophys.parallel`):
        every example relaxes on its own, so the states are the same as unsharded with one BLAS thread.
        """
        n_steps = self.n_free if n_steps is None else _check_steps("n_steps", n_steps)
        eps = self.eps if eps is None else _check_eps(eps)
        s = list(s)
        if clamp_output is not None:
            s[-1] = clamp_output
        free = [input_free] + [True] * (self.L - 1) + [clamp_output is None]
        if beta and target is None:
            raise ValueError("a nudged relaxation (beta != 0) needs a target")
        lo, hi = self.box(input_free, input_range)
        energies = []
        xp = B.xp()
        if record_energy:
            W, b = self.W, self.b
            with self._own_threads():
                const = self._const_drive(s, free)
                for _ in range(n_steps):
                    s = relax_step(s, W, b, free, self.rho, self.drho, eps, beta, target, target_layer, const, lo,
                                   hi, self.order)
                    F = self.energy(s) + (beta * self.cost(s[target_layer], target) if beta else 0.0)
                    if input_free:
                        F = F + 0.5 * (s[0] * s[0]).sum(axis=1)
                    energies.append(float(B.to_host(F.mean())))
        else:
            n = s[0].shape[0]
            rowwise = xp is numpy and all(a.ndim == 2 and a.shape[0] == n for a in s) and (
                target is None or (target.ndim == 2 and target.shape[0] == n))
            bounds = parallel.shard_bounds(n, self.threads, SHARD_MIN_ROWS, multiple=8) if rowwise else None
            if bounds is None:
                with self._own_threads():
                    s = self._relax_rows(s, free, beta, target, target_layer, n_steps, eps, lo, hi, s, None)
            else:
                def shard(k):
                    a, z = bounds[k]
                    return self._relax_rows([v[a:z] for v in s], free, beta, None if target is None else target[a:z],
                                            target_layer, n_steps, eps, lo, hi, s, (a, z))
                parts = parallel.map_shards(shard, len(bounds))
                s = [xp.concatenate([p[l] for p in parts]) if free[l] else s[l] for l in range(self.L + 1)]
        for l in (1, self.L):  # max and min are NaN when an element is: one pass each, no temporaries
            if not -1e8 < float(B.to_host(xp.min(s[l]))) <= float(B.to_host(xp.max(s[l]))) < 1e8:
                raise RelaxationDiverged(
                    f"the relaxation diverged (NaN/inf states) with eps={eps}, beta={beta}; "
                    + (_hint + "If it is, " if (_hint := V.diagnose_input(s[0], "the input x")) else "")
                    + "lower eps (or the learning rate lr), or keep the states boxed with clip=(0, 1)")
        return (s, energies) if record_energy else s

    def _const_drive(self, s, free):
        """Per free layer, the part of its drive that stays fixed while relaxing: its bias and
        the contribution of clamped neighbours (x W_0 + b_0 for a clamped input)."""
        W, b = self.W, self.b
        const = [None] * (self.L + 1)
        for l in range(self.L + 1):
            if not free[l]:
                continue
            c = b[l - 1] if l > 0 else B.zeros((self.sizes[0],))
            if l > 0 and not free[l - 1]:
                c = c + self._matmul(self.rho[l - 1](s[l - 1]), W[l - 1])
            if l < self.L and not free[l + 1]:
                c = c + self._matmul(self.rho[l + 1](s[l + 1]), W[l].T)
            const[l] = c
        return const

    def _relax_rows(self, s, free, beta, target, target_layer, n_steps, eps, lo, hi, whole, rows):
        """n_steps relaxation steps on these rows (``rows`` = (start, stop) of the batch ``whole``,
        None for all of it): the named op ``eqprop.relax_steps`` (one fused CUDA launch where the
        kernels registered it), from the clamped layers' drive. Within a training step the drive
        is computed once and shared by the step's relaxations (the weights change only after them)."""
        const = None
        if self._drives is not None:
            key = (rows, tuple(free))
            clamped = tuple(a for a, f in zip(whole, free) if not f)
            hit = self._drives.get(key)
            if hit is not None and len(hit[0]) == len(clamped) and all(a is c for a, c in zip(hit[0], clamped)):
                const = hit[1]
            else:
                const = self._const_drive(s, free)
                self._drives[key] = (clamped, const)
        if const is None:
            const = self._const_drive(s, free)
        return B.op("eqprop.relax_steps")(s, self.W, self.b, free, self.rho, self.drho, eps, beta, target,
                                          target_layer, const, lo, hi, self.order, n_steps=n_steps)

    @contextlib.contextmanager
    def _one_step(self):
        """The relaxations of one training step share their clamped layers' drive (x W_0 + b_0):
        the same arrays and weights until the update that ends the step."""
        self._drives = {}
        try:
            yield
        finally:
            self._drives = None

    def _own_threads(self):
        """With ``threads`` > 1 on NumPy: BLAS held to one thread (the net's own threads split the
        large products and the batch); otherwise nothing changes."""
        if self.threads > 1 and B.xp() is numpy:
            return parallel.blas_threads(1)
        return contextlib.nullcontext()

    def _matmul(self, a, b):
        """a @ b; with ``threads`` > 1 on NumPy a large one is split by rows over the net's threads
        (:func:`neurophys.parallel.matmul`: the numbers of one BLAS thread)."""
        if self.threads > 1 and B.get_array_module(a) is numpy:
            return parallel.matmul(a, b, self.threads)
        return a @ b

    # -------------------------------------------------------------- inference
    def free_phase(self, x, s=None, n_steps=None):
        """The free equilibrium s^0 for clamped inputs x (from zero states, or from ``s``)."""
        x = self.as_input(x)
        if s is None:
            s = self.init_states(x)
        else:
            s = [x] + list(s[1:])
        return self.relax(s, 0.0, None, n_steps=n_steps)

    def predict(self, x, n_steps=None, batch_size: int = 1000):
        """The output layer at the free equilibrium, shape (batch, n_out)."""
        x = self.as_input(x)
        outs = [self.free_phase(x[i:i + batch_size], n_steps=n_steps)[-1] for i in range(0, len(x), batch_size)]
        return B.xp().concatenate(outs, axis=0)

    def classify(self, x, **kw):
        """argmax of the free-phase output (integer labels)."""
        return self.predict(x, **kw).argmax(axis=1)

    def accuracy(self, x, labels, **kw) -> float:
        """The fraction of examples whose free-phase output is largest at their label (integer
        labels, one per example of x, in 0..n_out − 1)."""
        x = self.as_input(x)
        labels = V.labels("labels", labels, self.sizes[-1], n=x.shape[0])
        return float(B.to_host((self.classify(x, **kw) == labels).mean()))

    # -------------------------------------------------------------- learning
    def eqprop_gradient(self, s_free, target, beta=None, n_nudged=None, nudging=None, **relax_kw):
        """The EqProp estimate of ∂L/∂θ (averaged over the batch) from a free equilibrium.

        one-sided:   g = [∂E/∂θ(s^β) − ∂E/∂θ(s^0)] / β
        symmetric:   g = [∂E/∂θ(s^β) − ∂E/∂θ(s^−β)] / 2β
        random-sign: one-sided with β of a random sign.
        ``relax_kw`` go to :meth:`relax` (e.g. target_layer=0, input_free=True, clamp_output=y
        for the generative direction). Returns (grads, s_nudged).
        """
        beta = self.beta if beta is None else _check_beta(beta)
        nudging = self.nudging if nudging is None else nudging
        n = s_free[0].shape[0]
        if nudging == "random-sign" and float(B.to_host(self.rng.random())) < 0.5:
            beta = -beta
        s_plus = self.relax(s_free, beta, target, n_steps=n_nudged or self.n_nudged, **relax_kw)
        if nudging == "symmetric":
            s_ref = self.relax(s_free, -beta, target, n_steps=n_nudged or self.n_nudged, **relax_kw)
            scale = 2.0 * beta
        else:
            s_ref, scale = s_free, beta
        # the named op: dE_dtheta_difference, or one fused reduction per layer where the kernels registered it
        return B.op("eqprop.weight_grads")(self, s_plus, s_ref, scale * n), s_plus

    def dE_dtheta_difference(self, s_a, s_b, denominator=1.0):
        """[∂E/∂θ(s_a) − ∂E/∂θ(s_b)] / denominator, layer by layer.

            ∂E/∂W_l(a) − ∂E/∂W_l(b) = −[ρ(a_l)ᵀρ(a_{l+1}) − ρ(b_l)ᵀρ(b_{l+1})]
        When layer l is the same array in both (a clamped input) this is −ρ(s_l)ᵀ[ρ(a_{l+1}) − ρ(b_{l+1})]:
        one matrix product instead of two (the largest one, for the input layer).
        """
        out = {}
        xp = B.get_array_module(s_a[0])
        for l in range(self.L):
            ra1, rb1 = self.rho[l + 1](s_a[l + 1]), self.rho[l + 1](s_b[l + 1])
            d1 = ra1 - rb1
            if s_a[l] is s_b[l]:
                dW = self._matmul(self.rho[l](s_a[l]).T, d1)
            else:
                dW = self._matmul(self.rho[l](s_a[l]).T, ra1)
                xp.subtract(dW, self._matmul(self.rho[l](s_b[l]).T, rb1), out=dW)
            # −dW / d, in place on the product's own array: x / (−d) is −(x / d) to the bit
            out[f"W{l}"] = xp.divide(dW, -denominator, out=dW)
            out[f"b{l}"] = -d1.sum(axis=0) / denominator
        return out

    def apply_update(self, grads, lr_scale=1.0):
        """θ ← θ − η_l · lr_scale · g_l with each weight layer's own SGD (layer-wise rates)."""
        for l, opt in enumerate(self.optimizers):
            lr = self.lrs[l] * float(lr_scale)
            if self.momentum == 0.0:  # plain SGD in one pass over the weights (lr·g in a kept scratch array)
                for key in (f"W{l}", f"b{l}"):
                    p, g = self.params[key], grads[key]
                    scratch = self.__dict__.setdefault("_scratch", {})   # kept between updates
                    tmp = scratch.get(key)
                    if tmp is None or tmp.shape != g.shape or tmp.dtype != g.dtype or type(tmp) is not type(g):
                        tmp = scratch[key] = B.get_array_module(g).empty_like(g)
                    bounds = (parallel.shard_bounds(p.shape[0], self.threads, min_rows=64)
                              if self.threads > 1 and p.ndim == 2 and p.size >= 65536 and type(p) is numpy.ndarray
                              else None)
                    if bounds is None:
                        p -= B.get_array_module(g).multiply(g, lr, out=tmp)
                    else:   # element-wise, by rows on the net's threads: the same numbers
                        parallel.map_shards(lambda k: numpy.subtract(
                            p[bounds[k][0]:bounds[k][1]], numpy.multiply(g[bounds[k][0]:bounds[k][1]], lr,
                                                                         out=tmp[bounds[k][0]:bounds[k][1]]),
                            out=p[bounds[k][0]:bounds[k][1]]), len(bounds))
                continue
            opt.lr = lr
            p = {"W": self.params[f"W{l}"], "b": self.params[f"b{l}"]}
            opt.step(p, {"W": grads[f"W{l}"], "b": grads[f"b{l}"]})

    def enable_persistent(self, n_examples: int):
        """Allocate the bank of free states for ``n_examples`` training examples."""
        self.persistent = True
        self._bank = [B.zeros((int(n_examples), n)) for n in self.sizes[1:]]

    def train_step(self, x, target, lr_scale=1.0, index=None, sample_weight=None, diagnostics=False) -> dict:
        """One EqProp update on a batch (a single example is a batch of one).

        x: (batch, n_in) or (n_in,); target: float (batch, n_out) / (n_out,) or integer labels.
        lr_scale: multiplies every learning rate, >= 0 (0 skips the update, used by surprise gating).
        index: the examples' positions in the training set, for persistent states.
        sample_weight: optional per-example weights (batch,) of the update.
        Returns dict(cost = mean C at the free equilibrium, cost_per_example (batch,),
        output = free-phase output, updated = whether θ changed); with ``diagnostics``
        also energy_free = mean E(s^0), energy_nudged = mean F(s^β) and
        energy_jump = mean [F(s^β) − E(s^0)] / β (these cost an extra pass).
        """
        lr_scale = V.positive_real("lr_scale", lr_scale, allow_zero=True)  # < 0 would climb the cost
        x = self.as_input(x)
        t = self.as_target(target, x.shape[0])
        s0 = None
        if self.persistent and index is not None:
            if self._bank is None:
                raise ValueError("persistent=True needs enable_persistent(n_examples) before training with index=")
            idx = B.xp().asarray(index)
            s0 = [x] + [bank[idx] for bank in self._bank]
        with self._one_step(), self._own_threads():  # the free and nudged phases share x W_0 + b_0
            s_free = self.free_phase(x, s0)
            if self.persistent and index is not None:
                for bank, s_l in zip(self._bank, s_free[1:]):
                    bank[idx] = s_l
            cost = self.cost(s_free[-1], t)
            info = {"cost": float(B.to_host(cost.mean())), "cost_per_example": cost, "output": s_free[-1],
                    "updated": False}
            V.check_finite("the free-phase cost", info["cost"], where="this training step",
                           fix=f"lower the learning rates lr={self.lrs} or eps={self.eps}", x=x)
            if diagnostics:
                info["energy_free"] = float(B.to_host(self.energy(s_free).mean()))
            if float(lr_scale) == 0.0:
                return info
            if sample_weight is not None:
                wts = B.asarray(sample_weight).reshape(-1, 1)
                t_eff = s_free[-1] + wts * (t - s_free[-1])  # a zero weight: the target is the free output
            else:
                t_eff = t
            grads, s_nudged = self.eqprop_gradient(s_free, t_eff)
        self.grads = grads
        self.apply_update(grads, lr_scale)
        info["updated"] = True
        self.n_updates += 1
        if self.n_updates % 64 == 0:  # one max-reduction per weight array, amortised over 64 steps
            V.check_params(self.params, where=f"update {self.n_updates}", x=x,
                           fix=f"lower the learning rates lr={self.lrs}")
        if diagnostics:
            F_n = self.energy(s_nudged) + self.beta * self.cost(s_nudged[-1], t)
            info.update(energy_nudged=float(B.to_host(F_n.mean())),
                        energy_jump=float(B.to_host(((F_n - self.energy(s_free)) / self.beta).mean())))
        return info

    def learn(self, x, target, batch_size: int = 32, rng=None, lr_scale=1.0, progress=None) -> dict:
        """The training verb: one pass (epoch) of :meth:`train_step` over (x, target) in
        minibatches shuffled by the NumPy generator ``rng``; ``progress`` (e.g. ``ctx.progress``)
        wraps the minibatch loop. Returns {'loss': mean free-phase cost C, 'cost': the same}.
        Raises :class:`~neurophys.validate.DivergenceError` when a cost is NaN/inf or a weight has run away (|W| > 1e8) by the end of the pass."""
        x = self.as_input(x)
        n = x.shape[0]
        lr_scale = V.positive_real("lr_scale", lr_scale, allow_zero=True)
        if not hasattr(target, "dtype"):
            target = B.xp().asarray(target)
        if target.ndim == 0 or target.shape[0] != n:
            raise V.NeurophysInputError(
                f"target (y) must have one label or target row per example of x: x has {n} examples, "
                f"target is {V.describe(target)}; pass target[i] for x[i] (the same length)")
        if self.persistent and (self._bank is None or self._bank[0].shape[0] != n):
            self.enable_persistent(n)  # one stored free state per training example
        total = 0.0
        batches = minibatch_indices(n, batch_size, rng)
        if progress is not None:
            batches = progress(batches, total=-(-n // int(batch_size)), unit="batch")
        for idx in batches:
            info = self.train_step(x[idx], target[idx], lr_scale=lr_scale,
                                   index=idx if self.persistent else None)
            total += info["cost"] * len(idx)
        V.check_params(self.params, where="the end of the epoch", x=x,
                       fix=f"lower the learning rates lr={self.lrs} (or keep momentum={self.momentum} smaller)")
        return {"loss": total / n, "cost": total / n}

    def train_generative_step(self, x, labels, lr_scale=1.0, n_free=None, input_range=None,
                              label_scale: float = 1.0) -> dict:
        """EqProp in the other direction: clamp the label, free the input, nudge the input towards x.

        Free phase: y clamped to the label, s_0 free (from zero), relax to s^0 (a dream).
        Nudged phase: add β·½‖s_0 − x‖² and relax on. The same local rule then lowers the
        cost ½‖dream − x‖², which teaches the network to imagine inputs of its labels.
        Returns dict(cost = mean ½‖dream − x‖²).
        """
        x = self.as_input(x)
        y = float(label_scale) * self.as_target(labels, x.shape[0])
        kw = dict(input_free=True, clamp_output=y, input_range=input_range)
        s = [B.zeros(x.shape)] + [B.zeros((x.shape[0], n)) for n in self.sizes[1:-1]] + [y]
        with self._one_step(), self._own_threads():  # the dream and the nudged dream share y W_Lᵀ + b
            s_free = self.relax(s, n_steps=n_free, **kw)
            cost = self.cost(s_free[0], x)
            grads, _ = self.eqprop_gradient(s_free, x, target_layer=0, **kw)
        self.apply_update(grads, lr_scale)
        return {"cost": float(B.to_host(cost.mean())), "dream": s_free[0]}

    # -------------------------------------------------------------- dreaming
    def dream(self, labels, n_steps: int = 200, eps=None, x0=None, input_range=(0.0, 1.0), noise: float = 0.0,
              rng=None, label_scale: float = 1.0):
        """Clamp the output to one-hot ``labels`` (or given output rows), free the input, relax.

        Returns the imagined inputs s_0 (batch, n_in). The input relaxes on
        E + ½‖s_0‖², i.e. towards s_0 = W_0 ρ(s_1), kept inside ``input_range``;
        ``noise`` > 0 adds Langevin-like Gaussian kicks of that size to s_0 each step.
        """
        xp = B.xp()
        labels = labels if hasattr(labels, "dtype") else xp.asarray(labels)
        batch = labels.shape[0]
        y = float(label_scale) * self.as_target(labels, batch)
        x = B.zeros((batch, self.sizes[0])) if x0 is None else self.as_input(x0).copy()
        s = [x] + [B.zeros((batch, n)) for n in self.sizes[1:-1]] + [y]
        if noise <= 0:
            return self.relax(s, n_steps=n_steps, eps=eps, input_free=True, clamp_output=y,
                              input_range=input_range)[0]
        rng = rng or self.rng
        for _ in range(int(n_steps)):
            s = self.relax(s, n_steps=1, eps=eps, input_free=True, clamp_output=y, input_range=input_range)
            s[0] = xp.clip(s[0] + noise * rng.standard_normal(s[0].shape, dtype=s[0].dtype), *input_range)
        return s[0]


def _check_eps(eps):
    eps = V.positive_real("eps (the relaxation step size)", eps)
    if not 0.0 < eps <= 1.0:
        raise ValueError(f"step size eps must be in (0, 1]; got {eps} (larger steps overshoot the minimum "
                         "and the relaxation oscillates or diverges)")
    return eps


def _check_beta(beta):
    beta = float(beta)
    if beta == 0.0 or not math.isfinite(beta):
        raise ValueError(f"beta must be a finite nonzero number (the nudging strength, e.g. 0.5), got {beta}; "
                         "the EqProp update divides by beta")
    return abs(beta)


def _check_steps(name, n):
    if int(n) != n or int(n) < 1:
        raise ValueError(f"{name} must be a positive integer, got {n}")
    return int(n)
