"""Lesson 01's library parts: relaxation, melt-and-re-quench, and the quick lesson run."""
import json

import numpy
import pytest

from neurophys import backend as B
from neurophys import course
from neurophys.blocks import SGD
from neurophys.data.toy import xor
from neurophys.learning.relaxation import relax, relax_with_requench, separates
from neurophys.models.mlp import MLP
from neurophys.validate import DivergenceError


def test_relaxation_lowers_the_energy_and_learns_xor():
    x, t = xor()
    net = MLP([2, 3, 1], "tanh", "tanh", rng=B.rng(1), init="normal", init_scale=0.3)
    E, _ = relax(net, x, t, SGD(lr=0.1, momentum=0.9), 2000, batch_size=4)
    assert E.shape == (2001,)
    assert E[-1] < 1e-3 < E[0]
    assert separates(net(x), t)


def test_small_init_collapses_to_the_xor_saddle():
    """The document's failure mode: weights ~N(0, 0.1²) relax into the saddle where every output is 0.5."""
    x, t = xor()
    net = MLP([2, 2, 1], "tanh", "tanh", rng=B.rng(0), init="normal", init_scale=0.1)
    E, _ = relax(net, x, t, SGD(lr=0.1, momentum=0.9), 1500, batch_size=2, rng=numpy.random.default_rng(0))
    assert abs(E[-1] - 0.125) < 0.005
    assert numpy.allclose(B.to_host(net(x)), 0.5, atol=0.05)
    assert not separates(net(x), t)


def test_requench_melts_a_stuck_run():
    """A run that cannot move (lr tiny) is melted at every segment boundary."""
    x, t = xor()
    net = MLP([2, 2, 1], "tanh", "tanh", rng=B.rng(0), init="normal", init_scale=0.3)
    melted = []
    E, _, melts = relax_with_requench(net, x, t, lambda: SGD(lr=1e-6), 30, melt=lambda n: melted.append(1),
                                      segment=10)
    assert melts == [10, 20] and len(melted) == 2 and E.shape == (31,)


def test_mlp_reset_keeps_the_arrays_the_optimizer_holds():
    net = MLP([2, 3, 1], rng=B.rng(0))
    W = net.params["W0"]
    before = W.copy()
    net.reset(B.rng(5))
    assert net.params["W0"] is W and not numpy.allclose(W, before)


def test_separates_needs_the_margin():
    t = numpy.array([[0.0], [1.0]])
    assert separates(numpy.array([[0.3], [0.7]]), t)
    assert not separates(numpy.array([[0.45], [0.7]]), t)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_relaxation_names_the_step_size():
    x, t = xor()
    net = MLP([2, 3, 1], "relu", "identity", rng=B.rng(0), init="normal", init_scale=3.0)
    with pytest.raises(DivergenceError, match="(?i)lower the learning rate"):
        relax(net, x, t, SGD(lr=50.0, momentum=0.9), 200)


def test_lesson_01_quick(tmp_path):
    res = course.run_lesson("01", tier="quick", out=tmp_path)
    m = res["metrics"]
    for arch in ("2-2-1", "2-3-1", "2-2-2-1"):
        assert m[f"converged_{arch}"] == 4          # the defaults learn XOR on every quick seed
        assert m[f"final_energy_{arch}"] < 1e-2
        assert m[f"original_final_energy_{arch}"] > 0.1  # the document's settings sit at the saddle
    assert m["feedforward_max_error"] < 1e-12
    for f in ("results.json", "energy_decay.png", "energy_decay.gif", "phase_diagram.gif"):
        assert (tmp_path / f).exists(), f
    assert json.loads((tmp_path / "results.json").read_text())["tier"] == "quick"


def test_example_relaxation_on_own_data_learns():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, str(course.REPO_ROOT / "examples" / "relaxation_own_data.py"),
                          "--epochs", "600"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    accuracy = float(out.stdout.split("training accuracy")[1])
    assert accuracy > 0.95
