"""The strategy of a continual learner: what data it sees and what is added to its gradient.

:class:`Strategy` is plain fine-tuning and holds the hooks every other strategy overrides
(:mod:`neurophys.learning.regularisers`: EWC, SI; :mod:`neurophys.learning.replay`);
:class:`Joint` is the multitask upper bound. The loop that calls the hooks is
:func:`neurophys.learning.continual.train_sequence`; pick a strategy by name with
:func:`neurophys.learning.continual.get_strategy`.
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import validate as V
from .tasks import TaskSequence


class Strategy:
    """Plain fine-tuning, and the hooks every other strategy overrides.

    The loop calls ``reset`` and ``prepare`` once, then per task i: ``training_data``
    → ``begin_task`` → for every minibatch: ``batch`` (what the net sees), backward of the task loss,
    ``add_penalty_grads`` (∂Ω/∂θ added to the gradient), optimizer step,
    ``after_update`` → ``end_task``.
    """

    name = "finetune"

    def reset(self) -> None:
        """Forget everything learnt from earlier runs (springs, importances, memories) and restart
        the strategy's own random draws from its seed: a strategy reused for a second sequence then
        behaves exactly as a fresh one. Called by ``train_sequence`` before ``prepare``."""

    def prepare(self, tasks: TaskSequence) -> None:
        """Check the strategy fits the sequence (called once before task 0, after ``reset``)."""

    def training_data(self, i: int, tasks: TaskSequence):
        return tasks[i].x_train, tasks[i].y_train

    def begin_task(self, net, i: int, task) -> None:
        pass

    def batch(self, x, y):
        return x, y

    def penalty(self, params) -> float:
        """Ω(θ), the regulariser's value (0 for fine-tuning)."""
        return 0.0

    def add_penalty_grads(self, params, grads) -> None:
        """grads[k] += ∂Ω/∂θ_k in place (nothing for fine-tuning)."""

    def after_update(self, net, task_grads) -> None:
        pass

    def end_task(self, net, i: int, task) -> None:
        pass


FineTune = Strategy


class Joint(Strategy):
    """Joint (multitask) training, the upper bound: at task i the net trains on
    the union of tasks 0..i, so nothing it learnt is ever out of sight.

    same_steps=True draws, at stage i, a random subset of that union as large as
    task i alone, so joint training costs as many updates as every other
    method (the comparison is at equal compute).
    """

    name = "joint"

    def __init__(self, same_steps: bool = True, seed: int = 0):
        self.same_steps, self.seed = bool(same_steps), V.seed("seed", seed)

    def training_data(self, i, tasks):
        xp = B.get_array_module(tasks[0].x_train)
        x = xp.concatenate([t.x_train for t in tasks[:i + 1]])
        y = xp.concatenate([t.y_train for t in tasks[:i + 1]])
        if self.same_steps and i > 0:
            idx = numpy.random.default_rng(self.seed + i).choice(len(y), len(tasks[i].y_train), replace=False)
            idx = xp.asarray(numpy.sort(idx))
            x, y = x[idx], y[idx]
        return x, y
