"""Optimizers whose update rules are written out.

An optimizer updates a dict of parameter arrays in place from a dict of
gradients with the same keys: ``opt.step(params, grads)``. Keep one optimizer
per model: its state (SGD's velocity, Adam's moments) is kept per parameter name and
belongs to the array it first updated under that name; a step that passes another
array under that name (a second model, or re-bound weights) raises a
:class:`~neurophys.validate.NeurophysInputError` instead of mixing the two
(``opt.reset()`` forgets the state, for a fresh start on new arrays).
"""
from __future__ import annotations

from .. import cpu
from .. import parallel
from .. import validate as V
from ..cpu import adam as cpu_adam
from ..backend import get_array_module


def _check(params, grads, opt=None):
    for k, p in params.items():
        g = grads.get(k)
        if g is None:
            raise ValueError(f"no gradient for parameter {k!r}; run backward before step")
        if g.shape != p.shape:
            raise ValueError(f"gradient for {k!r} has shape {tuple(g.shape)}, parameter has {tuple(p.shape)}")
    if opt is None:
        return
    for k, p in params.items():       # all checked before anything moves: a refused step changes nothing
        owner = opt._owner.get(k)
        if owner is not None and owner is not p:
            raise V.NeurophysInputError(
                f"this {type(opt).__name__} (lr={opt.lr:g}) already holds state for parameter {k!r} of "
                f"another array ({V.describe(owner)}; this step passes a {V.describe(p)}): one optimizer was "
                f"given two models' parameters (or re-bound ones), and its state would mix them. "
                f"Use one optimizer per model (e.g. a new {type(opt).__name__}(...) for each net), "
                f"or call opt.reset() to start it afresh on the new arrays")
    for k, p in params.items():
        opt._owner[k] = p


def _unit_interval(name: str, v) -> float:
    """``v`` as a float in [0, 1) (a momentum or a decay rate β), else NeurophysInputError naming it."""
    f = V.positive_real(name, v, allow_zero=True)
    if f >= 1.0:
        raise V.NeurophysInputError(f"{name} must be in [0, 1) (the fraction of the past kept per step), "
                                    f"got {v!r}; use e.g. 0.9")
    return f


class SGD:
    """Gradient descent with momentum, read as inertial dynamics.

    A particle of position θ and velocity v in the loss landscape L(θ), with
    friction (1 − μ) per step:

        v ← μ v − η ∇L(θ)
        θ ← θ + v

    μ = 0 is plain gradient descent; η is ``lr`` (> 0), μ is ``momentum`` (in [0, 1)).
    ``weight_decay`` (>= 0) adds λθ to the gradient.
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0):
        lr = V.positive_real("lr (the learning rate)", lr)
        momentum = _unit_interval("momentum", momentum)
        weight_decay = V.positive_real("weight_decay", weight_decay, allow_zero=True)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.reset()

    def reset(self):
        """Forget the velocity (a fresh optimizer, for new parameter arrays)."""
        self.velocity, self._owner = {}, {}

    def step(self, params, grads):
        _check(params, grads, self)
        for k, theta in params.items():
            g = grads[k] + self.weight_decay * theta if self.weight_decay else grads[k]
            v = self.velocity.get(k)
            if v is None:
                v = self.velocity[k] = get_array_module(theta).zeros_like(theta)
            v *= self.momentum
            v -= self.lr * g
            theta += v


class Adam:
    """Adam (Kingma & Ba 2015):

        m ← β₁ m + (1 − β₁) g            (first moment, the 'velocity')
        v ← β₂ v + (1 − β₂) g²           (second moment, the 'temperature')
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)

    with η = ``lr`` > 0, β₁, β₂ in [0, 1), ε = ``eps`` > 0 and ``weight_decay`` >= 0 (λθ added to g).

    Computed in place (m, v, θ and two scratch arrays; no temporaries), one piece of
    ``piece`` numbers at a time on the CPU: the pieces of θ, g, m, v and the scratch stay in
    the core's cache through the dozen passes of the update instead of streaming a large
    weight matrix from memory a dozen times. Same operations in the same order as the
    formulas above, so the same numbers as written with whole arrays. On the CPU (contiguous
    arrays, numba installed) the dozen passes are one compiled sweep over each whole array,
    :mod:`neurophys.cpu.adam`, again with the same operations in the same order.
    """

    # numbers per piece on the CPU: 6 arrays × 65536 float32 = 1.5 MB, inside a core's 2 MB L2 cache
    # (PhysNet's 879,066 parameters, one step, idle: 2^15 → 4.2 ms, 2^16 → 3.5 ms, 2^17 → 3.8 ms)
    piece = 1 << 16
    # T > 1: the pieces are updated in T threads (NumPy releases the interpreter lock in its loops),
    # on neurophys.parallel.map_shards
    threads = 1

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        lr = V.positive_real("lr (the learning rate)", lr)
        beta1, beta2 = _unit_interval("beta1", beta1), _unit_interval("beta2", beta2)
        eps = V.positive_real("eps (added to √v̂ against division by zero)", eps)
        weight_decay = V.positive_real("weight_decay", weight_decay, allow_zero=True)
        self.lr, self.beta1, self.beta2, self.eps, self.weight_decay = lr, beta1, beta2, eps, weight_decay
        self._scratch = {}
        self.reset()

    def reset(self):
        """Forget the moments m, v and the step counts t (a fresh optimizer, for new parameter arrays)."""
        self.m, self.v, self.t, self._owner = {}, {}, {}, {}

    def step(self, params, grads):
        _check(params, grads, self)
        pieces = []                     # (θ, g, m, v, t) of whole arrays or of pieces of them
        for k, theta in params.items():
            xp = get_array_module(theta)
            g = grads[k] + self.weight_decay * theta if self.weight_decay else grads[k]
            if k not in self.m:
                self.m[k], self.v[k], self.t[k] = xp.zeros_like(theta), xp.zeros_like(theta), 0
            self.t[k] += 1
            m, v, t = self.m[k], self.v[k], self.t[k]
            if xp.__name__ != "numpy" or not theta.flags.c_contiguous:
                pieces.append((theta, xp.asarray(g, dtype=theta.dtype), m, v, t))
                continue
            g = xp.ascontiguousarray(g, dtype=theta.dtype)
            if theta.size <= self.piece or cpu.available():    # the compiled sweep: whole arrays, no pieces
                pieces.append((theta, g, m, v, t))
                continue
            flat = [a.reshape(-1) for a in (theta, g, m, v)]
            pieces += [tuple(a[i:i + self.piece] for a in flat) + (t,) for i in range(0, theta.size, self.piece)]
        T = int(self.threads)
        if T < 2 or len(pieces) < 2 or any(get_array_module(p[0]).__name__ != "numpy" for p in pieces):
            for p in pieces:
                self._update(*p, get_array_module(p[0]))
            return
        groups = _balanced(pieces, T)
        run = lambda w: [self._update(*p, get_array_module(p[0]), worker=w) for p in groups[w]]
        parallel.map_shards(run, T)

    def _update(self, theta, g, m, v, t, xp, worker=0):
        """The update of one array (or one piece of it), in place; s, r: scratch arrays."""
        if cpu.active(theta, g, m, v) and all(a.flags.c_contiguous and a.dtype == theta.dtype for a in (g, m, v)) \
                and theta.flags.c_contiguous:          # the same numbers in one compiled sweep
            return cpu_adam.adam_update(theta.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), t,
                                        self.lr, self.beta1, self.beta2, self.eps)
        s, r = self._work(theta.shape, theta.dtype, xp, worker)
        b1, b2 = self.beta1, self.beta2
        m *= b1                                   # m ← β₁ m + (1 − β₁) g
        xp.multiply(g, 1 - b1, out=s)
        m += s
        v *= b2                                   # v ← β₂ v + (1 − β₂) g²
        xp.multiply(g, 1 - b2, out=s)
        s *= g
        v += s
        xp.divide(v, 1 - b2 ** t, out=s)          # s = √v̂ + ε
        xp.sqrt(s, out=s)
        s += self.eps
        xp.divide(m, 1 - b1 ** t, out=r)          # r = η m̂ / (√v̂ + ε)
        r *= self.lr
        r /= s
        theta -= r                                # θ ← θ − r

    def _work(self, shape, dtype, xp, worker=0):
        """Two scratch arrays of this shape (views of two kept buffers, one pair per worker thread)."""
        n = 1
        for d in shape:
            n *= int(d)
        key = (dtype, xp.__name__, worker)
        buf = self._scratch.get(key)
        if buf is None or buf.shape[1] < n:
            buf = self._scratch[key] = xp.empty((2, max(n, self.piece)), dtype=dtype)
        return buf[0, :n].reshape(shape), buf[1, :n].reshape(shape)


def _balanced(pieces, T):
    """The pieces in T groups of about equal size (largest first, each to the lightest group)."""
    groups, load = [[] for _ in range(T)], [0] * T
    for p in sorted(pieces, key=lambda p: -p[0].size):
        w = load.index(min(load))
        groups[w].append(p)
        load[w] += p[0].size
    return groups


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get_optimizer(name: str, **kwargs):
    """Build an optimizer by name ('sgd' or 'adam')."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names are: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](**kwargs)
