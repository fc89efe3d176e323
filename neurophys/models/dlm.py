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
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy

from .. import backend as B
from .. import validate as V
from ..blocks import Activation, get_activation
from ..blocks.base import Classifier
from .mlp import MLP


# ------------------------------------------------------------------ exact GELU (PyTorch's F.gelu)
def _erf(z):
    """erf(z): SciPy's on NumPy; elsewhere Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    xp = B.get_array_module(z)
    if xp is numpy:
        from scipy.special import erf
        return erf(z)
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    s, x = xp.sign(z), xp.abs(z)
    t = 1.0 / (1.0 + p * x)
    return s * (1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * xp.exp(-x * x))


def gelu_erf(z):
    """GELU(z) = z Φ(z) = ½ z (1 + erf(z/√2))  (the exact form; PyTorch's default)."""
    return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))


def gelu_erf_prime(z):
    """GELU'(z) = Φ(z) + z φ(z),  φ(z) = e^{−z²/2}/√(2π)."""
    xp = B.get_array_module(z)
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0))) + z * xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


GELU_ERF = Activation("gelu_erf", gelu_erf, gelu_erf_prime)


def _activation(name):
    return GELU_ERF if name == "gelu_erf" else get_activation(name)


def _normal_out_in(rng, n_in: int, n_out: int):
    """N(0, 1) of shape (n_in, n_out), drawn in PyTorch's (n_out, n_in) order and transposed,
    so that a :class:`~neurophys.learning.torch_stream.TorchCPUStream` replays the original."""
    return B.asarray(rng.standard_normal((n_out, n_in)), dtype=B.float_dtype()).T.copy()


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
    current_strength κ; weight_noise σ_w; alpha: weight of −σ in the loss.
    """

    def __init__(self, sizes, temperature: float = 0.5, dissipation_rate: float = 0.02,
                 energy_injection_rate: float = 0.05, current_strength: float = 0.1, weight_noise: float = 0.01,
                 init_std: float = 0.01, alpha: float = 0.1, dt: float = 0.01, entropy_coupling: str = "coupled",
                 activation: str = "gelu_erf", rng=None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"a DLM needs at least two positive layer sizes, got {sizes}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0 (it scales noise variance 2T·dt), "
                             f"got {temperature}")
        if not 0 <= dissipation_rate < 1:
            raise ValueError(f"dissipation_rate γ must be in [0, 1), got {dissipation_rate}")
        if energy_injection_rate < 0 or dt <= 0:
            raise ValueError(f"need energy_injection_rate >= 0 and dt > 0, got {energy_injection_rate}, {dt}")
        if entropy_coupling not in ("coupled", "detached"):
            raise ValueError(f"entropy_coupling must be 'coupled' or 'detached', got {entropy_coupling!r}")
        self.sizes = sizes
        self.T, self.gamma, self.eps_inj = float(temperature), float(dissipation_rate), float(energy_injection_rate)
        self.kappa, self.sigma_w, self.alpha, self.dt = float(current_strength), float(weight_noise), alpha, dt
        self.entropy_coupling = entropy_coupling
        self.act = _activation(activation)
        self.rng = B.rng(0) if rng is None else rng
        self.n_layers = len(sizes) - 1
        self.params, self.grads, self.velocity = {}, {}, {}
        self.c_in, self.c_out = [], []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.params[f"W{i}"] = _normal_out_in(self.rng, a, b) * init_std
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
        noise = _normal_out_in(self.rng, *W.shape) * (math.sqrt(self.T) * self.sigma_w)
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
        from ..blocks import softmax_cross_entropy
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
            u = _normal_out_in(self.rng, *v.shape)                                 # energy injection
            v += u / (xp.linalg.norm(u) + 1e-8) * math.sqrt(self.eps_inj * dt)
            D = self.gamma * float((v * v).sum())                                  # dissipation
            v *= (1 - self.gamma)
            total_D += D
            g = self.grads.get(f"W{i}")
            if g is not None:                                                      # −∇L
                v -= g * dt
            v += _normal_out_in(self.rng, *v.shape) * math.sqrt(2 * self.T * dt)  # η(T)
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
    net = MLP(sizes, activation=_activation(activation), rng=B.rng(0))   # its own init is overwritten
    for i, (a, b) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        if init_std is not None:
            net.params[f"W{i}"][...] = _normal_out_in(rng, a, b) * init_std
            net.params[f"b{i}"][...] = 0
            continue
        bound = 1.0 / math.sqrt(a)
        net.params[f"W{i}"][...] = B.asarray(rng.uniform(-bound, bound, size=(b, a))).T
        net.params[f"b{i}"][...] = B.asarray(rng.uniform(-bound, bound, size=(b,)))
    return net


def train_full_batch(net, x, y, epochs: int, opt) -> dict:
    """Document 003's schedule: ``epochs`` calls of ``net.learn(x, y, opt)`` with the full batch,
    i.e. forward → ∂L/∂θ → optimizer step → ``after_update`` (the DLM's weight dynamics).
    Returns the loss (the model's objective) and the accuracy of each epoch's forward pass
    (as the original logs them). A diverging run raises :class:`~neurophys.validate.DivergenceError`."""
    log = {"loss": [], "acc": []}
    for e in range(V.positive_int("epochs", epochs)):
        info = net.learn(x, y, opt, where=f"epoch {e}")
        log["loss"].append(info["objective"])
        log["acc"].append(info["acc"])
    return log


def two_task_forgetting(net, task1, task2, epochs: int = 50, lr: float = 0.01) -> dict:
    """Document 003's forgetting test: Adam(lr) full batch, ``epochs`` on task 1, then on task 2
    (one optimizer for both), accuracy measured on the training data.

        forgetting = acc₁(after task 1) − acc₁(after task 2)
    """
    from ..blocks import Adam
    (x1, y1), (x2, y2) = task1, task2
    opt = Adam(lr=lr)
    train_full_batch(net, x1, y1, epochs, opt)
    acc1_before = float((net.forward(x1).argmax(axis=1) == y1).mean())
    train_full_batch(net, x2, y2, epochs, opt)
    acc1_after = float((net.forward(x1).argmax(axis=1) == y1).mean())
    acc2 = float((net.forward(x2).argmax(axis=1) == y2).mean())
    return {"task1_before": acc1_before, "task1_after": acc1_after, "task2": acc2,
            "forgetting": acc1_before - acc1_after}


# ------------------------------------------------------------------ the noise spectrum
def free_run_activity(dlm: DissipativeLearningMachine, x_probe, n_steps: int, dt: float = 0.01):
    """Document 003's ``analyze_noise_spectrum`` protocol: a fixed probe input, and per step
    the mean output a(t) = ⟨DLM(x_probe)⟩ followed by one step of the weight dynamics
    (with the gradient of the last training step still in place, as in the original).
    Returns a(t) as a NumPy vector."""
    a = numpy.empty(int(n_steps))
    for t in range(int(n_steps)):
        a[t] = float(dlm.forward(x_probe).mean())
        dlm.step_dynamics(dt)
    return a


def original_fft_slope(series) -> float:
    """The original's slope: |FFT|² periodogram, positive frequencies f_k = k/N, a straight
    line through log10 P vs log10 f over the positive-frequency entries 1..49 (k = 2..50)."""
    series = numpy.asarray(series, dtype=float)
    power = numpy.abs(numpy.fft.fft(series)) ** 2
    freqs = numpy.fft.fftfreq(len(series))
    pos = freqs > 0
    f, P = freqs[pos][1:50], power[pos][1:50]
    return float(numpy.polyfit(numpy.log10(f), numpy.log10(P + 1e-10), 1)[0])


# ------------------------------------------------------------------ the original run, replayed
DOC003_SIZES = (20, 64, 32, 5)
DOC003_DLM = dict(temperature=0.5, dissipation_rate=0.02, energy_injection_rate=0.05)
_DLM_DRAWS_PER_EPOCH = 3 * (20 * 64 + 64 * 32 + 32 * 5)   # 3 weight-shaped normals per layer per epoch


def doc003_tasks():
    """Document 003's two tasks exactly: ``torch.manual_seed(42)`` / ``(123)`` then its recipe,
    replayed on :class:`~neurophys.learning.torch_stream.TorchCPUStream`. Returns ((X1, y1), (X2, y2))."""
    from ..learning.tasks import gaussian_clusters
    from ..learning.torch_stream import TorchCPUStream
    out = []
    for seed in (42, 123):
        X, y = gaussian_clusters(300, 20, 5, rng=TorchCPUStream(seed))
        out.append((B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)))
    return tuple(out)


def forgetting_trial(seed: int, tasks=None, entropy_coupling: str = "detached", epochs: int = 50) -> dict:
    """One paired trial: a DLM and a standard net initialised from the PyTorch stream of ``seed``
    (as if ``torch.manual_seed(seed)`` preceded the original's experiment 2), trained on the same
    two tasks; the DLM's thermal kicks continue on that stream. Returns both results."""
    from ..learning.torch_stream import TorchCPUStream
    tasks = doc003_tasks() if tasks is None else tasks
    s = TorchCPUStream(seed)
    dlm = DissipativeLearningMachine(DOC003_SIZES, **DOC003_DLM, entropy_coupling=entropy_coupling, rng=s)
    std = standard_network(DOC003_SIZES, rng=s)
    return {"dlm": two_task_forgetting(dlm, *tasks, epochs=epochs),
            "std": two_task_forgetting(std, *tasks, epochs=epochs), "dlm_model": dlm}


def training_activity(net, x, y, x_probe, n_steps: int, lr: float = 0.01):
    """a(t) = mean output on a fixed probe, recorded after each of ``n_steps`` full-batch Adam steps
    on (x, y) (the DLM also runs its weight dynamics). The probe forward of a DLM leaves its
    currents alone but does draw fresh thermal weight noise. Returns a NumPy vector."""
    from ..blocks import Adam, softmax_cross_entropy_grad
    opt = Adam(lr=lr)
    is_dlm = isinstance(net, DissipativeLearningMachine)
    a = numpy.empty(int(n_steps))
    for t in range(int(n_steps)):
        z = net.forward(x)
        net.backward(softmax_cross_entropy_grad(z, y))
        opt.step(net.params, net.grads)
        if is_dlm:
            net.after_update()
            a[t] = float(net.forward(x_probe, track_currents=False).mean())
        else:
            a[t] = float(net.forward(x_probe).mean())
    return a


def replay_original_main(entropy_coupling: str = "detached", n_spectrum: int = 500,
                         exp1_seed: int = 67280421310721) -> dict:
    """Document 003's ``main()`` re-run number for number on PyTorch's random stream.

    The original draws everything from torch's global generator, so the run is
    fixed: experiment 1 (a DLM and a standard net, 500 samples of seed-42 data,
    100 full-batch epochs) → fresh nets for experiment 2 (initialised from the
    stream as experiment 1 left it) → task data re-seeded 42 and 123 → 50 + 50
    epochs → experiment 3 (the spectrum of experiment 1's DLM, 500 steps).
    :class:`~neurophys.learning.torch_stream.TorchCPUStream` replays that stream.

    One part is not fixed: experiment 1's two nets are built *before* the first
    ``manual_seed``, from whatever seed PyTorch started with (a fresh process
    draws it at random), and experiment 3 analyses that DLM. So experiments 1
    and 3 differ from run to run of the original; ``exp1_seed`` picks one
    (default: PyTorch's documented default seed). Experiment 2 — the forgetting
    numbers — does not depend on it.

    Returns the forgetting of both nets, their accuracies, experiment 1's final
    accuracies, the probe series of experiment 3 and its slope computed as in the
    original (:func:`original_fft_slope`).
    """
    from ..blocks import Adam
    from ..learning.tasks import gaussian_clusters
    from ..learning.torch_stream import TorchCPUStream

    def data(n, seed):
        s.manual_seed(seed)
        X, y = gaussian_clusters(n, 20, 5, rng=s)
        return B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)

    s = TorchCPUStream(int(exp1_seed) & 0xFFFFFFFF)
    kw = dict(DOC003_DLM, entropy_coupling=entropy_coupling, rng=s)
    dlm1 = DissipativeLearningMachine(DOC003_SIZES, **kw)              # experiment 1
    std1 = standard_network(DOC003_SIZES, rng=s)
    X, y = data(500, 42)
    opt_d, opt_s = Adam(lr=0.01), Adam(lr=0.01)
    log_d = train_full_batch(dlm1, X, y, 100, opt_d)
    log_s = train_full_batch(std1, X, y, 100, opt_s)
    exp1 = {"dlm_acc": log_d["acc"][-1], "std_acc": log_s["acc"][-1], "dlm_loss": log_d["loss"],
            "std_loss": log_s["loss"]}
    dlm2 = DissipativeLearningMachine(DOC003_SIZES, **kw)              # experiment 2
    std2 = standard_network(DOC003_SIZES, rng=s)
    t1, t2 = data(300, 42), data(300, 123)
    d = two_task_forgetting(dlm2, t1, t2)
    st = two_task_forgetting(std2, t1, t2)
    x_probe = B.asarray(s.randn((1, 20)), dtype=B.float_dtype())    # experiment 3
    series = free_run_activity(dlm1, x_probe, n_spectrum)
    return {"dlm": d, "std": st, "exp1": exp1, "series": series, "fft_slope": original_fft_slope(series)}
