"""Active inference as planning: imagine, score by an energy, act on the lowest.

Before each action the agent imagines N short action sequences (a_0 … a_{H−1})
through its learned world model, s_{t+1} = model.predict(s_t, u(a_t)), all N
at once as one batch, and gives each imagined future an energy

    F(a_0 … a_{H−1}) = Σ_{t=1..H} γ^{t−1} E(s_t)

where E(s) is low for the states the agent prefers (pole upright and cart
centred; pendulum up and still). It executes the first action of the sequence
with the lowest F, then plans again at the next step (receding horizon), starting
from the best sequence shifted by one step so that a good plan is kept.

The planner works with any model that has ``predict(s, u)`` (a batch of
observations and action codes -> next observations), so the same planner runs on
the EqProp world model and on the linear baseline.
"""
from __future__ import annotations

import numpy

from .envs import BoxActions, DiscreteActions, action_coder, check_observation

# ------------------------------------------------------------------ preferred states
CARTPOLE_THETA_LIMIT = 12 * 2 * numpy.pi / 360   # gymnasium terminates beyond ±12°
CARTPOLE_X_LIMIT = 2.4                           # and beyond ±2.4 m


def cartpole_energy(s, w_x: float = 1.0, w_x_dot: float = 0.01, w_theta_dot: float = 0.01, w_fall: float = 10.0):
    """E(s) = (θ/θ_lim)² + w_x (x/x_lim)² + w_θ̇ θ̇² + w_ẋ ẋ² + w_fall·[|θ| > θ_lim or |x| > x_lim].

    s = (x, ẋ, θ, θ̇) in CartPole-v1's units; the last term is the cost of an
    imagined fall (the episode would end there). Small velocity weights let the
    planner move the cart back to the centre: in our trials with CartPole's exact
    equations as the model, w_ẋ = w_θ̇ = 0.1 let the cart drift off the track in
    many episodes over a 10-step horizon, and 0.01 did not.
    """
    s = numpy.asarray(s)
    x, x_dot, theta, theta_dot = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    fallen = (numpy.abs(theta) > CARTPOLE_THETA_LIMIT) | (numpy.abs(x) > CARTPOLE_X_LIMIT)
    return ((theta / CARTPOLE_THETA_LIMIT) ** 2 + w_x * (x / CARTPOLE_X_LIMIT) ** 2
            + w_theta_dot * theta_dot ** 2 + w_x_dot * x_dot ** 2 + w_fall * fallen)


def pendulum_energy(s):
    """E(s) = θ² + 0.1 θ̇², θ = atan2(sin θ, cos θ) ∈ (−π, π], zero when up and still.

    s = (cos θ, sin θ, θ̇) as Pendulum-v1 gives it; this is minus Pendulum's
    reward without its torque term.
    """
    s = numpy.asarray(s)
    theta = numpy.arctan2(s[..., 1], s[..., 0])
    return theta ** 2 + 0.1 * s[..., 2] ** 2


ENERGIES = {"CartPole-v1": cartpole_energy, "Pendulum-v1": pendulum_energy}


def energy_for(env_id: str):
    """The preferred-state energy of a known environment, or a ValueError listing them."""
    if env_id not in ENERGIES:
        raise ValueError(f"no preferred-state energy for {env_id!r}; known: {', '.join(ENERGIES)} "
                         "(pass energy=your_function(s) -> E to the planner instead)")
    return ENERGIES[env_id]


# ------------------------------------------------------------------ the planner
class ActiveInferencePlanner:
    """Receding-horizon planner over imagined rollouts of a learned model.

    Parameters: ``model`` (has ``predict(s, u)``), ``energy`` (E(s) for a batch),
    ``action_space`` (gymnasium space: Discrete(n) or 1-D Box), ``horizon`` H,
    ``n_sequences`` N candidate sequences per step, ``discount`` γ,
    ``hold`` (each random action is held for this many steps: smoother plans),
    ``keep`` (how many of the N are mutations of the last best plan), ``rng``.
    """

    def __init__(self, model, energy, action_space, horizon: int = 10, n_sequences: int = 64,
                 discount: float = 1.0, hold: int = 1, keep: float = 0.5, noise: float = 0.3, rng=None):
        if not hasattr(model, "predict"):
            raise ValueError("the planner needs a model with predict(s, u) -> next states")
        if horizon < 1 or n_sequences < 1 or hold < 1:
            raise ValueError(f"horizon, n_sequences and hold must be >= 1, got {horizon}, {n_sequences}, {hold}")
        if not 0 < discount <= 1 or not 0 <= keep < 1:
            raise ValueError(f"need 0 < discount <= 1 and 0 <= keep < 1, got {discount}, {keep}")
        self.coder = action_space if isinstance(action_space, (DiscreteActions, BoxActions)) \
            else action_coder(action_space)
        self.model, self.energy = model, energy
        self.H, self.N, self.gamma, self.hold = int(horizon), int(n_sequences), float(discount), int(hold)
        self.keep, self.noise = float(keep), float(noise)
        self.rng = numpy.random.default_rng(0) if rng is None else rng
        self.obs_size = getattr(model, "obs_size", None)
        self.best = None          # the last best sequence, (H,) or (H, k)
        self.last_energy = None   # F of the executed plan

    # -- candidates
    def random_sequences(self, n: int):
        """n sequences of H actions, each random action held for ``hold`` steps."""
        n_blocks = -(-self.H // self.hold)
        blocks = self.coder.sample(self.rng, (n, n_blocks))
        return numpy.repeat(blocks, self.hold, axis=1)[:, :self.H]

    def mutate(self, seq, n: int):
        """n copies of the shifted best plan with some actions changed."""
        seqs = numpy.repeat(seq[None], n, axis=0)
        if self.coder.kind == "discrete":
            flip = self.rng.random(seqs.shape) < self.noise / 2
            seqs = numpy.where(flip, self.coder.sample(self.rng, seqs.shape), seqs)
        else:
            seqs = self.coder.clip(seqs + self.noise * self.coder.half * self.rng.standard_normal(seqs.shape))
        return seqs

    def candidates(self):
        """N sequences: every constant action (discrete), the shifted last plan and its mutations, random ones."""
        parts = []
        if self.coder.kind == "discrete":
            parts.append(numpy.repeat(numpy.arange(self.coder.n)[:, None], self.H, axis=1))
        if self.best is not None:
            shifted = numpy.concatenate([self.best[1:], self.best[-1:]], axis=0)
            n_keep = int(self.keep * self.N)
            parts.append(shifted[None])
            if n_keep > 1:
                parts.append(self.mutate(shifted, n_keep - 1))
        n_random = self.N - sum(len(p) for p in parts)
        if n_random > 0:
            parts.append(self.random_sequences(n_random))
        return numpy.concatenate(parts, axis=0)[:self.N]

    # -- imagination
    def imagine(self, obs, sequences):
        """Roll the model forward: states (N, H, d) for the N action sequences, as one batch per step."""
        s = numpy.repeat(numpy.asarray(obs, dtype=numpy.float64)[None], len(sequences), axis=0)
        if hasattr(self.model, "rollout"):  # the model may imagine faster than step by step
            return self.model.rollout(s, self.coder.encode(sequences))
        states = []
        for t in range(sequences.shape[1]):
            s = self.model.predict(s, self.coder.encode(sequences[:, t]))
            states.append(s)
        return numpy.stack(states, axis=1)

    def free_energy(self, states):
        """F = Σ_t γ^t E(s_{t+1}) for each imagined future (N, H, d) -> (N,)."""
        weights = self.gamma ** numpy.arange(states.shape[1])
        return self.energy(states) @ weights

    def plan(self, obs):
        """Best sequence and the energies of all candidates."""
        if self.obs_size is not None:
            obs = check_observation(obs, self.obs_size)
        seqs = self.candidates()
        F = self.free_energy(self.imagine(obs, seqs))
        F = numpy.where(numpy.isfinite(F), F, numpy.inf)
        i = int(numpy.argmin(F))
        self.best, self.last_energy = seqs[i], float(F[i])
        return seqs[i], F

    def act(self, obs):
        """Plan, then return the first action of the lowest-energy imagined future (env format)."""
        best, _ = self.plan(obs)
        return self.coder.to_env(best[0])

    __call__ = act

    def observe(self, obs, action, next_obs):
        """Show the model what really happened (a :class:`ResidualCorrection` tracks its error)."""
        if hasattr(self.model, "observe"):
            u = self.coder.encode(action if self.coder.kind == "discrete" else numpy.asarray(action, float))
            self.model.observe(obs, u, next_obs)

    def reset(self):
        """Forget the last plan (call at the start of an episode)."""
        self.best = None
        if hasattr(self.model, "reset"):
            self.model.reset()


class ResidualCorrection:
    """Offset-free imagination: s'_hat = model(s, u) + r, with r the recent mean prediction error.

    After each real step, e = s' − model(s, u) and r ← r + (e − r)/τ: an exponential
    average over ~τ steps, the "disturbance estimate" of offset-free model-predictive
    control. A small steady bias of a learned model (which a planner would follow
    into a slow drift) is cancelled; the model's weights are not touched.
    """

    def __init__(self, model, tau: float = 20.0):
        if tau < 1:
            raise ValueError(f"tau (steps of averaging) must be >= 1, got {tau}")
        self.model, self.tau = model, float(tau)
        self.obs_size = getattr(model, "obs_size", None)
        self.r = 0.0

    def predict(self, s, u):
        return self.model.predict(s, u) + self.r

    def observe(self, s, u, s_next):
        e = numpy.asarray(s_next, dtype=numpy.float64) - self.model.predict(s, u)[0]
        self.r = self.r + (e - self.r) / self.tau

    def reset(self):
        self.r = 0.0


# ------------------------------------------------------------------ acting while learning
def learn_online(env, models, policy, n_steps: int, seed: int = 0, n_babble: int = 0, epsilon: float = 0.0,
                 rng=None, on_episode=None, progress=None):
    """Act with ``policy`` for ``n_steps`` environment steps; every model learns from every transition.

    Exploration: the first ``n_babble`` steps are random actions ("motor babbling":
    a model that never saw an action cannot predict its effect, and a planner on a
    model blind to actions repeats one action forever); after that each action is
    random with probability ``epsilon``.

    Each transition (s, a, s') is first predicted by every model in ``models``
    (a dict name -> model), then learned from: the recorded error is the
    prequential (test-then-train) squared error per component. Returns
    ``(errors, returns)``: a dict name -> array of n_steps errors, and the list
    of returns of the episodes played (the last one may be cut short).
    """
    coder = action_coder(env.action_space)
    size = env.observation_space.shape[0]
    rng = numpy.random.default_rng(seed) if rng is None else rng
    errors = {name: numpy.empty(n_steps) for name in models}
    returns, ret, episode = [], 0.0, 0
    obs, _ = env.reset(seed=seed)
    obs = check_observation(obs, size)
    if hasattr(policy, "reset"):
        policy.reset()
    steps = range(n_steps) if progress is None else progress(range(n_steps))
    for step in steps:
        if step < n_babble or rng.random() < epsilon:
            action = coder.to_env(coder.sample(rng, ()))
        else:
            action = policy(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        next_obs = check_observation(next_obs, size)
        u = coder.encode(action if coder.kind == "discrete" else numpy.asarray(action, dtype=numpy.float64))
        for name, model in models.items():
            errors[name][step] = model.learn(obs, u, next_obs)
        if hasattr(policy, "observe"):
            policy.observe(obs, action, next_obs)
        ret += float(reward)
        obs = next_obs
        if terminated or truncated:
            returns.append(ret)
            if on_episode is not None:
                on_episode(episode, ret, step + 1)
            ret, episode = 0.0, episode + 1
            obs, _ = env.reset(seed=seed + episode)
            obs = check_observation(obs, size)
            if hasattr(policy, "reset"):
                policy.reset()
    if ret:
        returns.append(ret)
    return errors, returns


def running_mean(x, window: int):
    """Mean of the last ``window`` values at every step (shorter at the start)."""
    x = numpy.asarray(x, dtype=numpy.float64)
    c = numpy.concatenate([[0.0], numpy.cumsum(x)])
    end = numpy.arange(1, len(x) + 1)
    n = numpy.minimum(end, window)
    return (c[end] - c[end - n]) / n
