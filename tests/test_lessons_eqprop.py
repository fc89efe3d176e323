"""Quick-tier runs of the EqProp lessons 06-08: they finish, write results.json, and learn."""
import json

import pytest

from neurophys import backend as B
from neurophys import course
from neurophys import sweep


@pytest.fixture(autouse=True)
def _numpy():
    with B.using("numpy"):
        yield


def test_lesson_06_quick(tmp_path):
    res = course.run_lesson("06", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert m["test_accuracy"] > 0.75  # 3k images, 2 epochs, 100 hidden units
    assert m["seconds_per_epoch"] > 0 and m["epochs"] == 2
    assert m["free_energy_monotone"]
    assert 0 <= m["document_config_1epoch_test_accuracy"] <= 1
    assert (tmp_path / "learning_curves.png").exists() and (tmp_path / "relaxation_energy.png").exists()
    assert json.loads((tmp_path / "results.json").read_text())["lesson"] == "06"


class _Stopped(RuntimeError):
    """Stands for a killed run (not KeyboardInterrupt, which would stop pytest itself)."""


def _stop(**unit):
    raise _Stopped(f"stopped before unit {unit}")


def test_lesson_07_quick_and_resume(tmp_path, monkeypatch):
    """The quick tier learns; a run stopped after part 1's units and resumed writes the same results."""
    res = course.run_lesson("07", tier="quick", out=tmp_path / "whole")
    m = res["metrics"]
    assert 0 <= m["dream_recognised"] <= 1
    assert m["dream_recognised"] > m["dream_recognised_classifier_only"]  # training both ways makes dreams digits
    assert m["forgetting_no_replay"] > 0.2  # single head, 0-4 then 5-9: a lot is forgotten
    assert m["forgetting_dream_replay"] < m["forgetting_no_replay"]
    assert (tmp_path / "whole" / "dreams_both_directions.png").exists()
    assert len(list((tmp_path / "whole" / "part1").glob("*.json"))) == 2
    # a run that dies in part 2: part 1's units are on disk, no results.json
    import neurophys.learning.dream_protocol as D
    with monkeypatch.context() as mp:
        mp.setattr(D, "dream_replay_unit", _stop)
        with pytest.raises(sweep.SweepError, match="rerun with --resume") as info:
            course.run_lesson("07", tier="quick", out=tmp_path / "cut")
        assert isinstance(info.value.__cause__, _Stopped)
    assert len(list((tmp_path / "cut" / "part1").glob("*.json"))) == 2
    assert not (tmp_path / "cut" / "results.json").exists()
    again = course.run_lesson("07", tier="quick", out=tmp_path / "cut", resume=True)
    resumed = again["metrics"]
    timing = {"part1_seconds"}   # wall time of part 1's training, measured in each run's own units
    assert {k: v for k, v in resumed.items() if k not in timing} == {k: v for k, v in m.items() if k not in timing}
    # the cost reported is the whole sweep's, the units of the stopped run included
    unit_files = list((tmp_path / "cut").glob("part*/*.json"))
    assert len(unit_files) == len(list((tmp_path / "whole").glob("part*/*.json")))
    assert again["settings"]["units_cpu_seconds"] == pytest.approx(
        sum(json.loads(f.read_text())["cpu_seconds"] for f in unit_files), abs=0.1)


def test_lesson_07_units_match_one_serial_run():
    """A unit skips the shuffling draws of the units before it: its numbers are those of the
    lesson's serial order (referee, classifier-only, both directions, then part 2 seed by seed)."""
    import copy

    from neurophys.data import load_mnist
    from neurophys.learning import dream_protocol as D
    st = dict(hidden=12, n_train=300, n_test=200, epochs=1, epochs_task=1, batch_size=32, eps=1.0, n_free=4,
              n_nudged=2, beta=0.5, lr=[0.2, 0.1], generative_lr_scale=0.02, label_scale=10.0, dream_noise=0.05,
              dreams_per_digit=4, replay_per_batch=8, seeds=[0, 1])
    x, y, xt, yt = load_mnist(n_train=300, n_test=200)
    host = B.host_rng(3)
    D.train_referee(x, y, 3, host)
    nets = {}
    for name, (offset, generative) in D.PART1_NETS.items():
        nets[name] = D.make_net(st, 3, offset)
        D.train(nets[name], x, y, 1, st, host, generative=generative)
    task_a, task_b, test_a, test_b = D.task_split(x, y, xt, yt)
    serial = {}
    for seed in st["seeds"]:
        net_a = D.make_net(st, 3, 3 + 10 * seed)
        D.train(net_a, *task_a, 1, st, host)
        bank = D.dreams_of(net_a, range(5), 200, st, 3, offset=1 + seed)
        for mode, replay in (("no_replay", None), ("dream_replay", bank)):
            net = copy.deepcopy(net_a)
            D.train(net, *task_b, 1, st, host, replay=replay)
            serial[seed, mode] = [float(net.accuracy(*test)) for test in (test_a, test_b, (xt, yt))]
    assert D.dream_unit("both_directions", run_seed=3, **st)["test_accuracy"] == \
        float(nets["both_directions"].accuracy(xt, yt))
    for seed in (1, 0):   # the later seed first: nothing depends on the order units run in
        out = D.dream_replay_unit(seed, run_seed=3, **st)
        for mode in ("no_replay", "dream_replay"):
            assert [out[mode][k] for k in ("acc_a", "acc_b", "acc_all")] == serial[seed, mode]
    with pytest.raises(ValueError, match="not one of"):
        D.dream_replay_unit(7, run_seed=3, **st)


def test_lesson_08_quick(tmp_path):
    res = course.run_lesson("08", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert m["ungated_test_accuracy"] > 0.75 and m["gated_test_accuracy"] > 0.7
    assert 0.2 < m["updates_skipped"] < 1  # the gate really closes for a good part of the examples
    assert m["surprise_correlation_beta_0.05"] > 0.95  # energy jump / β → C(s⁰) as β → 0
    assert m["surprise_correlation_beta_0.05"] >= m["surprise_correlation_beta_0.5"] - 0.01
    assert (tmp_path / "gated_vs_ungated.png").exists()


def test_surprise_gate_errors_and_masks():
    from neurophys.learning.surprise import SurpriseGate
    with pytest.raises(ValueError, match="threshold"):
        SurpriseGate(-1.0)
    with pytest.raises(ValueError, match="boost"):
        SurpriseGate(0.1, boost=0)
    s = B.xp().asarray([0.0, 0.05, 0.5])
    assert list(B.to_host(SurpriseGate(0.1).surprising(s))) == [False, False, True]
    assert all(B.to_host(SurpriseGate(None).surprising(s)))


def test_lesson_07_unit_records_a_diverged_mode_and_keeps_the_next_modes_batches(monkeypatch):
    """A task-B training that diverges is recorded (the library's message, no accuracies), and
    the shuffling stream is left where a finished mode leaves it: the dream-replay mode of the
    same unit sees the same batches, so its numbers equal those of a run where nothing diverged."""
    from neurophys.learning import dream_protocol as D
    from neurophys.validate import DivergenceError
    st = dict(hidden=12, n_train=300, n_test=200, epochs=1, epochs_task=1, batch_size=32, eps=1.0, n_free=4,
              n_nudged=2, beta=0.5, lr=[0.2, 0.1], generative_lr_scale=0.02, label_scale=10.0, dream_noise=0.05,
              dreams_per_digit=4, replay_per_batch=8, seeds=[0])
    calm = D.dream_replay_unit(0, run_seed=3, **st)
    real_train = D.train

    def diverge_without_replay(net, x, y, epochs, settings, host, replay=None, **kw):
        if replay is None and kw.get("desc", "").startswith("task B"):
            host.random(17)                                   # a diverging run stops part-way through its draws
            raise DivergenceError("weights W0 reached |W0| = 1e12 at update 9: the run diverged")
        return real_train(net, x, y, epochs, settings, host, replay=replay, **kw)

    monkeypatch.setattr(D, "train", diverge_without_replay)
    out = D.dream_replay_unit(0, run_seed=3, **st)
    assert "diverged" in out["no_replay"]["diverged"] and out["no_replay"]["acc_a"] is None
    assert out["no_replay"]["forgetting"] is None
    assert out["dream_replay"] == calm["dream_replay"]
    assert out["acc_a_after_a"] == calm["acc_a_after_a"]

    def diverge_in_task_a(net, x, y, epochs, settings, host, replay=None, **kw):
        if kw.get("desc", "").startswith("task A"):
            raise DivergenceError("weights W0 reached |W0| = 1e12 at update 3: the run diverged")
        return real_train(net, x, y, epochs, settings, host, replay=replay, **kw)

    monkeypatch.setattr(D, "train", diverge_in_task_a)     # a seed whose task A diverges: recorded, not raised
    out = D.dream_replay_unit(0, run_seed=3, **st)
    assert out["acc_a_after_a"] is None
    for mode in ("no_replay", "dream_replay"):
        assert out[mode]["diverged"].startswith("task A:") and out[mode]["forgetting"] is None
