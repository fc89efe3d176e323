"""Weight-space regularisers against forgetting: EWC and SI, gradients written out.

Both tie each parameter θ_i to the value it had after earlier tasks with a
spring whose stiffness says how much that parameter mattered:

    Ω(θ) = ½ Σ_i k_i (θ_i − θ*_i)²,     ∂Ω/∂θ_i = k_i (θ_i − θ*_i)

EWC (Kirkpatrick et al. 2017) takes k = λ F, the diagonal of the Fisher
information (the curvature of the log-likelihood at the old optimum). SI
(Zenke, Poole & Ganguli 2017) takes k = 2c Ω_i, the loss decrease each
parameter was responsible for along its training path, measured online.
"""
from __future__ import annotations

from .. import backend as B
from .. import validate as V
from ..blocks import one_hot, softmax
from .strategy import Strategy


def _stiffness_cap(k_max) -> float:
    """k_max as a float > 0; inf (the default: no cap) is allowed, NaN is not."""
    if not isinstance(k_max, str) and k_max == float("inf"):
        return float("inf")
    return V.positive_real("k_max (the cap on the spring stiffness)", k_max)


# ------------------------------------------------------------------ Fisher information
def per_example_squared_grads(net, dz):
    """Σ_n (∂ℓ_n/∂θ)² for every parameter of an MLP, with no loop over examples n.

    Call right after ``net.forward(x)``; ``dz`` is ∂ℓ_n/∂z_out per example (not
    divided by N). Backpropagation gives per example δˡ_n = ∂ℓ_n/∂zˡ_n and
    ∂ℓ_n/∂Wˡ_ij = hˡ⁻¹_ni δˡ_nj, so the sum of squares is a matrix product:

        Σ_n (∂ℓ_n/∂Wˡ_ij)² = [(hˡ⁻¹)²ᵀ (δˡ)²]_ij,     Σ_n (∂ℓ_n/∂bˡ_j)² = Σ_n (δˡ_nj)²
    """
    sq = {}
    g = dz
    for i in reversed(range(len(net.layers))):
        g = g * net._activation(i).df(net._z[i])        # δˡ
        h = net.layers[i]._x                             # hˡ⁻¹, cached by Dense.forward
        sq[f"W{i}"] = (h * h).T @ (g * g)
        sq[f"b{i}"] = (g * g).sum(axis=0)
        g = g @ net.params[f"W{i}"].T
    return sq


def diagonal_fisher(net, x, y=None, batch_size: int = 500, rng=None):
    """Diagonal Fisher information of a softmax classifier on inputs x:

        F_i = (1/N) Σ_n (∂ log p(ŷ_n | x_n) / ∂θ_i)²,     ∂(−log p(ŷ|x))/∂z = p − onehot(ŷ)

    With labels ``y`` this is the empirical Fisher (ŷ = y). Without, ŷ is drawn
    from the model's own p(·|x) (the true Fisher) using ``rng`` (backend generator).
    """
    N = len(x)
    F = None
    for start in range(0, N, batch_size):
        xb = x[start:start + batch_size]
        p = softmax(net.forward(xb))
        if y is not None:
            yb = y[start:start + batch_size]
        else:
            rng = B.rng(0) if rng is None else rng
            u = rng.random((len(xb), 1)).astype(p.dtype)
            yb = (p.cumsum(axis=1) < u).sum(axis=1).clip(0, p.shape[1] - 1)
        sq = per_example_squared_grads(net, p - one_hot(yb, p.shape[1], dtype=p.dtype))
        F = sq if F is None else {k: F[k] + sq[k] for k in F}
    return {k: v / N for k, v in F.items()}


class EWC(Strategy):
    """Elastic Weight Consolidation with a diagonal Fisher, one spring per old task:

        Ω(θ) = (λ/2) Σ_k Σ_i F_{k,i} (θ_i − θ*_{k,i})²,    ∂Ω/∂θ = λ Σ_k F_k (θ − θ*_k)

    A sum of springs is one spring, so only A = Σ_k F_k and b = Σ_k F_k θ*_k are
    kept: ∂Ω/∂θ = λ (A θ − b), and Ω = (λ/2) Σ_i (A θ² − 2 b θ + c), c = Σ_k F_k θ*_k².

    lam: λ, the stiffness scale. n_fisher: how many training examples of each
    task estimate F. fisher: 'empirical' (the labels) or 'true' (labels drawn
    from the model). decay: online EWC (Schwarz et al. 2018) lets old springs
    relax, A ← decay·A + F_k (and b, c alike); decay = 1 is the original EWC.
    k_max: cap on the stiffness λA. A gradient step θ ← θ − η k (θ − θ̄) on a
    spring is explicit Euler, stable only for η k < 2; with plain SGD of rate η
    set k_max ≈ 1/η (Adam rescales steps itself and needs no cap).
    """

    name = "ewc"

    def __init__(self, lam: float = 100.0, n_fisher: int = 1000, fisher: str = "empirical", decay: float = 1.0,
                 k_max: float = float("inf"), seed: int = 0):
        lam = V.positive_real("lam (the EWC strength λ)", lam, allow_zero=True)
        n_fisher = V.positive_int("n_fisher", n_fisher)
        decay = V.positive_real("decay", decay)
        if decay > 1:
            raise V.NeurophysInputError(f"EWC decay must be in (0, 1] (1 = the original EWC), got {decay!r}")
        self.decay, self.k_max = float(decay), _stiffness_cap(k_max)
        if fisher not in ("empirical", "true"):
            raise ValueError(f"fisher must be 'empirical' or 'true', got {fisher!r}")
        self.lam, self.n_fisher, self.fisher, self.seed = float(lam), int(n_fisher), fisher, seed
        self.reset()

    def reset(self):
        """No springs (A = b = c = 0). The Fisher samples of task i are drawn from ``seed + i``
        afresh at each task's end, so a reset run repeats a fresh run's draws."""
        self.A, self.b, self.c = {}, {}, {}

    def penalty(self, params) -> float:
        if self.k_max == float("inf"):
            return 0.5 * self.lam * sum(float((self.A[k] * th * th - 2 * self.b[k] * th + self.c[k]).sum())
                                        for k, th in params.items() if k in self.A)
        total = 0.0
        for k, th in params.items():
            if k in self.A:
                stiff, anchor = self._spring(k)
                total += 0.5 * float((stiff * (th - anchor) ** 2).sum())
        return total

    def _spring(self, k):
        """The one equivalent spring: stiffness min(λA, k_max), anchor θ̄ = b / A."""
        xp = B.get_array_module(self.A[k])
        A = self.A[k]
        anchor = self.b[k] / xp.maximum(A, 1e-30)
        return xp.minimum(self.lam * A, self.k_max), anchor

    def penalty_grads(self, params) -> dict:
        """∂Ω/∂θ = λ (A θ − b) for every anchored parameter (= k (θ − θ̄) with the cap)."""
        if self.k_max == float("inf"):
            return {k: self.lam * (self.A[k] * th - self.b[k]) for k, th in params.items() if k in self.A}
        out = {}
        for k, th in params.items():
            if k in self.A:
                stiff, anchor = self._spring(k)
                out[k] = stiff * (th - anchor)
        return out

    def add_penalty_grads(self, params, grads):
        for k, g in self.penalty_grads(params).items():
            grads[k] = grads[k] + g

    def end_task(self, net, i, task):
        rng = B.rng(self.seed + i)
        n = min(self.n_fisher, len(task.y_train))
        idx = B.xp().asarray(B.host_rng(self.seed + i).choice(len(task.y_train), n, replace=False))
        x = task.x_train[idx]
        F = diagonal_fisher(net, x, task.y_train[idx] if self.fisher == "empirical" else None, rng=rng)
        for k, th in net.params.items():
            self.A[k] = self.decay * self.A.get(k, 0) + F[k]
            self.b[k] = self.decay * self.b.get(k, 0) + F[k] * th
            self.c[k] = self.decay * self.c.get(k, 0) + F[k] * th * th


class SI(Strategy):
    """Synaptic Intelligence: each parameter's share of the loss decrease.

    Along the training path of task μ, the work done by the task-loss force
    −g = −∂L/∂θ on parameter i is accumulated update by update:

        ω_i ← ω_i − g_i Δθ_i                         (Δθ = the optimizer's actual step)

    At the end of the task it becomes a stiffness, normalised by how far θ_i moved:

        Ω_i ← Ω_i + ω_i / ((θ_i(end) − θ_i(start))² + ξ),      θ̃ ← θ(end)

    and later tasks feel  Ω_SI(θ) = c Σ_i Ω_i (θ_i − θ̃_i)²,  ∂Ω_SI/∂θ = 2 c Ω (θ − θ̃).

    k_max caps the stiffness 2cΩ (see :class:`EWC`; needed with plain SGD).
    """

    name = "si"

    def __init__(self, c: float = 0.1, xi: float = 0.1, k_max: float = float("inf")):
        c = V.positive_real("c (the SI strength)", c, allow_zero=True)
        xi = V.positive_real("xi (the damping ξ of Ω's denominator)", xi)
        self.c, self.xi, self.k_max = float(c), float(xi), _stiffness_cap(k_max)
        self.reset()

    def reset(self):
        """No importances Ω, no anchors θ̃, no path integral ω."""
        self.Omega, self.theta_tilde, self.omega = {}, {}, {}
        self._start, self._prev = {}, {}

    def _stiffness(self, k):
        """k_i = min(2 c Ω_i, k_max)."""
        stiff = 2 * self.c * self.Omega[k]
        return stiff if self.k_max == float("inf") else B.get_array_module(stiff).minimum(stiff, self.k_max)

    def penalty(self, params) -> float:
        return 0.5 * sum(float((self._stiffness(k) * (th - self.theta_tilde[k]) ** 2).sum())
                         for k, th in params.items() if k in self.Omega)

    def penalty_grads(self, params) -> dict:
        """∂Ω_SI/∂θ = 2 c Ω (θ − θ̃)  (stiffness capped at k_max)."""
        return {k: self._stiffness(k) * (th - self.theta_tilde[k]) for k, th in params.items() if k in self.Omega}

    def add_penalty_grads(self, params, grads):
        for k, g in self.penalty_grads(params).items():
            grads[k] = grads[k] + g

    def begin_task(self, net, i, task):
        self._start = {k: th.copy() for k, th in net.params.items()}
        self._prev = {k: th.copy() for k, th in net.params.items()}
        self.omega = {k: 0 * th for k, th in net.params.items()}

    def after_update(self, net, task_grads):
        """ω ← ω − g · Δθ with g the task-loss gradient (before the penalty was added)."""
        for k, th in net.params.items():
            self.omega[k] -= task_grads[k] * (th - self._prev[k])
            self._prev[k][...] = th

    def end_task(self, net, i, task):
        for k, th in net.params.items():
            delta = th - self._start[k]
            self.Omega[k] = self.Omega.get(k, 0) + self.omega[k] / (delta * delta + self.xi)
            self.theta_tilde[k] = th.copy()
