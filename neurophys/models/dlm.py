"""The Dissipative Learning Machine of document 003, every term of its dynamics written out.

An MLP (GELU between layers) whose weights are never at rest. Each layer l keeps
static weights Wˡ (learnt by the optimizer), a weight *velocity* vˡ, and two
information currents (exponential moving averages of input and output activity):

    cˡ_in  ← 0.9 cˡ_in  + 0.1 ⟨|hˡ⁻¹|⟩_batch          (per input unit)
    cˡ_out ← 0.9 cˡ_out + 0.1 ⟨|zˡ|⟩_batch            (per output unit)
    Jˡ     = mean(cˡ_out) − mean(cˡ_in)              (net information current)

The forward pass uses the effective weights

    Wˡ_eff = Wˡ + κ vˡ + √T · σ_w · ξ,    ξ ~ N(0, 1)       (κ = 0.1, σ_w = 0.01)
    zˡ = hˡ⁻¹ Wˡ_eff + bˡ,    hˡ = GELU(zˡ)  (identity on the last layer)

and, once per optimizer step, the velocity follows (document: dθ/dt = −∇L + η(T) + J(θ))

    vˡ ← vˡ + √(ε dt) · u/‖u‖                 energy injection (u ~ N(0, 1)), rate ε
    vˡ ← (1 − γ) vˡ                           dissipation, D = γ Σ (vˡ)² lost to the bath
    vˡ ← vˡ − dt · ∂L/∂Wˡ_eff                  the gradient force  (−∇L)
    vˡ ← vˡ + √(2 T dt) · ξ                   thermal noise η(T) (fluctuation–dissipation form)
    vˡ ← vˡ + κ dt · (cˡ_in ⊗ cˡ_out)/‖cˡ_in ⊗ cˡ_out‖    the information-current drive J(θ)

The thermodynamic state recorded per step:

    energy     E ← E + ε dt − Σ_l D_l
    dissipation D = Σ_l γ Σ (vˡ)²
    entropy production  σ = Σ_l |Jˡ| · Fˡ / T,   Fˡ = mean |∂L/∂Wˡ|  (current × force / T)
    information current Σ_l Jˡ,   temperature T

The learning objective is L = CE − α σ (maximise entropy production). In the
original code σ is a detached Python float, so it never produces a gradient
(and, because the gradients were zeroed just before, it was 0 in the loss).
Here, with ``entropy_coupling='coupled'``, σ acts on learning: the force Fˡ is
held fixed at its value from the previous step (like an external field), and
the gradient flows through this batch's share of the currents,

    ∂σ/∂zˡ_nj     = (Fˡ/T) sign(Jˡ) · 0.1 sign(zˡ_nj)   / (N · n_out)
    ∂σ/∂hˡ⁻¹_ni   = −(Fˡ/T) sign(Jˡ) · 0.1 sign(hˡ⁻¹_ni) / (N · n_in)

so −α ∂σ/∂θ pushes each layer to make its output activity exceed its input
activity (a larger net current). ``entropy_coupling='detached'`` reproduces the
original (σ recorded, no gradient).

The document's experiments (training schedule, forgetting test, noise spectrum, its
``main()`` replayed) are in :mod:`neurophys.learning.doc003`; the exact GELU is the named
activation ``gelu_erf`` of :mod:`neurophys.blocks.activations`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

from .. import backend as B
from .. import validate as V
from ..blocks import get_activation, softmax_cross_entropy
from ..blocks.base import Classifier
from ..blocks.init import normal_out_in
from .mlp import MLP, layer_sizes


@dataclass
class ThermodynamicState:
    """Document 003's thermodynamic state of the network (one snapshot)."""

    energy: float = 0.0
    entropy_production: float = 0.0
    information_current: float = 0.0
    dissipation: float = 0.0
    temperature: float = 1.0


class DissipativeLearningMachine(Classifier):
    """A DLM with layers ``sizes`` (document 003: [20, 64, 32, 5], T = 0.5, γ = 0.02, ε = 0.05).

    Same verbs as :class:`~neurophys.models.mlp.MLP`: ``forward``, ``backward``
    (fills ``grads``), flat ``params`` (W0, b0, ...), ``learn(x, y, opt)``, so any
    optimizer and the continual-learning bench drive it; ``after_update()`` (called
    by ``learn`` after every optimizer step) advances the weight dynamics by ``dt``.

    temperature T ≥ 0; dissipation_rate γ in [0, 1); energy_injection_rate ε ≥ 0;
    current_strength κ ≥ 0; weight_noise σ_w ≥ 0; init_std ≥ 0; alpha (any finite real): weight of −σ in the loss.
    """

    def __init__(self, sizes, temperature: float = 0.5, dissipation_rate: float = 0.02,
                 energy_injection_rate: float = 0.05, current_strength: float = 0.1, weight_noise: float = 0.01,
                 init_std: float = 0.01, alpha: float = 0.1, dt: float = 0.01, entropy_coupling: str = "coupled",
                 activation: str = "gelu_erf", rng=None):
        sizes = layer_sizes(sizes, "a DLM")
        V.positive_real("temperature", temperature, allow_zero=True)        # the noise variance 2T·dt
        if not V.positive_real("dissipation_rate", dissipation_rate, allow_zero=True) < 1:
            raise V.NeurophysInputError(f"dissipation_rate γ must be in [0, 1) (v ← (1 − γ) v), "
                                        f"got {dissipation_rate}")
        V.positive_real("energy_injection_rate", energy_injection_rate, allow_zero=True)   # √(ε dt)
        V.positive_real("current_strength", current_strength, allow_zero=True)             # κ
        V.positive_real("weight_noise", weight_noise, allow_zero=True)                     # σ_w, a std
        V.positive_real("init_std", init_std, allow_zero=True)                             # a std
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha):
            raise V.NeurophysInputError(f"alpha (the weight α of the entropy term in L = CE − α σ) must be a "
                                        f"finite real number, got {V.describe(alpha)}")
        dt = V.positive_real("dt", dt)
        if entropy_coupling not in ("coupled", "detached"):
            raise ValueError(f"entropy_coupling must be 'coupled' or 'detached', got {entropy_coupling!r}")
        self.sizes = sizes
        self.T, self.gamma, self.eps_inj = float(temperature), float(dissipation_rate), float(energy_injection_rate)
        self.kappa, self.sigma_w, self.alpha, self.dt = float(current_strength), float(weight_noise), alpha, dt
        self.entropy_coupling = entropy_coupling
        self.act = get_activation(activation)
        self.rng = B.rng(0) if rng is None else rng
        self.n_layers = len(sizes) - 1
        self.params, self.grads, self.velocity = {}, {}, {}
        self.c_in, self.c_out = [], []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.params[f"W{i}"] = normal_out_in(self.rng, a, b) * init_std
            self.params[f"b{i}"] = B.zeros((b,))
            self.velocity[f"W{i}"] = B.zeros((a, b))
            self.c_in.append(B.zeros((a,)))
            self.c_out.append(B.zeros((b,)))
        self.force = [0.0] * self.n_layers        # Fˡ = mean|∂L/∂Wˡ| from the last step
        self.state = ThermodynamicState(temperature=self.T)
        self.history = {k: [] for k in asdict(self.state)}
        self._cache = []

    # ------------------------------------------------------------ forward
    def effective_weight(self, i: int):
        """Wˡ_eff = Wˡ + κ vˡ + √T σ_w ξ  (a fresh thermal sample ξ each call)."""
        W = self.params[f"W{i}"]
        noise = normal_out_in(self.rng, *W.shape) * (math.sqrt(self.T) * self.sigma_w)
        return W + self.kappa * self.velocity[f"W{i}"] + noise

    def currents(self):
        """Jˡ = mean(cˡ_out) − mean(cˡ_in) for every layer (floats)."""
        return [float(co.mean() - ci.mean()) for ci, co in zip(self.c_in, self.c_out)]

    def forward(self, x, track_currents: bool = True):
        """zˡ = hˡ⁻¹ Wˡ_eff + bˡ, hˡ = GELU(zˡ); updates the EMA currents (as the original does,
        also when only evaluating) unless ``track_currents`` is False."""
        x = V.as_float_array("x", x, ndim=(1, 2))
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.sizes[0]:
            raise V.NeurophysInputError(f"DLM expects inputs x of shape (batch, {self.sizes[0]}), got {tuple(x.shape)}")
        xp = B.get_array_module(x)
        self._cache = []
        h = x
        for i in range(self.n_layers):
            W_eff = self.effective_weight(i)
            z = h @ W_eff + self.params[f"b{i}"]
            if track_currents:
                self.c_in[i] = 0.9 * self.c_in[i] + 0.1 * xp.abs(h).mean(axis=0)
                self.c_out[i] = 0.9 * self.c_out[i] + 0.1 * xp.abs(z).mean(axis=0)
            self._cache.append((h, W_eff, z))
            h = self.act.f(z) if i < self.n_layers - 1 else z
        self.state.information_current = float(sum(self.currents()))
        return h

    __call__ = forward

    # ------------------------------------------------------------ the entropy term
    def entropy_production(self) -> float:
        """σ = Σ_l |Jˡ| Fˡ / T  with the current currents and forces."""
        return float(sum(abs(J) * F for J, F in zip(self.currents(), self.force)) / (self.T + 1e-8))

    def _entropy_coefficients(self):
        """(Fˡ/T)·sign(Jˡ) per layer: ∂σ/∂Jˡ with the force held fixed."""
        return [(F / (self.T + 1e-8)) * (1.0 if J > 0 else -1.0 if J < 0 else 0.0)
                for J, F in zip(self.currents(), self.force)]

    def loss(self, z, labels):
        """L = CE(z, labels) − α σ  (σ from the currents updated by the last forward)."""
        return softmax_cross_entropy(z, labels) - self.alpha * self.entropy_production()

    # ------------------------------------------------------------ backward
    def backward(self, dout):
        """∂L/∂θ for L = CE − α σ (σ's gradient only when ``entropy_coupling='coupled'``).

        δᴸ = dout;  ∂L/∂Wˡ = hˡ⁻¹ᵀ δˡ (the same for W and W_eff, since W_eff = W + const);
        ∂L/∂hˡ⁻¹ = δˡ Wˡ_effᵀ  (+ the σ term);  δˡ⁻¹ = ∂L/∂hˡ⁻¹ ⊙ GELU'(zˡ⁻¹).
        The σ term adds −α ∂σ/∂zˡ to δˡ and −α ∂σ/∂hˡ⁻¹ to ∂L/∂hˡ⁻¹ (module docstring).
        """
        if not self._cache:
            raise RuntimeError("DLM.backward called before forward")
        xp = B.get_array_module(dout)
        coupled = self.entropy_coupling == "coupled" and self.alpha != 0
        coef = self._entropy_coefficients() if coupled else None
        g = dout
        for i in reversed(range(self.n_layers)):
            h, W_eff, z = self._cache[i]
            if i < self.n_layers - 1:
                g = g * self.act.df(z)
            if coupled and coef[i]:
                g = g - self.alpha * coef[i] * 0.1 * xp.sign(z) / z.size
            self.grads[f"W{i}"] = h.T @ g
            self.grads[f"b{i}"] = g.sum(axis=0)
            g = g @ W_eff.T
            if coupled and coef[i]:
                g = g + self.alpha * coef[i] * 0.1 * xp.sign(h) / h.size
        return g

    # ------------------------------------------------------------ the weight dynamics
    def step_dynamics(self, dt: float | None = None):
        """One step of the velocity dynamics for every layer (module docstring), then the
        thermodynamic bookkeeping. Uses the gradients of the last backward (if any)."""
        dt = self.dt if dt is None else dt
        xp = B.xp()
        total_D = 0.0
        for i in range(self.n_layers):
            v = self.velocity[f"W{i}"]
            u = normal_out_in(self.rng, *v.shape)                                 # energy injection
            v += u / (xp.linalg.norm(u) + 1e-8) * math.sqrt(self.eps_inj * dt)
            D = self.gamma * float((v * v).sum())                                  # dissipation
            v *= (1 - self.gamma)
            total_D += D
            g = self.grads.get(f"W{i}")
            if g is not None:                                                      # −∇L
                v -= g * dt
            v += normal_out_in(self.rng, *v.shape) * math.sqrt(2 * self.T * dt)  # η(T)
            drive = xp.outer(self.c_in[i], self.c_out[i])                          # J(θ)
            v += drive / (xp.linalg.norm(drive) + 1e-8) * (self.kappa * dt)
        V.check_finite("the DLM weight velocity", total_D, where=f"dynamics step {len(self.history['energy'])}",
                       fix="lower the learning rate, dt or energy_injection_rate")
        self.state.dissipation = total_D
        self.state.energy += self.eps_inj * dt - total_D
        self.force = [float(xp.abs(self.grads[f"W{i}"]).mean()) if f"W{i}" in self.grads else 0.0
                      for i in range(self.n_layers)]
        self.state.entropy_production = self.entropy_production()
        for k, val in asdict(self.state).items():
            self.history[k].append(val)

    def after_update(self):
        """Called by the training loops after each optimizer step: advance the dynamics."""
        self.step_dynamics()


# ------------------------------------------------------------------ the comparison network
def standard_network(sizes, rng=None, activation: str = "gelu_erf", init_std: float | None = None) -> MLP:
    """Document 003's 'standard' net: the same MLP with PyTorch's default Linear init,
    W, b ~ U(−1/√n_in, 1/√n_in)  (kaiming_uniform with a = √5), drawn W then b per layer
    in PyTorch's (n_out, n_in) order.

    ``init_std``: instead, the DLM's initialisation W ~ N(0, init_std²), b = 0 (a control:
    the same network as the DLM without any of its dynamics)."""
    rng = B.rng(0) if rng is None else rng
    net = MLP(sizes, activation=get_activation(activation), rng=B.rng(0))   # its own init is overwritten
    for i, (a, b) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        if init_std is not None:
            net.params[f"W{i}"][...] = normal_out_in(rng, a, b) * init_std
            net.params[f"b{i}"][...] = 0
            continue
        bound = 1.0 / math.sqrt(a)
        net.params[f"W{i}"][...] = B.asarray(rng.uniform(-bound, bound, size=(b, a))).T
        net.params[f"b{i}"][...] = B.asarray(rng.uniform(-bound, bound, size=(b,)))
    return net
