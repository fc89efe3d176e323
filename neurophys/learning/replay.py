"""Experience replay: a small memory of old examples mixed into every new minibatch."""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import validate as V
from .strategy import Strategy


class ReplayBuffer:
    """A reservoir of at most ``capacity`` (x, y) examples from the whole stream.

    Reservoir sampling (Vitter 1985): the t-th example seen (t = 0, 1, ...) is
    kept with probability capacity / (t + 1), replacing a random slot, so at
    every moment the buffer is a uniform sample of everything seen so far.
    """

    def __init__(self, capacity: int, seed: int = 0):
        self.capacity = V.positive_int("capacity (replay buffer size)", capacity)
        self.seed = V.seed("seed", seed)
        self.reset()

    def reset(self):
        """Empty the reservoir and restart its draws from ``seed``."""
        self.rng = numpy.random.default_rng(self.seed)
        self.x = self.y = None
        self.n_seen = 0

    def __len__(self):
        return 0 if self.y is None else len(self.y)

    def add(self, x, y):
        """Offer the examples (x, y) to the reservoir, in order."""
        xp = B.get_array_module(x)
        n = len(y)
        t = self.n_seen + numpy.arange(n)             # stream index of each example
        free = max(0, min(self.capacity - len(self), n))
        if free:                                      # fill the empty slots first
            xs, ys = x[:free], y[:free]
            self.x = xs.copy() if self.x is None else xp.concatenate([self.x, xs])
            self.y = ys.copy() if self.y is None else xp.concatenate([self.y, ys])
        j = self.rng.integers(0, t[free:] + 1) if n > free else numpy.array([], dtype=int)
        for src, slot in zip(numpy.nonzero(j < self.capacity)[0] + free, j[j < self.capacity]):
            self.x[int(slot)] = x[int(src)]
            self.y[int(slot)] = y[int(src)]
        self.n_seen += n

    def sample(self, n: int):
        """n examples drawn uniformly (with replacement) from the buffer."""
        if not len(self):
            raise RuntimeError("the replay buffer is empty")
        idx = B.get_array_module(self.y).asarray(self.rng.integers(0, len(self), int(n)))
        return self.x[idx], self.y[idx]


class ExperienceReplay(Strategy):
    """Rehearsal: every minibatch of the current task is joined by as many
    examples drawn from a reservoir of ``capacity`` examples of earlier tasks,

        L = L_task(current batch) + L_task(replayed batch)   (one batch, averaged)

    ``replay_batch``: examples replayed per step (default: the batch size).
    """

    name = "replay"

    def __init__(self, capacity: int = 200, replay_batch: int | None = None, seed: int = 0):
        self.buffer = ReplayBuffer(capacity, seed=seed)
        self.capacity = self.buffer.capacity
        self.replay_batch = None if replay_batch is None else V.positive_int("replay_batch", replay_batch)

    def reset(self):
        """An empty reservoir, its draws restarted from ``seed``."""
        self.buffer.reset()

    def prepare(self, tasks):
        if self.capacity > tasks.n_train:
            raise ValueError(f"replay buffer capacity {self.capacity} is larger than all the training data "
                             f"of the sequence ({tasks.n_train} examples); use a smaller capacity")

    def batch(self, x, y):
        if not len(self.buffer):
            return x, y
        xr, yr = self.buffer.sample(self.replay_batch or len(y))
        xp = B.get_array_module(x)
        return xp.concatenate([x, xr]), xp.concatenate([y, yr])

    def end_task(self, net, i, task):
        self.buffer.add(task.x_train, task.y_train)
