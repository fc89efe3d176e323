"""Task sequences for continual learning: one network meets tasks 1, 2, ..., K in turn.

A :class:`Task` is a training set and a test set over a shared label space; a
:class:`TaskSequence` checks that every task speaks the same language (same
input size, same number of classes) before a learner ever sees it.

Builders
--------
- :func:`permuted_mnist`  — task k = MNIST with a fixed, seeded pixel permutation
  (task 0 is plain MNIST); same labels, new input geometry ("domain-incremental").
- :func:`split_mnist`     — task k = two digits; either relabelled 0/1 (one shared
  2-way head, domain-incremental) or kept as digits (class-incremental, 10-way).
- :func:`gaussian_cluster_tasks` — document 003's synthetic tasks: 20-D points
  around 5 class centres c_k ~ 2·N(0, I), x = c_y + N(0, I); one data seed per task.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from .. import backend as B
from ..data import load_mnist, permute_pixels, pixel_permutations


@dataclass
class Task:
    """One task: ``x_*`` of shape (N, n_in), integer labels ``y_*`` in 0..n_classes−1."""

    name: str
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    n_classes: int

    @property
    def n_in(self) -> int:
        return int(self.x_train.shape[1])

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2:
                raise ValueError(f"task {self.name!r}: x_{split} must have shape (N, n_in), got {tuple(x.shape)}")
            if y.shape != (x.shape[0],):
                raise ValueError(f"task {self.name!r}: y_{split} must have shape ({x.shape[0]},) to match "
                                 f"x_{split}, got {tuple(y.shape)}")
            if len(y) == 0:
                raise ValueError(f"task {self.name!r}: the {split} set is empty")
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= self.n_classes:
                raise ValueError(f"task {self.name!r}: y_{split} holds labels {lo}..{hi}, outside the label "
                                 f"space 0..{self.n_classes - 1}; relabel or raise n_classes")
        if self.x_test.shape[1] != self.x_train.shape[1]:
            raise ValueError(f"task {self.name!r}: train inputs have {self.x_train.shape[1]} features, "
                             f"test inputs {self.x_test.shape[1]}")


class TaskSequence(list):
    """A list of :class:`Task` that share one input size and one label space.

    Mismatched tasks are refused at construction (ValueError), so a learner can
    build one network (n_in → n_classes) for the whole sequence.
    """

    def __init__(self, tasks, name: str = "tasks"):
        tasks = list(tasks)
        if not tasks:
            raise ValueError("a task sequence needs at least one task")
        for t in tasks:
            if not isinstance(t, Task):
                raise TypeError(f"a task sequence holds Task objects, got {type(t).__name__}")
        first = tasks[0]
        for t in tasks[1:]:
            if t.n_in != first.n_in:
                raise ValueError(f"task {t.name!r} has {t.n_in} input features but task {first.name!r} has "
                                 f"{first.n_in}; every task in a sequence needs the same input size")
            if t.n_classes != first.n_classes:
                raise ValueError(f"task {t.name!r} has {t.n_classes} classes but task {first.name!r} has "
                                 f"{first.n_classes}; every task in a sequence needs the same label space")
        super().__init__(tasks)
        self.name = name

    @property
    def n_in(self) -> int:
        return self[0].n_in

    @property
    def n_classes(self) -> int:
        return self[0].n_classes

    @property
    def n_train(self) -> int:
        """Training examples summed over all tasks."""
        return int(sum(len(t.y_train) for t in self))


def permuted_mnist(n_tasks: int = 10, n_train: int | None = None, n_test: int | None = None,
                   seed: int = 0, normalise: str = "unit") -> TaskSequence:
    """K permuted-MNIST tasks: task k shows every image through pixel permutation π_k.

        x⁽ᵏ⁾[:, i] = x[:, π_k(i)],   π_0 = identity,   π_k fixed by ``seed``.

    ``n_train`` / ``n_test``: the first n MNIST images of each split (the same
    images for every task, seen through different permutations); None = all.
    """
    if int(n_tasks) < 1:
        raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
    x_tr, y_tr, x_te, y_te = load_mnist(normalise=normalise, n_train=n_train, n_test=n_test)
    tasks = []
    for k, perm in enumerate(pixel_permutations(int(n_tasks), seed=seed)):
        tasks.append(Task(f"perm{k}", permute_pixels(x_tr, perm), y_tr, permute_pixels(x_te, perm), y_te, 10))
    return TaskSequence(tasks, name=f"permuted MNIST ({n_tasks} tasks)")


SPLIT_MNIST_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))


def split_mnist(pairs=SPLIT_MNIST_PAIRS, n_train: int | None = None, n_test: int | None = None,
                relabel: bool = True, normalise: str = "unit") -> TaskSequence:
    """Split MNIST: task k holds only the digits ``pairs[k]``.

    relabel=True: labels become 0/1 (first/second digit of the pair), one 2-way
    head shared by all tasks (domain-incremental). relabel=False: the digits keep
    their labels in a 10-way head (class-incremental; much harder).
    """
    x_tr, y_tr, x_te, y_te = load_mnist(normalise=normalise, n_train=n_train, n_test=n_test)
    xp = B.get_array_module(x_tr)
    tasks = []
    for pair in pairs:
        pair = tuple(int(d) for d in pair)
        if any(not 0 <= d <= 9 for d in pair) or len(set(pair)) != len(pair):
            raise ValueError(f"split-MNIST pairs must be distinct digits 0..9, got {pair}")
        split = []
        for x, y in ((x_tr, y_tr), (x_te, y_te)):
            mask = xp.zeros(y.shape, dtype=bool)
            new_y = xp.zeros_like(y)
            for j, d in enumerate(pair):
                mask |= y == d
                new_y = xp.where(y == d, j if relabel else d, new_y)
            split += [x[mask], new_y[mask]]
        tasks.append(Task("split" + "".join(map(str, pair)), *split, n_classes=len(pair) if relabel else 10))
    return TaskSequence(tasks, name="split MNIST")


def gaussian_clusters(n_samples: int = 300, n_features: int = 20, n_classes: int = 5, seed: int = 42,
                      rng=None):
    """Document 003's synthetic classification data (its ``generate_synthetic_data``).

        X ~ N(0, I) (n_samples × n_features),   centres c_k ~ 2·N(0, I),
        y ~ Uniform{0..n_classes−1},            x_n ← x_n + c_{y_n}

    drawn in that order from one generator seeded by ``seed`` (the original uses
    ``torch.manual_seed(seed)``; a NumPy generator gives different numbers).
    Returns host NumPy arrays (X float64, y int64).
    """
    if min(int(n_samples), int(n_features), int(n_classes)) < 1:
        raise ValueError("n_samples, n_features and n_classes must all be >= 1")
    rng = numpy.random.default_rng(seed) if rng is None else rng
    X = rng.standard_normal((n_samples, n_features))
    centres = rng.standard_normal((n_classes, n_features)) * 2
    y = rng.integers(0, n_classes, n_samples)
    X += centres[y]
    return X, y.astype(numpy.int64)


def gaussian_cluster_tasks(seeds=(42, 123), n_samples: int = 300, n_features: int = 20,
                           n_classes: int = 5) -> TaskSequence:
    """Document 003's task sequence: one :func:`gaussian_clusters` set per data seed.

    Every task has its own class centres (seed 42 → task 1, seed 123 → task 2),
    the same 5-way label space. As in the original, accuracy is measured on the
    training data: ``x_test`` is ``x_train``.
    """
    tasks = []
    for s in seeds:
        X, y = gaussian_clusters(n_samples, n_features, n_classes, seed=int(s))
        X, y = B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)
        tasks.append(Task(f"clusters{s}", X, y, X, y, n_classes))
    return TaskSequence(tasks, name=f"Gaussian clusters (seeds {tuple(seeds)})")
