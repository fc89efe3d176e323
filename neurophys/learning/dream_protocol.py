"""Lesson 07's experiments (document 004, roadmap phase 1), one sweep *unit* each.

Lesson 07 trains EqProp networks that dream (label clamped, input free) and replays the
dreams against forgetting. Its work splits into units of :func:`neurophys.sweep.run_units`:

- :func:`dream_unit` — part 1, one network (``"classifier_only"`` or ``"both_directions"``)
  trained on all digits, its dreams judged by an independently trained referee MLP;
- :func:`dream_replay_unit` — part 2, one seed: task A (digits 0-4), then task B (5-9)
  without and with dreams of 0-4 mixed into every minibatch.

**One shuffling stream, as the lesson always drew it.** The lesson shuffles every
minibatch order (and draws every replayed dream) from one NumPy generator,
``host_rng(run_seed)``, consumed in a fixed order: the referee's 2 epochs, part 1's
classifier-only net, its both-directions net, then per part-2 seed task A, task B
without and task B with replay. A unit starts the generator afresh and *skips* the draws
of everything before it (:func:`skip_training_draws`: the same draws, without the
training; milliseconds), so every unit trains on exactly the batches it saw when the
lesson ran in one process — the numbers do not depend on which units ran, in what order,
or where. :func:`batch_plan` is the one place these draws are made, for training and
for skipping alike.

The settings (``hidden``, ``n_train``, ``epochs``, ...) are the lesson's dict, passed as
keyword arguments (``functools.partial``), so they are stored with each finished unit.
"""
from __future__ import annotations

import copy
import functools
import time

import numpy

from .. import backend as B
from ..blocks import Adam, softmax_cross_entropy_grad
from ..data import load_mnist, minibatch_indices
from ..models.eqprop import EqPropNet
from ..models.mlp import MLP
from ..validate import DivergenceError

__all__ = ["PART1_NETS", "REFEREE_EPOCHS", "REFEREE_BATCH", "batch_plan", "skip_training_draws", "make_net",
           "train", "train_referee", "dreams_of", "task_split", "dream_unit", "dream_replay_unit"]

PART1_NETS = {"classifier_only": (1, False), "both_directions": (2, True)}   # name: (rng offset, generative)
REFEREE_EPOCHS, REFEREE_BATCH = 2, 64


# ------------------------------------------------------------------ the shuffling stream
def batch_plan(n: int, batch_size: int, epochs: int, host, replay_n: int | None = None, replay_per_batch: int = 32):
    """Yield ``(idx, r)`` for every minibatch of ``epochs`` passes over ``n`` examples: ``idx``
    from ``minibatch_indices`` (one permutation per epoch, drawn from ``host``), and ``r`` the
    indices of ``replay_per_batch`` replayed examples out of ``replay_n`` (None without replay),
    drawn from ``host`` after the batch's indices — the order the lesson's training loop uses."""
    for _ in range(int(epochs)):
        for idx in minibatch_indices(n, batch_size, host):
            r = None if replay_n is None else host.integers(0, replay_n, replay_per_batch)
            yield idx, r


def skip_training_draws(host, n: int, batch_size: int, epochs: int, replay_n: int | None = None,
                        replay_per_batch: int = 32) -> None:
    """Advance ``host`` past the draws of a training run (:func:`batch_plan`) without training."""
    for _ in batch_plan(n, batch_size, epochs, host, replay_n, replay_per_batch):
        pass


def make_net(settings: dict, run_seed: int, offset: int = 0) -> EqPropNet:
    """The lesson's 784-hidden-10 EqProp net, initialised from ``B.rng(run_seed + offset)``."""
    s = settings
    return EqPropNet([784, s["hidden"], 10], eps=s["eps"], n_free=s["n_free"], n_nudged=s["n_nudged"],
                     beta=s["beta"], lr=s["lr"], rng=B.rng(run_seed + offset))


def train(net, x, y, epochs, settings: dict, host, generative: bool = True, replay=None, progress=None, desc=""):
    """EqProp epochs; ``generative=True`` adds the label→image step after every discriminative
    step; ``replay = (x_dream, y_dream)`` mixes ``replay_per_batch`` of them into every minibatch."""
    bs, xp = settings["batch_size"], B.xp()
    total = int(epochs) * -(-len(x) // bs)
    bar = progress(total=total, desc=desc, unit="batch") if progress is not None else None
    replay_n = None if replay is None else len(replay[0])
    for idx, r in batch_plan(len(x), bs, epochs, host, replay_n, settings["replay_per_batch"]):
        if bar is not None:
            bar.update(1)
        xb, yb = x[idx], y[idx]
        if replay is not None:
            r = xp.asarray(r)
            xb = xp.concatenate([xb, replay[0][r]])
            yb = xp.concatenate([yb, replay[1][r]])
        net.train_step(xb, yb)
        if generative:
            net.train_generative_step(x[idx], y[idx], lr_scale=settings["generative_lr_scale"],
                                      label_scale=settings["label_scale"])
    if bar is not None:
        bar.close()


def train_referee(x_train, y_train, run_seed: int, host) -> MLP:
    """The independent judge: a 784-256-10 ReLU MLP, Adam 1e-3, 2 epochs of batches of 64, by backprop."""
    referee = MLP([784, 256, 10], activation="relu", rng=B.rng(run_seed + 7))
    opt = Adam(1e-3)
    for _ in range(REFEREE_EPOCHS):
        for idx in minibatch_indices(len(x_train), REFEREE_BATCH, host):
            z = referee.forward(x_train[idx])
            referee.backward(softmax_cross_entropy_grad(z, y_train[idx]))
            opt.step(referee.params, referee.grads)
    return referee


def dreams_of(net, digits, n_each: int, settings: dict, run_seed: int, offset: int = 0):
    """``n_each`` dreams per digit (label clamped at ``label_scale``, noise from ``B.rng(run_seed + 100 + offset)``)."""
    labels = B.xp().asarray(numpy.repeat(numpy.asarray(digits), n_each))
    x = net.dream(labels, n_steps=settings["n_free"], noise=settings["dream_noise"],
                  rng=B.rng(run_seed + 100 + offset), label_scale=settings["label_scale"])
    return x, labels


def task_split(x_train, y_train, x_test, y_test):
    """Task A = digits 0-4, task B = 5-9: ((x, y) train A, train B, test A, test B)."""
    xp = B.xp()
    first = xp.asarray(B.to_host(y_train) < 5)
    test_first = xp.asarray(B.to_host(y_test) < 5)
    return ((x_train[first], y_train[first]), (x_train[~first], y_train[~first]),
            (x_test[test_first], y_test[test_first]), (x_test[~test_first], y_test[~test_first]))


@functools.lru_cache(maxsize=2)
def _mnist(n_train, n_test):
    return load_mnist(n_train=n_train, n_test=n_test)


def _bank_size(settings: dict) -> int:
    return 5 * max(settings["dreams_per_digit"], 200)


def _skip_part1_nets(host, settings: dict, n_train: int, upto: str | None = None) -> None:
    """Advance ``host`` past the part-1 nets before ``upto`` (all of them if None)."""
    for name in PART1_NETS:
        if name == upto:
            return
        skip_training_draws(host, n_train, settings["batch_size"], settings["epochs"])


# ------------------------------------------------------------------ the units
def dream_unit(net: str, *, run_seed: int = 0, progress=None, **settings) -> dict:
    """Part 1, one network: train ``net`` ("classifier_only": the usual EqProp step only;
    "both_directions": plus the generative step) on all training digits, dream
    ``dreams_per_digit`` images per digit and let a referee MLP (trained first, on the same
    images) judge them. Returns the accuracies, the dreams' recognition by the referee and by
    the dreamer itself, their within-digit pixel spread, and two dreams per digit for a figure."""
    if net not in PART1_NETS:
        raise ValueError(f"net must be one of {tuple(PART1_NETS)}, got {net!r}")
    offset, generative = PART1_NETS[net]
    x_train, y_train, x_test, y_test = _mnist(settings["n_train"], settings["n_test"])
    host = B.host_rng(run_seed)
    referee = train_referee(x_train, y_train, run_seed, host)
    referee_acc = float(B.to_host((referee.forward(x_test).argmax(axis=1) == y_test).mean()))
    _skip_part1_nets(host, settings, len(x_train), upto=net)
    t0 = time.perf_counter()
    model = make_net(settings, run_seed, offset)
    train(model, x_train, y_train, settings["epochs"], settings, host, generative=generative, progress=progress,
          desc=net.replace("_", " "))
    train_seconds = time.perf_counter() - t0
    n_each = settings["dreams_per_digit"]
    xd, yd = dreams_of(model, range(10), n_each, settings, run_seed)
    said = referee.forward(xd).argmax(axis=1)
    show = numpy.arange(0, len(yd), n_each // 2)      # two dreams per digit
    return {
        "test_accuracy": float(model.accuracy(x_test, y_test)),
        "referee_test_accuracy": referee_acc,
        "recognised": float(B.to_host((said == yd).mean())),
        "self_read": float(B.to_host((model.classify(xd) == yd).mean())),   # the dreamer's own free phase
        "diversity": float(B.to_host(xd.reshape(10, -1, 784).std(axis=1).mean())),
        "train_seconds": train_seconds,
        "show_images": B.to_host(xd)[show].tolist(), "show_labels": B.to_host(yd)[show].tolist(),
        "show_referee": B.to_host(said)[show].tolist(),
    }


def _diverged(message: str) -> dict:
    """A mode whose training diverged: the library's message, and no accuracies."""
    return {"diverged": message, "acc_a": None, "acc_b": None, "acc_all": None, "forgetting": None}


def dream_replay_unit(seed: int, *, run_seed: int = 0, progress=None, **settings) -> dict:
    """Part 2, one seed: learn digits 0-4 (task A), dream a bank of ``5 * max(dreams_per_digit, 200)``
    images of them, then learn 5-9 (task B) from a copy of that network twice — without replay
    and with ``replay_per_batch`` dreams mixed into every minibatch. ``seed`` must be one of
    ``settings["seeds"]`` (it fixes the net's initialisation, ``B.rng(run_seed + 3 + 10 seed)``,
    and its place in the shuffling stream). Returns the accuracy on task A after A, and per
    mode the accuracies on A, B and all digits after B and the forgetting of A (a mode whose
    training diverges records ``"diverged"``, the library's message, and None accuracies; when
    task A diverges, both modes record it and the accuracy after A is None)."""
    seeds = list(settings["seeds"])
    if seed not in seeds:
        raise ValueError(f"seed {seed} is not one of the settings' seeds {seeds}")
    x_train, y_train, x_test, y_test = _mnist(settings["n_train"], settings["n_test"])
    task_a, task_b, test_a, test_b = task_split(x_train, y_train, x_test, y_test)
    bs, e_task, n_bank = settings["batch_size"], settings["epochs_task"], _bank_size(settings)
    host = B.host_rng(run_seed)
    skip_training_draws(host, len(x_train), REFEREE_BATCH, REFEREE_EPOCHS)   # the referee's
    _skip_part1_nets(host, settings, len(x_train))
    for earlier in seeds[:seeds.index(seed)]:
        skip_training_draws(host, len(task_a[0]), bs, e_task)
        skip_training_draws(host, len(task_b[0]), bs, e_task)
        skip_training_draws(host, len(task_b[0]), bs, e_task, n_bank, settings["replay_per_batch"])
    net_a = make_net(settings, run_seed, 3 + 10 * seed)
    try:
        train(net_a, *task_a, e_task, settings, host, progress=progress, desc=f"task A (0-4), seed {seed}")
    except DivergenceError as err:   # task A itself diverged: neither mode can be measured for this seed
        return {"acc_a_after_a": None, "no_replay": _diverged(f"task A: {err}"),
                "dream_replay": _diverged(f"task A: {err}")}
    run = {"acc_a_after_a": float(net_a.accuracy(*test_a))}
    bank = dreams_of(net_a, range(5), n_bank // 5, settings, run_seed, offset=1 + seed)   # dreamt after task A
    for mode, replay in (("no_replay", None), ("dream_replay", bank)):
        net = copy.deepcopy(net_a)
        stream = host.bit_generator.state
        try:
            train(net, *task_b, e_task, settings, host, replay=replay, progress=progress,
                  desc=f"task B ({mode}), seed {seed}")
        except DivergenceError as err:   # a result, recorded: this mode's accuracies are not measured
            run[mode] = _diverged(str(err))
            # leave the shuffling stream where a finished mode leaves it, so the next mode sees the same batches
            host.bit_generator.state = stream
            skip_training_draws(host, len(task_b[0]), bs, e_task,
                                *((n_bank, settings["replay_per_batch"]) if replay is not None else ()))
            continue
        r = dict(acc_a=float(net.accuracy(*test_a)), acc_b=float(net.accuracy(*test_b)),
                 acc_all=float(net.accuracy(x_test, y_test)))
        r["forgetting"] = run["acc_a_after_a"] - r["acc_a"]
        run[mode] = r
    return run
