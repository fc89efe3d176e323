"""Misuse of the continual-learning loop and the optimizers: reused strategies, shared optimizers,
hyperparameters that only fail later, counts that were silently truncated."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks import SGD, Adam
from neurophys.learning.continual import train_sequence, train_task
from neurophys.learning.regularisers import EWC, SI
from neurophys.learning.replay import ExperienceReplay
from neurophys.learning.strategy import Strategy
from neurophys.learning.tasks import gaussian_cluster_tasks
from neurophys.models.mlp import MLP
from neurophys.validate import NeurophysInputError

TASKS = gaussian_cluster_tasks(n_samples=60, n_features=6, n_classes=3)


def _R(strategy, rng=0, **kw):
    net = MLP([6, 8, 3], rng=B.rng(0))
    kw = {"epochs": 3, "batch_size": 16, "lr": 0.05, **kw}
    return train_sequence(net, TASKS, strategy=strategy, rng=rng, **kw).R


# ------------------------------------------------------------------ 1. a strategy reused for a second sequence
@pytest.mark.parametrize("make", [lambda: EWC(lam=100.0, n_fisher=50, seed=3),
                                  lambda: EWC(lam=100.0, n_fisher=40, fisher="true", decay=0.9, seed=1),
                                  lambda: SI(c=1.0),
                                  lambda: ExperienceReplay(capacity=20, seed=2)],
                         ids=["ewc", "ewc-true-fisher", "si", "replay"])
def test_a_reused_strategy_gives_what_a_fresh_one_gives(make):
    reused = make()
    first = _R(reused)
    second = _R(reused)                   # was: the first run's springs / importances / memory carried over
    fresh = _R(make())
    assert numpy.array_equal(first, fresh)
    assert numpy.array_equal(second, fresh)


def test_a_reused_replay_strategy_does_not_replay_later_tasks_into_task_0():
    replay = ExperienceReplay(capacity=20, seed=0)
    _R(replay)
    assert len(replay.buffer) == 20
    replay.reset()
    assert len(replay.buffer) == 0 and replay.buffer.n_seen == 0
    a = replay.buffer.rng.integers(0, 1 << 30, 4)
    assert numpy.array_equal(a, numpy.random.default_rng(0).integers(0, 1 << 30, 4))   # draws from the seed


def test_a_strategy_without_state_still_has_reset():
    Strategy().reset()                    # the hook exists for custom strategies (no-op)


# ------------------------------------------------------------------ 2. one optimizer, two models
# an optimizer with per-parameter state, of each kind
EACH_OPTIMIZER = pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.01)],
                                         ids=["sgd", "adam"])


def _data():
    rng = numpy.random.default_rng(0)
    return rng.standard_normal((6, 4)).astype(numpy.float32), numpy.array([0, 1, 2, 0, 1, 2])


@EACH_OPTIMIZER
def test_a_shared_optimizer_refuses_a_second_model(make):
    x, y = _data()
    a, b = MLP([4, 5, 3], rng=B.rng(0)), MLP([4, 5, 3], rng=B.rng(0))
    opt = make()
    a.learn(x, y, opt)
    before = {k: v.copy() for k, v in b.params.items()}
    with pytest.raises(NeurophysInputError, match=rf"{type(opt).__name__}.*another array.*one optimizer per model"):
        b.learn(x, y, opt)
    assert all(numpy.array_equal(before[k], v) for k, v in b.params.items())   # nothing moved
    a.learn(x, y, opt)                    # the first model goes on with its own state


@EACH_OPTIMIZER
def test_a_shared_optimizer_and_a_wider_model_is_a_named_error_not_a_broadcast_error(make):
    x, y = _data()
    a, d = MLP([4, 5, 3], rng=B.rng(0)), MLP([4, 7, 3], rng=B.rng(0))
    opt = make()
    a.learn(x, y, opt)
    with pytest.raises(NeurophysInputError, match=r"parameter 'W0'.*shape \(4, 5\).*shape \(4, 7\)"):
        d.learn(x, y, opt)


@EACH_OPTIMIZER
def test_reset_starts_the_optimizer_afresh_on_new_arrays(make):
    x, y = _data()
    a, b, c = (MLP([4, 5, 3], rng=B.rng(0)) for _ in range(3))
    opt = make()
    for _ in range(3):
        a.learn(x, y, opt)
    opt.reset()
    own = make()
    for _ in range(3):
        b.learn(x, y, opt)
        c.learn(x, y, own)
    assert all(numpy.array_equal(b.params[k], c.params[k]) for k in b.params)   # b as with its own optimizer


def test_one_optimizer_with_new_dicts_of_the_same_arrays_is_still_one_model():
    """Callers that build the params dict afresh each step (Sequential.params, EqPropNet's layers)
    pass the same arrays: that is one model, not two."""
    W = numpy.random.default_rng(1).standard_normal((3, 2))
    ref = W.copy()
    kept = {"W": ref}
    opt, own = SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9)
    for _ in range(3):
        opt.step({"W": W}, {"W": 2 * W})            # a new dict each step, the same array
        own.step(kept, {"W": 2 * ref})
    assert numpy.array_equal(W, ref)


# ------------------------------------------------------------------ 3. optimizer hyperparameters
@pytest.mark.parametrize("build, name", [
    (lambda: Adam(0.01, eps=0), "eps"),
    (lambda: Adam(0.01, eps=-1e-8), "eps"),
    (lambda: Adam(0.01, eps=float("nan")), "eps"),
    (lambda: Adam(0.01, beta1=1.0), "beta1"),
    (lambda: Adam(0.01, beta2=float("nan")), "beta2"),
    (lambda: Adam(0.01, beta2=-0.1), "beta2"),
    (lambda: Adam(0.01, weight_decay=float("nan")), "weight_decay"),
    (lambda: Adam(0.01, weight_decay=-1.0), "weight_decay"),
    (lambda: SGD(0.1, weight_decay=float("nan")), "weight_decay"),
    (lambda: SGD(0.1, weight_decay=-5.0), "weight_decay"),
    (lambda: SGD(0.1, weight_decay=float("inf")), "weight_decay"),
    (lambda: SGD(0.1, momentum=float("nan")), "momentum"),
    (lambda: SGD(0.1, momentum=-0.5), "momentum"),
    (lambda: SGD(0.1, momentum=1.0), "momentum"),
    (lambda: SGD(0.1, momentum="0.9"), "momentum"),
])
def test_optimizer_hyperparameters_are_checked_at_construction(build, name):
    with pytest.raises(NeurophysInputError, match=rf"^{name}\b"):
        build()


def test_valid_optimizer_hyperparameters_are_kept():
    opt = Adam(0.01, beta1=0.0, beta2=0.5, eps=1e-6, weight_decay=0.0)
    assert (opt.beta1, opt.beta2, opt.eps, opt.weight_decay) == (0.0, 0.5, 1e-6, 0.0)
    opt = SGD(0.1, momentum=0, weight_decay=1e-4)
    assert (opt.momentum, opt.weight_decay) == (0.0, 1e-4)


# ------------------------------------------------------------------ 4. counts and seeds of train_sequence
@pytest.mark.parametrize("kw, name", [({"epochs": 1.7}, "epochs"), ({"epochs": 0}, "epochs"),
                                      ({"epochs": "2"}, "epochs"), ({"batch_size": 2.5}, "batch_size"),
                                      ({"batch_size": 0}, "batch_size"), ({"rng": -1}, "rng"),
                                      ({"rng": 1.5}, "rng")])
def test_train_sequence_refuses_bad_counts_and_seeds(kw, name):
    with pytest.raises(NeurophysInputError, match=rf"^{name}\b"):
        train_sequence(MLP([6, 8, 3], rng=B.rng(0)), TASKS, **{"batch_size": 16, **kw})


def test_train_task_refuses_a_fractional_epoch_count():
    net = MLP([6, 8, 3], rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match="^epochs"):
        train_task(net, TASKS[0].x_train, TASKS[0].y_train, Strategy(), SGD(0.1), 1.7, 16,
                   numpy.random.default_rng(0))


def test_train_sequence_with_rng_none_is_seed_0():
    runs = [_R("finetune", rng=None, epochs=2, batch_size=8) for _ in range(2)]
    assert numpy.array_equal(runs[0], runs[1])
    assert numpy.array_equal(runs[0], _R("finetune", rng=0, epochs=2, batch_size=8))


def test_whole_float_epochs_are_still_accepted():
    assert numpy.array_equal(_R("finetune", epochs=2.0), _R("finetune", epochs=2))


# ------------------------------------------------------------------ 5. regulariser strengths
@pytest.mark.parametrize("build, name", [
    (lambda: EWC(lam=float("nan")), "lam"), (lambda: EWC(lam=-1.0), "lam"), (lambda: EWC(lam=float("inf")), "lam"),
    (lambda: EWC(k_max=float("nan")), "k_max"), (lambda: EWC(k_max=0.0), "k_max"),
    (lambda: EWC(n_fisher=2.5), "n_fisher"), (lambda: EWC(n_fisher=0), "n_fisher"),
    (lambda: EWC(decay=float("nan")), "decay"), (lambda: EWC(decay=1.5), "EWC decay"),
    (lambda: SI(c=float("nan")), "c"), (lambda: SI(c=-0.1), "c"), (lambda: SI(xi=0.0), "xi"),
    (lambda: SI(xi=float("nan")), "xi"), (lambda: SI(k_max=float("nan")), "k_max"),
])
def test_regulariser_strengths_are_checked(build, name):
    with pytest.raises(NeurophysInputError, match=rf"^{name}\b"):
        build()


def test_regulariser_defaults_and_limits_are_still_accepted():
    assert EWC().k_max == float("inf") and SI().k_max == float("inf")
    assert EWC(lam=0.0).lam == 0.0 and SI(c=0).c == 0.0
    assert EWC(k_max=10.0, decay=1.0).k_max == 10.0


def test_replay_and_joint_counts_and_seeds_are_checked_by_name():
    from neurophys.learning.replay import ExperienceReplay, ReplayBuffer
    from neurophys.learning.strategy import Joint
    from neurophys.validate import NeurophysInputError
    with pytest.raises(NeurophysInputError, match="capacity"):
        ReplayBuffer(2.5)                                   # was: silently 2
    with pytest.raises(NeurophysInputError, match="replay_batch"):
        ExperienceReplay(capacity=20, replay_batch=0)
    with pytest.raises(NeurophysInputError, match="seed"):
        Joint(seed=-1)
    assert ReplayBuffer(4.0).capacity == 4 and ExperienceReplay(capacity=20).replay_batch is None
