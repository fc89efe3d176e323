"""Document 002's "PhysicsNet": a GRU encoder, a trajectory decoder and an energy head.

Architecture (hidden 128 and latent 32 are the document's sizes)::

    X (batch, T, D)  ──GRU(D → H)──▶  h_1 … h_T  ──z_t = h_t W_z + b_z──▶  z_1 … z_T  (latent, dim L)
                                                                            │
                      decoder MLP(L → H_dec → T·D) on z_T  ◀────────────────┤
                      energy head MLP(L → H_E → 1) on every z_t  ◀──────────┘

    X̂ = decoder(z_T)     the whole trajectory reconstructed from one latent vector
    Ê_t = head(z_t)       a "predicted energy" at every step

Loss (the document's, with its names):

    L = L_recon + λ_E · L_energy + λ_R · ‖θ‖²
    L_recon  = mean_{b,t,d} (X̂ − X)²
    L_energy = mean_b Var_t(Ê)                          (energy_loss="var")
             = mean_b 1/(T−1) Σ_t (Ê_{t+1} − Ê_t)²       (energy_loss="diff", the document's formula)

Nothing ties Ê to the physical energy: the head is never shown an energy label.
A network can make Ê constant by making it the same for every trajectory
(collapse), which the energy term cannot tell from learning a conserved
quantity. :func:`conservation_ratio` measures which of the two happened.

Every gradient is written by hand; ``tests/test_gru.py`` checks them all by
central differences in float64.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from .. import validate as V
from ..blocks import Adam
from ..blocks.base import Module
from ..blocks.gru import GRU
from ..blocks.init import init_weights
from ..data import minibatch_indices
from ..physics import mechanics
from .mlp import MLP

ENERGY_LOSSES = ("var", "diff")


class GRUEnergyEncoder(Module):
    """GRU encoder (hidden ``n_hidden``) → latent ``latent_dim`` → decoder + energy head.

    ``params``/``grads`` are flat dicts (``gru.Wx``, ``gru.Wh``, ``gru.b``,
    ``gru.c``, ``Wz``, ``bz``, ``dec.W0`` …, ``head.W0`` …) for any optimizer.
    Verbs: :meth:`forward`, :meth:`loss`, :meth:`backward`, :meth:`loss_and_grads`,
    :meth:`latents`, :meth:`learn` (one epoch of Adam steps) and :meth:`predict` ((X̂, Ê, Z)
    for any number of trajectories).
    """

    def __init__(self, n_state: int, seq_len: int, n_hidden: int = 128, latent_dim: int = 32,
                 decoder_hidden: int = 128, energy_hidden: int = 64, lambda_e: float = 0.1,
                 lambda_r: float = 1e-5, energy_loss: str = "var", rng=None):
        for name, v in (("n_state", n_state), ("seq_len", seq_len), ("n_hidden", n_hidden),
                        ("latent_dim", latent_dim), ("decoder_hidden", decoder_hidden),
                        ("energy_hidden", energy_hidden)):
            if int(v) < 1:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        if int(seq_len) < 2:
            raise ValueError(f"seq_len must be >= 2 (energy varies along time), got {seq_len}")
        if energy_loss not in ENERGY_LOSSES:
            raise ValueError(f"unknown energy_loss {energy_loss!r}; valid: {', '.join(ENERGY_LOSSES)}")
        lambda_e = V.positive_real("lambda_e (the weight λ_E of the energy term)", lambda_e, allow_zero=True)
        lambda_r = V.positive_real("lambda_r (the weight λ_R of ‖θ‖²)", lambda_r, allow_zero=True)
        rng = B.rng(0) if rng is None else rng
        self.n_state, self.seq_len, self.latent_dim = int(n_state), int(seq_len), int(latent_dim)
        self.lambda_e, self.lambda_r, self.energy_loss = float(lambda_e), float(lambda_r), energy_loss
        self.gru = GRU(self.n_state, int(n_hidden), rng=rng)
        self.params = {f"gru.{k}": v for k, v in self.gru.params.items()}
        self.params["Wz"] = init_weights(rng, int(n_hidden), self.latent_dim, "xavier")
        self.params["bz"] = B.zeros((self.latent_dim,))
        self.decoder = MLP([self.latent_dim, int(decoder_hidden), self.seq_len * self.n_state], "tanh", rng=rng)
        self.head = MLP([self.latent_dim, int(energy_hidden), 1], "tanh", rng=rng)
        for prefix, net in (("dec", self.decoder), ("head", self.head)):
            for k, v in net.params.items():
                self.params[f"{prefix}.{k}"] = v
        self.grads = {k: None for k in self.params}
        self._cache = None

    # ------------------------------------------------------------ forward
    def _check_input(self, X):
        """X as a real float array (batch, seq_len, n_state): integers converted, complex/empty/NaN refused."""
        X = V.as_float_array("X (trajectories)", X, ndim=3)
        if X.shape[1] != self.seq_len or X.shape[2] != self.n_state:
            raise V.NeurophysInputError(f"input must have shape (batch, {self.seq_len}, {self.n_state}) "
                                        f"= (trajectories, time steps, state variables), got {tuple(X.shape)}")
        return X

    def encode(self, X):
        """Latent code at every step, Z (batch, T, L): z_t = h_t W_z + b_z."""
        X = self._check_input(X)
        with V.inner():
            Hs = self.gru.forward(X)
        batch, T, H = Hs.shape
        Z = (Hs.reshape(batch * T, H) @ self.params["Wz"] + self.params["bz"]).reshape(batch, T, -1)
        return Hs, Z

    def latents(self, X):
        """The trajectory's latent vector z_T (batch, L) — what the document calls z ∈ ℝ^32."""
        return self.encode(X)[1][:, -1]

    def forward(self, X):
        """Returns (X̂ (batch, T, D), Ê (batch, T), Z (batch, T, L)); caches what backward needs."""
        X = self._check_input(X)
        with V.inner():
            Hs, Z = self.encode(X)
        batch, T, L = Z.shape
        X_hat = self.decoder.forward(Z[:, -1]).reshape(batch, T, self.n_state)
        E_hat = self.head.forward(Z.reshape(batch * T, L)).reshape(batch, T)
        self._cache = (X, Hs, Z, X_hat, E_hat)
        return X_hat, E_hat, Z

    __call__ = forward

    # ------------------------------------------------------------ loss
    def energy_penalty(self, E_hat):
        """L_energy of predicted energies Ê (batch, T) and its gradient ∂L_energy/∂Ê."""
        xp = B.get_array_module(E_hat)
        batch, T = E_hat.shape
        if self.energy_loss == "var":
            # Var_t(Ê) = (1/T) Σ_t (Ê_t − Ē)²;  ∂/∂Ê_t = 2 (Ê_t − Ē) / T  (the Ē terms cancel)
            dev = E_hat - E_hat.mean(axis=1, keepdims=True)
            return float((dev ** 2).mean()), 2.0 * dev / (batch * T)
        # (1/(T−1)) Σ_t (Ê_{t+1} − Ê_t)²;  ∂/∂Ê_t = 2/(T−1) [(Ê_t − Ê_{t−1}) − (Ê_{t+1} − Ê_t)]
        d = xp.diff(E_hat, axis=1)
        grad = xp.zeros_like(E_hat)
        grad[:, 1:] += d
        grad[:, :-1] -= d
        return float((d ** 2).mean()), 2.0 * grad / (batch * (T - 1))

    def loss(self, X):
        """Total loss and its parts {'recon', 'energy', 'reg', 'total'} for a batch X."""
        X = self._check_input(X)
        with V.inner():
            X_hat, E_hat, _ = self.forward(X)
        recon = float(((X_hat - X) ** 2).mean())
        energy, _ = self.energy_penalty(E_hat)
        reg = float(sum((p * p).sum() for p in self.params.values()))
        total = recon + self.lambda_e * energy + self.lambda_r * reg
        return total, {"recon": recon, "energy": energy, "reg": reg, "total": total}

    def backward(self):
        """Fill ``grads`` with ∂L/∂θ for the batch of the last :meth:`forward`.

            ∂L/∂X̂ = 2 (X̂ − X) / (batch·T·D)            → decoder → ∂L/∂z_T
            ∂L/∂Ê = λ_E ∂L_energy/∂Ê                     → head    → ∂L/∂z_t
            ∂L/∂W_z = Σ_t h_tᵀ ∂L/∂z_t,  ∂L/∂h_t = ∂L/∂z_t W_zᵀ  → GRU (BPTT)
            + 2 λ_R θ for every parameter
        """
        if self._cache is None:
            raise RuntimeError("backward called before forward")
        X, Hs, Z, X_hat, E_hat = self._cache
        xp = B.get_array_module(X)
        batch, T, L = Z.shape
        H = Hs.shape[2]
        dZ = xp.zeros_like(Z)
        dX_hat = 2.0 * (X_hat - X) / X.size
        dZ[:, -1] += self.decoder.backward(dX_hat.reshape(batch, T * self.n_state))
        _, dE = self.energy_penalty(E_hat)
        dZ += self.head.backward((self.lambda_e * dE).reshape(batch * T, 1)).reshape(batch, T, L)
        dZ2 = dZ.reshape(batch * T, L)
        self.grads["Wz"] = Hs.reshape(batch * T, H).T @ dZ2
        self.grads["bz"] = dZ2.sum(axis=0)
        self.gru.backward((dZ2 @ self.params["Wz"].T).reshape(batch, T, H))
        for prefix, src in (("gru", self.gru.grads), ("dec", self.decoder.grads), ("head", self.head.grads)):
            for k, g in src.items():
                self.grads[f"{prefix}.{k}"] = g
        if self.lambda_r:
            for k, p in self.params.items():
                self.grads[k] = self.grads[k] + 2.0 * self.lambda_r * p
        return self.grads

    def loss_and_grads(self, X):
        total, parts = self.loss(X)
        self.backward()
        return total, parts

    # ------------------------------------------------------------ the verbs
    def learn(self, X, y=None, opt=None, batch_size: int = 64, rng=None, clip: float = 5.0,
              where: str = "") -> dict:
        """One epoch of optimizer steps on minibatches of trajectories X (n, T, D).

        y: unused (the targets are X itself and the conservation of Ê; accepted for the
        shared ``learn(x, y)`` form). opt: the optimizer (one Adam(1e-3) kept on the model
        when None). rng: NumPy generator for the shuffle (None: in order). Gradients are
        clipped to global norm ``clip`` > 0 (recurrent nets can spike); ``clip=None`` (or
        ``math.inf``) does not clip. Returns the mean loss
        parts {'recon', 'energy', 'reg', 'total', 'loss'}; raises DivergenceError on a
        NaN/inf loss or gradient.
        """
        if y is not None:
            raise V.NeurophysInputError("the GRU energy encoder learns from X alone (y must be None), "
                                        f"got y = {V.describe(y)}")
        X = self._check_input(X)
        batch_size = V.positive_int("batch_size", batch_size)
        if clip is None:
            clip = math.inf  # no clipping: no gradient norm exceeds it
        elif not (isinstance(clip, float) and clip == math.inf):
            # g ← g · clip/‖g‖ when ‖g‖ > clip: clip < 0 would flip the gradient, clip = 0 would freeze training
            clip = V.positive_real("clip (the bound on the gradient's global norm)", clip)
        if opt is None:
            if getattr(self, "_opt", None) is None:
                self._opt = Adam(lr=1e-3)
            opt = self._opt
        xp = B.get_array_module(X)
        n = X.shape[0]
        keys = ("recon", "energy", "reg", "total")
        sums, count = {k: 0.0 for k in keys}, 0
        fix = f"lower the learning rate (lr={getattr(opt, 'lr', '?')}) or the gradient clip ({clip})"
        for b, idx in enumerate(minibatch_indices(n, batch_size, rng, shuffle=rng is not None, xp=xp)):
            with V.inner():
                _, parts = self.loss_and_grads(X[idx])
            norm = math.sqrt(sum(float((g * g).sum()) for g in self.grads.values()))
            V.check_finite("the loss or its gradient", parts["total"] + norm,
                           where=f"{where + ', ' if where else ''}batch {b}", fix=fix, x=X)
            if norm > clip:
                for k in self.grads:
                    self.grads[k] = self.grads[k] * (clip / norm)
            opt.step(self.params, self.grads)
            for k in sums:
                sums[k] += parts[k] * len(idx)
            count += len(idx)
        out = {k: sums[k] / count for k in keys}
        out["loss"] = out["total"]
        return out

    def predict(self, X, batch_size: int = 256):
        """(X̂, Ê, Z) for all trajectories X, in batches (no caching kept)."""
        X = self._check_input(X)
        with V.inner():
            outs = [self.forward(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        xp = B.get_array_module(X)
        self._cache = None
        return tuple(xp.concatenate([o[j] for o in outs], axis=0) for j in range(3))


# ------------------------------------------------------------------ training
def standardise(states, mean=None, std=None):
    """(s − μ) / σ per state variable; μ, σ from ``states`` unless given. Returns (s', μ, σ)."""
    axes = tuple(range(states.ndim - 1))
    mean = states.mean(axis=axes) if mean is None else mean
    std = states.std(axis=axes) + 1e-12 if std is None else std
    return (states - mean) / std, mean, std


def train(model: GRUEnergyEncoder, X, epochs: int, batch_size: int = 64, lr: float = 1e-3,
          rng=None, progress=None, clip: float = 5.0) -> dict:
    """``epochs`` calls of ``model.learn`` with one Adam(lr) and shuffles from ``rng`` (seed 0 by
    default); returns the history of loss parts per epoch.

    Gradients are clipped to global norm ``clip`` (recurrent nets can spike; None: no clipping).
    ``progress`` wraps the epoch range (e.g. ``ctx.progress``).
    """
    epochs, batch_size = V.positive_int("epochs", epochs), V.positive_int("batch_size", batch_size)
    rng = np.random.default_rng(0) if rng is None else rng
    opt = Adam(lr=lr)
    history = {"recon": [], "energy": [], "reg": [], "total": []}
    epochs_iter = range(epochs) if progress is None else progress(range(epochs), desc="epochs")
    for e in epochs_iter:
        parts = model.learn(X, opt=opt, batch_size=batch_size, rng=rng, clip=clip, where=f"epoch {e}")
        for k in history:
            history[k].append(parts[k])
    return history


# ------------------------------------------------------------------ measurements
def conservation_ratio(E_hat):
    """How much Ê varies along trajectories compared with between them:

        ρ = mean_b Var_t(Ê) / Var_b(mean_t Ê)

    ρ ≪ 1: Ê is constant along each trajectory AND tells trajectories apart (a
    conserved quantity). A collapsed head (Ê the same everywhere) gives 0/0 → NaN.
    """
    within = float(E_hat.var(axis=1).mean())
    between = float(E_hat.mean(axis=1).var())
    return within / between if between > 1e-12 * max(within, 1e-300) and between > 0 else float("nan")


def linear_readout(Z_train, y_train, Z_test, y_test):
    """Least-squares y ≈ Z w + w₀ fitted on train; returns (R² on test, w, w₀).

        R² = 1 − Σ (y − ŷ)² / Σ (y − ȳ)²
    """
    Zt = np.asarray(B.to_host(Z_train), dtype=float)
    Zs = np.asarray(B.to_host(Z_test), dtype=float)
    yt = np.asarray(B.to_host(y_train), dtype=float)
    ys = np.asarray(B.to_host(y_test), dtype=float)
    A = np.hstack([Zt, np.ones((Zt.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(A, yt, rcond=None)
    pred = np.hstack([Zs, np.ones((Zs.shape[0], 1))]) @ coef
    r2 = 1.0 - ((ys - pred) ** 2).sum() / max(((ys - ys.mean()) ** 2).sum(), 1e-300)
    return float(r2), coef[:-1], float(coef[-1])


def pca(Z, n_components: int = 2):
    """Principal components by the SVD of the centred data:

        Z − Z̄ = U S Vᵀ,   projections = (Z − Z̄) V[:, :k],   explained variance ∝ S²

    Returns (projections (n, k), explained variance ratios (k,), components Vᵀ[:k]).
    """
    Z = np.asarray(B.to_host(Z), dtype=float)
    if Z.ndim != 2 or Z.shape[0] < 2:
        raise ValueError(f"pca needs a (n >= 2, dim) array, got shape {Z.shape}")
    Zc = Z - Z.mean(axis=0)
    U, S, Vt = np.linalg.svd(Zc, full_matrices=False)
    k = min(int(n_components), Vt.shape[0])
    ratio = S ** 2 / max((S ** 2).sum(), 1e-300)
    return Zc @ Vt[:k].T, ratio[:k], Vt[:k]


# ------------------------------------------------------------------ a small trained encoder, on demand
def stand_in(system: str, n: int = 48, seq_len: int = 16, epochs: int = 3, seed: int = 0, rng=None) -> dict:
    """Train a small encoder on ``n`` simulated trajectories of ``system`` and return what a
    dashboard shows of it (what lesson 12 uses when lesson 11's files are absent).

    Trajectories: :func:`neurophys.physics.mechanics.simulate` (RK45, seed + 100), ``seq_len``
    steps, standardised. Model: 32 hidden GRU units, latent 8, decoder 32, energy head 16,
    λ_E = 0.1, initialised from ``rng`` (default ``backend.rng(seed)``); ``epochs`` of Adam (lr 3e-3,
    batches of 32, shuffles from ``numpy.random.default_rng(seed)``). The energy head Ê is
    calibrated affinely to the true energy E (least squares): E ≈ a Ê + b.

    Returns a dict: state_names, t, states_true / states_pred (6 trajectories), energy_true /
    energy_pred (calibrated), energy_label, pca (last latents on 2 principal axes), pca_energy,
    pca_explained, pred_note, source='stand-in'.
    """
    t, st = mechanics.simulate(system, n, n_steps=seq_len, integrator="rk45", seed=seed + 100)
    Xs, mu, sd = standardise(B.asarray(st))
    model = GRUEnergyEncoder(st.shape[-1], seq_len, n_hidden=32, latent_dim=8, decoder_hidden=32, energy_hidden=16,
                             lambda_e=0.1, rng=B.rng(seed) if rng is None else rng)
    train(model, Xs, epochs=epochs, batch_size=32, lr=3e-3, rng=np.random.default_rng(seed))
    Xh, Eh, Z = (np.asarray(B.to_host(a), dtype=float) for a in model.predict(Xs))
    E = mechanics.invariants(system, st)["total"]
    A = np.stack([Eh.ravel(), np.ones(Eh.size)], 1)
    a, b = np.linalg.lstsq(A, E.ravel(), rcond=None)[0]
    P, ratio, _ = pca(Z[:, -1])
    recon = Xh * np.asarray(B.to_host(sd)) + np.asarray(B.to_host(mu))
    return {"state_names": list(mechanics.STATE_NAMES[system]), "t": t, "states_true": st[:6],
            "states_pred": recon[:6], "energy_true": E[:6], "energy_pred": (a * Eh + b)[:6],
            "energy_label": "stand-in GRU energy head (affine-calibrated)",
            "pca": P, "pca_energy": E[:, 0], "pca_explained": ratio,
            "pred_note": "Stand-in: a small GRU trained by lesson 12 because lesson 11's files were absent; "
                         "run lesson 11 for the document's model.", "source": "stand-in"}
