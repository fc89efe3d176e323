"""The models pick the CUDA kernels by themselves: checked on the CPU through the host emulation."""
import numpy

from neurophys import backend as B
from neurophys.kernels import eqprop as K
from neurophys.kernels import loader
from neurophys.models.eqprop import EqPropNet


def test_eqprop_relax_and_update_go_through_the_kernels_and_agree(monkeypatch):
    calls = []
    for name in ("relax", "weight_grad"):
        original = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    with B.using("numpy"), B.precision("float64"):
        rng = numpy.random.default_rng(0)
        net = EqPropNet([12, 16, 5], energy="scellier", rng=B.rng(0), n_free=6, n_nudged=3, beta=0.5)
        x = rng.random((4, 12))
        t = numpy.eye(5)[rng.integers(0, 5, 4)]
        ref_free = net.free_phase(x)
        ref_grads, _ = net.eqprop_gradient(ref_free, t)
        with loader.host_emulation():
            emu_free = net.free_phase(x)
            emu_grads, _ = net.eqprop_gradient(emu_free, t)
        assert calls.count("relax") == 3 and calls.count("weight_grad") == 2  # free, +β, −β; two layers
        for a, b in zip(ref_free, emu_free):
            assert numpy.abs(a - b).max() < 1e-12
        for k in ref_grads:
            assert numpy.abs(ref_grads[k] - emu_grads[k]).max() < 1e-12, k
