"""Surprise gating: relaxation steps are counted exactly, and the pooled gate skips whole nudged phases."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.learning.surprise import PooledGate, SurpriseGate, gated_train_step, surprise_unit, ungated_steps
from neurophys.models.eqprop import EqPropNet


def _data(n=96, seed=0):
    rng = numpy.random.default_rng(seed)
    return B.asarray(rng.random((n, 20))), B.xp().asarray(rng.integers(0, 3, n))


def _net(seed=0):
    return EqPropNet([20, 16, 3], n_free=5, n_nudged=2, beta=0.5, lr=[0.2, 0.1], rng=B.rng(seed))


def test_ungated_counts_match_plain_eqprop():
    x, y = _data()
    net, counter = _net(), {}
    for start in range(0, 96, 32):
        gated_train_step(net, x[start:start + 32], y[start:start + 32], SurpriseGate(None), counter)
    assert counter == ungated_steps(net, 96, 32) == {"example_steps": 96 * 9, "batch_steps": 3 * 9}


def test_per_batch_gate_saves_examples_not_calls_and_pool_saves_both():
    x, y = _data()
    net, counter = _net(), {}
    gate = SurpriseGate(0.3, 1.0)
    ks = [gated_train_step(net, x[s:s + 32], y[s:s + 32], gate, counter)["n_learned"] for s in range(0, 96, 32)]
    assert counter["example_steps"] == 96 * 5 + sum(ks) * 4
    assert counter["batch_steps"] == 3 * 5 + sum(1 for k in ks if k) * 4
    pool = PooledGate(_net(), gate, batch_size=32)
    infos = [pool.step(x[s:s + 32], y[s:s + 32]) for s in range(0, 96, 32)]
    waiting = sum(i["n_surprising"] for i in infos) - pool.n_learned
    assert 0 <= waiting < 32 and pool.n_learned == 32 * pool.n_updates
    assert pool.counter == {"example_steps": 96 * 5 + pool.n_learned * 4, "batch_steps": 3 * 5 + pool.n_updates * 4}
    before = {k: v.copy() for k, v in pool.net.params.items()}
    pool.flush()
    assert pool.n_learned == sum(i["n_surprising"] for i in infos)
    assert waiting == 0 or any(not numpy.array_equal(before[k], pool.net.params[k]) for k in before)


def test_pooled_gate_refuses_no_threshold_and_bad_scale():
    with pytest.raises(ValueError, match="threshold"):
        PooledGate(_net(), SurpriseGate(None))
    with pytest.raises(ValueError, match="scale"):
        PooledGate(_net(), SurpriseGate(0.1), scale="nope")


def test_surprise_unit_small_run():
    kw = dict(hidden=32, n_train=600, n_test=200, epochs=2, n_free=5, n_nudged=2)
    runs = {m: surprise_unit(m, 0, **kw) for m in ("ungated", "gated", "pooled")}
    assert runs["ungated"]["example_steps"] == runs["ungated"]["ungated_example_steps"] == 2 * 600 * 9
    assert runs["ungated"]["skipped"] == 0
    for m in ("gated", "pooled"):
        assert runs[m]["example_steps"] < runs[m]["ungated_example_steps"]
    assert runs["gated"]["batch_steps"] >= runs["pooled"]["batch_steps"]
    assert all(r["test_accuracy"] > 0.3 for r in runs.values())        # learning happened (chance 0.1)
