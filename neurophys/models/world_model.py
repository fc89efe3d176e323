"""World models: predict the next observation s' from the observation s and the action code u.

Every model here has the same two verbs, used online, one transition at a time:

    s_next_hat = model.predict(s, u)      # (N, d), (N, k) -> (N, d), no learning
    err = model.learn(s, u, s_next)       # test-then-train: squared error of the
                                          # prediction made *before* the update

The models predict the change Δ = s' − s and add it back, s'_hat = s + Δ_hat,
because over one time step dt the state barely moves and Δ carries the physics.

- :class:`StaticModel` — "nothing changes", Δ_hat = 0 (the floor to beat).
- :class:`LinearModel` — Δ_hat = Wᵀφ(s, u) with φ = [s, u, 1], fitted by
  recursive least squares (the exact online least-squares solution).
- :class:`EqPropWorldModel` — an Equilibrium-Propagation network (``models.eqprop``)
  reads the scaled (s, u) on its clamped input units and relaxes; its output
  units, read back through the scaler, are Δ_hat. After each step the real Δ
  nudges the outputs and the weights change at once (``EqPropNet.train_step``).
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import validate as V
from ..blocks.base import Module
from .eqprop import EqPropNet


def _as_batch(a, size: int, name: str):
    """(size,) or (N, size) -> (N, size) float64 host array, or a NeurophysInputError
    (complex, object, empty or non-finite input is refused)."""
    a = numpy.asarray(B.to_host(V.as_float_array(name, a, dtype=numpy.float64)), dtype=numpy.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != size:
        raise V.NeurophysInputError(f"{name} has shape {a.shape}; expected ({size},) or (N, {size})")
    return a


class WorldModel(Module):
    """Shared edge checks; subclasses implement ``predict_delta`` and ``fit_delta``.

    The protocol's verbs with x = (s, u): ``predict(s, u)`` and ``learn(s, u, s_next)``
    (one online step, test-then-train); ``params`` are the fitted arrays (no ``grads``:
    nothing here is trained by an outside optimizer)."""

    @property
    def params(self) -> dict:
        return {}

    @property
    def grads(self) -> dict:
        return {}

    name = "model"

    def __init__(self, obs_size: int, action_size: int):
        self.obs_size = V.positive_int("obs_size", obs_size)          # 2.7 is refused, not truncated
        self.action_size = V.positive_int("action_size", action_size)
        self.n_updates = 0

    def _check(self, s, u):
        s = _as_batch(s, self.obs_size, "observation s")
        u = _as_batch(u, self.action_size, "action code u")
        if s.shape[0] != u.shape[0]:
            raise V.NeurophysInputError(f"s has {s.shape[0]} rows but u has {u.shape[0]}; give one action per state")
        return s, u

    def _check_transition(self, s, u, s_next):
        """(s, u, s_next) of one batch of transitions: s_next has s's width and one row per row of s
        (a broadcast s_next − s would fit transitions that never happened)."""
        s, u = self._check(s, u)
        s_next = _as_batch(s_next, self.obs_size, "next observation s_next")
        if s_next.shape[0] != s.shape[0]:
            raise V.NeurophysInputError(
                f"s_next (the next observations) has {s_next.shape[0]} rows but s has {s.shape[0]}; "
                "give one next observation per state (row i of s_next follows row i of s under row i of u)")
        return s, u, s_next

    def predict(self, s, u):
        """s'_hat = s + Δ_hat(s, u) for a batch (N, d), (N, k) -> (N, d)."""
        s, u = self._check(s, u)
        return s + self.predict_delta(s, u)

    def rollout(self, s, U):
        """Imagine: states (N, H, d) from s (N, d) under action codes U (N, H, k), one predict per step."""
        # (each step's predict checks s and the finiteness of its slice of U)
        U = V.as_float_array("U (the action codes, shape (N, H, k))", U, ndim=3, finite=False, dtype=numpy.float64,
                             shape=(None, "H", self.action_size))
        states = []
        for t in range(U.shape[1]):
            s = self.predict(s, U[:, t])
            states.append(s)
        return numpy.stack(states, axis=1)

    def learn(self, s, u, s_next) -> float:
        """Predict, then learn from the real s'. Returns the mean squared error ‖s' − s'_hat‖²/d before learning."""
        s, u, s_next = self._check_transition(s, u, s_next)
        delta = s_next - s
        err = float(numpy.mean((delta - self.predict_delta(s, u)) ** 2))
        V.check_finite(f"the {self.name} model's prediction error", err, where=f"update {self.n_updates}",
                       fix="lower its learning rate (or raise ridge / forgetting for the linear model)")
        self.fit_delta(s, u, delta)
        self.n_updates += 1
        return err

    def predict_delta(self, s, u):
        raise NotImplementedError

    def fit_delta(self, s, u, delta):
        raise NotImplementedError


class StaticModel(WorldModel):
    """"Nothing changes": s'_hat = s. Its error is the mean of Δ², the size of one step of motion."""

    name = "static"

    def predict_delta(self, s, u):
        return numpy.zeros_like(s)

    def fit_delta(self, s, u, delta):
        pass


class LinearModel(WorldModel):
    """Online linear least squares by recursive least squares (RLS).

    Features φ = [s, u, 1] (length m). After each transition with error
    e = Δ − Wᵀφ the exact least-squares solution is updated by

        g = P φ / (λ + φᵀ P φ)          (gain)
        W ← W + g eᵀ
        P ← (P − g φᵀ P) / λ

    with P₀ = I/δ (δ a small ridge) and forgetting factor λ ≤ 1 (1 = remember all).
    """

    name = "linear"

    def __init__(self, obs_size: int, action_size: int, ridge: float = 1e-3, forgetting: float = 1.0):
        super().__init__(obs_size, action_size)
        ridge = V.positive_real("ridge (δ, P₀ = I/δ)", ridge)
        forgetting = V.positive_real("forgetting (the factor λ)", forgetting)
        if forgetting > 1:
            raise V.NeurophysInputError(f"forgetting (the factor λ) must be in (0, 1] (1 = remember all), "
                                        f"got {forgetting!r}")
        m = self.obs_size + self.action_size + 1
        self.W = numpy.zeros((m, self.obs_size))
        self.P = numpy.eye(m) / ridge
        self.lam = float(forgetting)

    @property
    def params(self) -> dict:
        return {"W": self.W}

    def features(self, s, u):
        return numpy.concatenate([s, u, numpy.ones((s.shape[0], 1))], axis=1)

    def predict_delta(self, s, u):
        return self.features(s, u) @ self.W

    def fit_delta(self, s, u, delta):
        for phi, d in zip(self.features(s, u), delta):
            Pphi = self.P @ phi
            g = Pphi / (self.lam + phi @ Pphi)
            self.W += numpy.outer(g, d - phi @ self.W)
            self.P = (self.P - numpy.outer(g, Pphi)) / self.lam


class RunningScaler:
    """z = (v − μ)/σ, with μ and σ measured online (Welford) on the first ``n_fit`` samples, then frozen.

    Freezing keeps the meaning of each network unit fixed once the scale is known;
    σ has a floor ``min_std`` so that a component that never moved does not blow up.
    """

    def __init__(self, size: int, n_fit: int = 200, min_std: float = 1e-6):
        self.size, self.n_fit = V.positive_int("size", size), V.positive_int("n_fit", n_fit)
        self.min_std = V.positive_real("min_std", min_std)
        self.n = 0
        self.mean = numpy.zeros(self.size)
        self.m2 = numpy.zeros(self.size)

    @property
    def frozen(self) -> bool:
        return self.n >= self.n_fit

    @property
    def std(self):
        var = self.m2 / max(self.n - 1, 1) if self.n > 1 else numpy.ones(self.size)
        return numpy.maximum(numpy.sqrt(var), self.min_std)

    def update(self, v):
        """Welford: μ ← μ + (v − μ)/n,  M₂ ← M₂ + (v − μ_old)(v − μ_new) (while not frozen)."""
        for row in numpy.atleast_2d(v):
            if self.frozen:
                return
            self.n += 1
            d = row - self.mean
            self.mean += d / self.n
            self.m2 += d * (row - self.mean)

    def scale(self, v):
        return (v - self.mean) / self.std

    def unscale(self, z):
        return z * self.std + self.mean


class EqPropWorldModel(WorldModel):
    """An EqProp network predicts Δ = s' − s from (s, u); one nudge per real transition.

    Scaling into the range the network's states can represent:
      input   x = clip((s − μ_s)/σ_s, ±z_max) / z_max  and the action code u (one-hot or in [−1, 1]),
              so every clamped input lies in [−1, 1];
      target  y = ½ + clip((Δ − μ_Δ)/σ_Δ, ±z_max) / (2 z_max)  ∈ [0, 1],
              the box of the hard-sigmoid output units, with "no change from the mean" at ½.
    μ and σ come from :class:`RunningScaler` (the first ``n_scale`` transitions, then frozen).
    With ``net.linear_output`` the target is the plain z-score instead (no box to fit into).

    ``net`` is an :class:`neurophys.models.eqprop.EqPropNet` with sizes[0] = d + k and
    sizes[-1] = d; build one with :func:`make_eqprop_world_model`.
    """

    name = "eqprop"

    def __init__(self, net, obs_size: int, action_size: int, z_max: float = 2.0, n_scale: int = 200,
                 lr_decay: float | None = None):
        super().__init__(obs_size, action_size)
        if net.sizes[0] != self.obs_size + self.action_size or net.sizes[-1] != self.obs_size:
            raise ValueError(f"the EqProp net has sizes {net.sizes}; a world model for {self.obs_size}-component "
                             f"observations and {self.action_size}-number action codes needs "
                             f"sizes[0] = {self.obs_size + self.action_size} and sizes[-1] = {self.obs_size}")
        if z_max <= 0:
            raise ValueError(f"z_max must be positive, got {z_max}")
        if lr_decay is not None and lr_decay <= 0:
            raise ValueError(f"lr_decay (a number of steps) must be positive or None, got {lr_decay}")
        self.net, self.z_max = net, float(z_max)
        self.lr_decay = lr_decay
        self.s_scaler = RunningScaler(self.obs_size, n_scale)
        self.d_scaler = RunningScaler(self.obs_size, n_scale)
        self.last_info = None

    # -- the scaling described in the class docstring
    def net_input(self, s, u):
        z = numpy.clip(self.s_scaler.scale(s), -self.z_max, self.z_max) / self.z_max
        return B.asarray(numpy.concatenate([z, u], axis=1))

    def net_target(self, delta):
        z = numpy.clip(self.d_scaler.scale(delta), -self.z_max, self.z_max)
        return B.asarray(z if self.net.linear_output else 0.5 + z / (2 * self.z_max))

    def delta_from_output(self, y):
        y = numpy.asarray(B.to_host(y), dtype=numpy.float64)
        z = y if self.net.linear_output else (y - 0.5) * 2 * self.z_max
        return self.d_scaler.unscale(z)

    @property
    def lr_scale(self) -> float:
        """η_n/η_0 = τ/(τ + n) after n network updates (τ = lr_decay; 1 without decay): quiets online SGD noise."""
        n = max(self.n_updates - self.s_scaler.n_fit, 0)
        return 1.0 if self.lr_decay is None else self.lr_decay / (self.lr_decay + n)

    def predict_delta(self, s, u):
        """Δ_hat: the output units at the free equilibrium, read back through the scaler."""
        if not self.ready:
            return numpy.repeat(self.d_scaler.mean[None], len(s), axis=0)
        return self.delta_from_output(self.net.predict(self.net_input(s, u)))

    def fit_delta(self, s, u, delta):
        """Measure the scales on the first ``n_scale`` transitions; after that, one EqProp step per transition.

        The network waits until the scales are frozen: with only a few samples σ is tiny,
        every target lands on a wall of the box, and output units driven far past a wall
        get no EqProp signal (free and nudged states are both clipped to the wall).
        """
        if not self.ready:
            self.s_scaler.update(s)
            self.d_scaler.update(delta)
            return None
        self.last_info = self.net.train_step(self.net_input(s, u), self.net_target(delta), lr_scale=self.lr_scale)
        return self.last_info

    @property
    def ready(self) -> bool:
        """True once the scales are measured and frozen (the network learns from then on)."""
        return self.s_scaler.frozen and self.d_scaler.frozen

    def learn(self, s, u, s_next) -> float:
        """One EqProp step; the free phase of ``train_step`` is the prediction, so the error costs nothing extra."""
        s, u, s_next = self._check_transition(s, u, s_next)
        delta = s_next - s
        if self.ready:
            info = self.fit_delta(s, u, delta)
            err = float(numpy.mean((delta - self.delta_from_output(info["output"])) ** 2))
        else:  # while measuring the scales, predict the average change seen so far
            err = float(numpy.mean((delta - self.d_scaler.mean) ** 2))
            self.fit_delta(s, u, delta)
        V.check_finite("the EqProp world model's prediction error", err, where=f"update {self.n_updates}",
                       fix="lower the network's learning rate lr")
        self.n_updates += 1
        return err

    @property
    def params(self) -> dict:
        return {f"net.{k}": v for k, v in self.net.params.items()}


def make_eqprop_world_model(obs_size: int, action_size: int, hidden=(64,), rng=None, z_max: float = 2.0,
                            n_scale: int = 200, lr_decay: float | None = None, out_scale: float = 0.2,
                            eps: float = 1.0, n_free: int = 8, **net_kw):
    """An :class:`EqPropWorldModel` on a fresh EqPropNet [d + k, *hidden, d] (``net_kw`` go to EqPropNet).

    eps = 1 with EqPropNet's alternating order sets each layer to its exact minimum given
    its neighbours (block coordinate descent on E), so n_free = 8 steps reach the free
    equilibrium to ~1e-6 where ε = 0.5 needs ~40: imagination is cheap.

    The output layer starts quiet: W_L ← out_scale · W_L and b_L = ½ (or 0 with a linear
    output), so every output unit starts near "the average change" in the middle of its
    box. With the plain Xavier start, ρ(s_h) W_L sums ~30 active hidden units and can
    put an output's drive past 1 + β; such a unit sits on its wall in the free *and*
    the nudged phase, gets no EqProp signal, and never learns (we saw this on a few seeds).
    """
    sizes = [int(obs_size) + int(action_size), *[int(h) for h in hidden], int(obs_size)]
    net = EqPropNet(sizes, rng=rng, eps=eps, n_free=n_free, **net_kw)
    last = net.L - 1
    net.params[f"W{last}"] *= out_scale
    net.params[f"b{last}"][...] = 0.0 if net.linear_output else 0.5
    return EqPropWorldModel(net, obs_size, action_size, z_max=z_max, n_scale=n_scale, lr_decay=lr_decay)
