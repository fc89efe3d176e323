"""Continual learning: the accuracy matrix R, its summaries, and the training loop.

One network is trained on tasks 0, 1, ..., T−1 in turn. After finishing task i
it is tested on every task j:

    R[i, j] = accuracy on the test set of task j after training task i.

Row i is a snapshot in time; column j is the life story of task j. From the
last row and the diagonal come the standard summaries (Lopez-Paz & Ranzato
2017; Chaudhry et al. 2018):

    average accuracy   A   = (1/T) Σ_j R[T−1, j]
    backward transfer  BWT = 1/(T−1) Σ_{j<T−1} (R[T−1, j] − R[j, j])   (negative = forgetting)
    forgetting         F   = 1/(T−1) Σ_{j<T−1} (max_{i<T−1} R[i, j] − R[T−1, j])

The max in F runs over i = j..T−2 (earlier rows, before task j was learnt,
are chance-level and never the max in practice, but are excluded anyway).

A learner is a network (``forward``, ``backward``, ``params``, ``grads`` — e.g.
:class:`~neurophys.models.mlp.MLP`) plus a :class:`Strategy` that decides what
data it sees and what is added to its gradient: fine-tuning (nothing), joint
training (all data so far), EWC and SI (:mod:`neurophys.learning.regularisers`),
experience replay (:mod:`neurophys.learning.replay`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy

from .. import backend as B
from .. import validate as V
from ..blocks import get_optimizer
from .regularisers import EWC, SI
from .replay import ExperienceReplay
from .strategy import FineTune, Joint, Strategy
from .tasks import TaskSequence


# ------------------------------------------------------------------ summaries of R
def _check_R(R):
    R = numpy.asarray(B.to_host(R), dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 1:
        raise ValueError(f"the accuracy matrix must be square (T, T), got shape {R.shape}")
    return R


def average_accuracy(R) -> float:
    """A = (1/T) Σ_j R[T−1, j]: mean test accuracy over all tasks at the end."""
    R = _check_R(R)
    return float(R[-1].mean())


def backward_transfer(R) -> float:
    """BWT = 1/(T−1) Σ_{j<T−1} (R[T−1, j] − R[j, j]).

    How much learning later tasks changed accuracy on earlier ones: negative is
    forgetting, positive is backward transfer. NaN for a single task.
    """
    R = _check_R(R)
    T = R.shape[0]
    if T < 2:
        return float("nan")
    return float(numpy.mean([R[-1, j] - R[j, j] for j in range(T - 1)]))


def forgetting_per_task(R):
    """f_j = max_{j ≤ i < T−1} R[i, j] − R[T−1, j] for j = 0..T−2 (a NumPy vector)."""
    R = _check_R(R)
    T = R.shape[0]
    return numpy.array([R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)])


def forgetting(R) -> float:
    """F = mean_j f_j, the best accuracy task j ever had minus its final accuracy
    (Chaudhry et al. 2018). With two tasks F = R[0, 0] − R[1, 0]. NaN for one task."""
    f = forgetting_per_task(R)
    return float(f.mean()) if f.size else float("nan")


def summarise(R) -> dict:
    """{'acc', 'bwt', 'forgetting'} of an accuracy matrix."""
    return {"acc": average_accuracy(R), "bwt": backward_transfer(R), "forgetting": forgetting(R)}


# ------------------------------------------------------------------ strategies
def get_strategy(name: str, **kwargs) -> Strategy:
    """A strategy by name: finetune, joint, ewc, si, replay (keyword arguments go to it)."""
    table = {"finetune": FineTune, "joint": Joint, "ewc": EWC, "si": SI, "replay": ExperienceReplay}
    if name not in table:
        raise ValueError(f"unknown strategy {name!r}; valid names are: {', '.join(table)}")
    return table[name](**kwargs)


# ------------------------------------------------------------------ the loop
@dataclass
class ContinualResult:
    """The accuracy matrix of one run and what produced it."""

    R: numpy.ndarray
    task_names: list
    strategy: str
    seconds: float
    loss_history: list = field(default_factory=list)

    @property
    def summary(self) -> dict:
        return summarise(self.R)


def evaluate(net, x, y, batch_size: int = 2000) -> float:
    """Test accuracy of ``net`` on (x, y), forwarded in batches."""
    if len(y) == 0:
        raise V.NeurophysInputError("the test set is empty (0 labels); every task needs test examples")
    if len(x) != len(y):
        raise V.NeurophysInputError(f"x has {len(x)} examples but y has {len(y)} labels")
    correct = 0
    for start in range(0, len(y), batch_size):
        z = net.forward(x[start:start + batch_size])
        yb = V.labels("y", y[start:start + batch_size], z.shape[1], n=z.shape[0])
        correct += int((z.argmax(axis=1) == yb).sum())
    return correct / len(y)


def train_task(net, x, y, strategy: Strategy, opt, epochs: int, batch_size: int, rng, losses=None,
               where: str = ""):
    """Train on one task's data: ``epochs`` calls of ``net.learn`` (minibatch steps on L_task + Ω,
    Ω from ``strategy``):

        θ ← opt(θ, ∂L_task/∂θ + ∂Ω/∂θ)

    ``net`` is a :class:`~neurophys.blocks.base.Classifier` (MLP, DLM, PhysNet). ``rng`` is a
    NumPy generator for the shuffles. Appends the mean task loss of each epoch to ``losses``
    if given. A diverging run raises :class:`~neurophys.validate.DivergenceError`.
    """
    for e in range(V.positive_int("epochs", epochs)):
        info = net.learn(x, y, opt, batch_size=batch_size, rng=rng, strategy=strategy,
                         where=f"{where + ', ' if where else ''}epoch {e}")
        if losses is not None:
            losses.append(info["loss"])


def train_sequence(net, tasks: TaskSequence, strategy: Strategy | str = "finetune", epochs: int = 1,
                   batch_size: int = 64, optimizer: str = "adam", lr: float = 1e-3,
                   reset_optimizer: bool = True, rng=None, progress=None,
                   optimizer_kwargs: dict | None = None) -> ContinualResult:
    """Train ``net`` on ``tasks`` in order and fill the accuracy matrix R (T × T).

    epochs, batch_size: positive integers (epochs per task, examples per minibatch).
    optimizer / lr / optimizer_kwargs: a fresh ``get_optimizer(optimizer, lr=lr,
    **optimizer_kwargs)`` per task when ``reset_optimizer`` (else one for the
    whole sequence). ``rng``: NumPy generator, or a seed (an integer >= 0), for the
    minibatch shuffles; None means seed 0, so two identical calls give the same R.
    ``progress``: an optional wrapper for the task loop (e.g. ``ctx.progress``).

    The strategy is ``reset()`` first: a strategy object reused for a second sequence
    starts with no springs, importances or memories of the first (and its own draws
    restart from its seed), exactly as a fresh one.
    """
    if not isinstance(tasks, TaskSequence):
        tasks = TaskSequence(tasks)
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    epochs = V.positive_int("epochs", epochs)
    batch_size = V.positive_int("batch_size", batch_size)
    if not isinstance(rng, numpy.random.Generator):
        rng = numpy.random.default_rng(0 if rng is None else V.seed("rng", rng))
    if hasattr(strategy, "reset"):
        strategy.reset()
    strategy.prepare(tasks)
    T = len(tasks)
    R = numpy.full((T, T), numpy.nan)
    losses: list = []
    t0 = time.time()
    opt = get_optimizer(optimizer, lr=lr, **(optimizer_kwargs or {}))
    loop = range(T) if progress is None else progress(range(T), desc=strategy.name)
    for i in loop:
        x, y = strategy.training_data(i, tasks)
        strategy.begin_task(net, i, tasks[i])
        if reset_optimizer and i > 0:
            opt = get_optimizer(optimizer, lr=lr, **(optimizer_kwargs or {}))
        train_task(net, x, y, strategy, opt, epochs, batch_size, rng, losses, where=f"task {i}")
        strategy.end_task(net, i, tasks[i])
        for j, task in enumerate(tasks):
            R[i, j] = evaluate(net, task.x_test, task.y_test)
    return ContinualResult(R, [t.name for t in tasks], strategy.name, time.time() - t0, losses)
