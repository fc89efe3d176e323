"""Gymnasium environments for the world-model lesson, with checks at the edge.

A world model sees a transition (s, a, s') and learns s' − s from (s, a).
This module makes the environment, turns an action into the numbers a network
can read (its *code*), checks observation sizes, and runs episodes::

    env = make_env("CartPole-v1")
    actions = action_coder(env.action_space)     # one-hot (discrete) or scaled box
    obs = check_observation(obs, observation_size(env))

Supported action spaces: ``Discrete(n)`` (coded one-hot, n numbers) and a
1-D ``Box`` (coded as each component scaled to [−1, 1]). Observations must be a
1-D ``Box``. gymnasium is imported lazily, inside the functions.
"""
from __future__ import annotations

import numpy

#: Environments the lesson was written for (any registered id with a 1-D Box
#: observation and a supported action space also works).
KNOWN_ENVS = ("CartPole-v1", "Pendulum-v1")

SUPPORTED_ACTION_SPACES = "Discrete(n) and 1-D Box(low, high, (k,))"


def make_env(env_id: str, render_mode: str | None = None, **kwargs):
    """``gymnasium.make(env_id)`` with a clear error for an unknown or unsuitable id."""
    import gymnasium
    if not isinstance(env_id, str):
        raise ValueError(f"env_id must be a string such as {KNOWN_ENVS[0]!r}, got {env_id!r}")
    if env_id not in gymnasium.envs.registry:
        close = [k for k in gymnasium.envs.registry if k.lower().split("-")[0] == env_id.lower().split("-")[0]]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown environment id {env_id!r}{hint}; this lesson uses "
                         f"{', '.join(KNOWN_ENVS)} (any registered gymnasium id with a 1-D Box "
                         "observation and a Discrete or 1-D Box action space works)")
    env = gymnasium.make(env_id, render_mode=render_mode, **kwargs)
    observation_size(env)        # refuse image or dict observations at once
    action_coder(env.action_space)
    return env


def observation_size(env) -> int:
    """Number of observation components of a 1-D Box observation space."""
    from gymnasium import spaces
    space = env.observation_space
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"observation space {space} is not supported: the world model needs a 1-D Box "
                         "observation (a vector of numbers such as CartPole's 4 or Pendulum's 3)")
    return int(space.shape[0])


def check_observation(obs, size: int):
    """A float64 vector of length ``size``, or a ValueError that says what came instead."""
    obs = numpy.asarray(obs, dtype=numpy.float64)
    if obs.ndim != 1 or obs.shape[0] != size:
        raise ValueError(f"observation has shape {obs.shape}, expected ({size},): the model was built for "
                         f"{size}-component observations of this environment")
    if not numpy.all(numpy.isfinite(obs)):
        raise ValueError(f"observation contains NaN or inf: {obs}")
    return obs


class DiscreteActions:
    """Discrete(n): the code of action a is the one-hot vector e_a (n numbers)."""

    kind = "discrete"

    def __init__(self, n: int):
        self.n = int(n)
        self.size = self.n

    def encode(self, actions):
        """(...,) integer actions -> (..., n) one-hot codes."""
        actions = numpy.asarray(actions)
        if numpy.any((actions < 0) | (actions >= self.n)) or not numpy.issubdtype(actions.dtype, numpy.integer):
            raise ValueError(f"discrete actions must be integers in [0, {self.n - 1}], got {actions}")
        return numpy.eye(self.n)[actions]

    def sample(self, rng, shape):
        """Uniformly random actions of the given shape."""
        return rng.integers(0, self.n, size=shape)

    def to_env(self, action):
        return int(action)


class BoxActions:
    """Box(low, high, (k,)): the code is u = (a − mid)/half ∈ [−1, 1]^k."""

    kind = "box"

    def __init__(self, low, high):
        self.low = numpy.asarray(low, dtype=numpy.float64)
        self.high = numpy.asarray(high, dtype=numpy.float64)
        if not (numpy.all(numpy.isfinite(self.low)) and numpy.all(numpy.isfinite(self.high))):
            raise ValueError("a Box action space needs finite low and high bounds to be planned over")
        self.size = int(self.low.shape[0])
        self.mid = 0.5 * (self.high + self.low)
        self.half = 0.5 * (self.high - self.low)

    def encode(self, actions):
        """(..., k) actions -> (..., k) codes in [−1, 1]."""
        actions = numpy.asarray(actions, dtype=numpy.float64)
        if actions.shape[-1:] != (self.size,):
            raise ValueError(f"box actions must end in a dimension of size {self.size}, got shape {actions.shape}")
        return (actions - self.mid) / self.half

    def sample(self, rng, shape):
        """Uniform actions in the box, shape (*shape, k)."""
        shape = (shape,) if numpy.isscalar(shape) else tuple(shape)
        return rng.uniform(self.low, self.high, size=shape + (self.size,))

    def clip(self, actions):
        return numpy.clip(actions, self.low, self.high)

    def to_env(self, action):
        return numpy.asarray(self.clip(action), dtype=numpy.float32).reshape(self.size)


def action_coder(space):
    """The coder of a gymnasium action space, or a ValueError naming the supported ones."""
    from gymnasium import spaces
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(f"Discrete action spaces must start at 0, got start={space.start}")
        return DiscreteActions(space.n)
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return BoxActions(space.low, space.high)
    raise ValueError(f"action space {space} is not supported; supported are {SUPPORTED_ACTION_SPACES}")


def run_episode(env, policy, seed=None, on_step=None, max_steps=None, frames=None):
    """Play one episode: ``action = policy(obs)``; returns the sum of rewards.

    ``on_step(obs, action, reward, next_obs, terminated)`` is called after every
    step (where an agent learns online); ``frames`` (a list) collects
    ``env.render()`` images when the env was made with ``render_mode="rgb_array"``.
    """
    size = observation_size(env)
    obs, _ = env.reset(seed=seed)
    obs = check_observation(obs, size)
    if hasattr(policy, "reset"):  # a planner forgets the last episode's plan
        policy.reset()
    total, steps = 0.0, 0
    if frames is not None:
        frames.append(env.render())
    while True:
        action = policy(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        next_obs = check_observation(next_obs, size)
        total += float(reward)
        steps += 1
        if hasattr(policy, "observe"):  # a planner that tracks its model's recent error
            policy.observe(obs, action, next_obs)
        if on_step is not None:
            on_step(obs, action, float(reward), next_obs, bool(terminated))
        if frames is not None:
            frames.append(env.render())
        obs = next_obs
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            return total


def evaluate(env, policy, n_episodes: int = 20, seed: int = 0, progress=None):
    """Returns of ``n_episodes`` episodes (seeds seed, seed+1, ...) as a NumPy array.
    ``progress`` (e.g. ``ctx.progress``) wraps the episode loop."""
    episodes = range(n_episodes) if progress is None else progress(range(n_episodes), unit="episode")
    return numpy.array([run_episode(env, policy, seed=seed + i) for i in episodes])


# ------------------------------------------------------------------ simple policies
def random_policy(action_space_coder, rng):
    """Uniformly random actions (the floor every agent must beat)."""
    def policy(obs):
        return action_space_coder.to_env(action_space_coder.sample(rng, ()))
    return policy


def cartpole_heuristic(obs, corrected: bool = True) -> int:
    """Document 004's bot rule, on the pole angle θ = obs[2].

    The original pushes *left* (0) when θ ≥ 0, which tips a pole leaning right
    further over. The corrected rule pushes the cart under the pole: right (1)
    when θ ≥ 0. ``corrected=False`` gives the original, inverted rule.
    """
    leaning_right = obs[2] >= 0
    return int(leaning_right) if corrected else int(not leaning_right)


# ------------------------------------------------------------------ pictures
def can_render() -> bool:
    """True when gymnasium's ``rgb_array`` renderer can work (it draws with pygame)."""
    import importlib.util
    return importlib.util.find_spec("pygame") is not None


def episode_frames(env_id: str, policy, seed: int = 0, every: int = 5, max_frames: int = 100):
    """Every ``every``-th rgb_array frame of one episode, or None when pygame is not installed."""
    if not can_render():
        return None
    env = make_env(env_id, render_mode="rgb_array")
    frames = []
    try:
        run_episode(env, policy, seed=seed, frames=frames)
    finally:
        env.close()
    return frames[::max(1, int(every))][:max_frames]
