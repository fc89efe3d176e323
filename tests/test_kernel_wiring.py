"""The models reach the CUDA kernels through the backend's table of named operations
(neurophys.backend.op), never by importing neurophys.kernels: checked on the CPU through the
host emulation, which looks the operations up as the cupy backend would."""
import ast
from pathlib import Path

import numpy
import pytest

import neurophys
from neurophys import backend as B
from neurophys.kernels import dispatch as D
from neurophys.kernels import eqprop as K
from neurophys.kernels import gpe as KG
from neurophys.kernels import loader
from neurophys.models import eqprop as M
from neurophys.models.eqprop import EqPropNet
from neurophys.physics import gpe as P

PACKAGE = Path(neurophys.__file__).resolve().parent
OPS = ("gpe.evolve", "gpe.evolve_backward", "eqprop.relax_steps", "eqprop.weight_grads")


def _spy(monkeypatch, module, names):
    calls = []
    for name in names:
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    return calls


def test_every_operation_has_a_numpy_reference_and_a_cupy_kernel():
    table = B.registered_ops()
    for name in OPS:
        assert table[name] == ["cupy", "numpy"], name
    with B.using("numpy"):
        assert B.op("gpe.evolve") is P.evolve and B.op("eqprop.relax_steps") is M.relax_steps
        with B.ops_for("cupy"):  # what the cupy backend sees (and the host emulation uses)
            assert B.op("gpe.evolve") is D.gpe_evolve and B.op("eqprop.weight_grads") is D.eqprop_weight_grads
        assert B.op("gpe.evolve_backward") is P.evolve_backward  # back to the reference after the block


def test_an_operation_without_its_backend_falls_back_to_the_reference_and_unknown_names_are_refused():
    B.register_op("test.only_numpy", "numpy", abs)
    with B.ops_for("cupy"):
        assert B.op("test.only_numpy") is abs
    with pytest.raises(B.OpError, match="known operations: .*gpe.evolve"):
        B.op("gpe.no_such_op")
    with pytest.raises(B.BackendError, match="valid names are"):
        B.register_op("test.x", "tpu", abs)


def test_selecting_cupy_loads_the_kernels_plugin(monkeypatch):
    """set_backend('cupy') imports neurophys.kernels (which registers the kernels); numpy imports nothing."""
    assert B.PLUGINS["cupy"] == ("neurophys.kernels",)
    imported = []
    monkeypatch.setattr(B.importlib, "import_module", lambda name: imported.append(name))
    monkeypatch.setattr(B, "_load_cupy", lambda: numpy)   # stand-in for a GPU machine: no array is made
    with B.using("numpy"):          # restores the backend as it was afterwards
        assert imported == []
        B.set_backend("cupy")
        assert imported == ["neurophys.kernels"]


@pytest.mark.parametrize("path", ["physics/gpe.py", "models/eqprop.py", "blocks/activations.py"])
def test_physics_and_models_never_import_the_kernels(path):
    tree = ast.parse((PACKAGE / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert "kernels" not in (node.module or ""), f"{path}:{node.lineno} imports {node.module}"
        elif isinstance(node, ast.Import):
            assert all("kernels" not in a.name for a in node.names), f"{path}:{node.lineno}"


def test_eqprop_relax_and_update_go_through_the_kernels_and_agree(monkeypatch):
    calls = _spy(monkeypatch, K, ("relax", "weight_grad"))
    with B.using("numpy"), B.precision("float64"):
        rng = numpy.random.default_rng(0)
        net = EqPropNet([12, 16, 5], energy="scellier", rng=B.rng(0), n_free=6, n_nudged=3, beta=0.5)
        x = rng.random((4, 12))
        t = numpy.eye(5)[rng.integers(0, 5, 4)]
        ref_free = net.free_phase(x)
        ref_grads, _ = net.eqprop_gradient(ref_free, t)
        assert calls == []  # the numpy backend runs the reference
        with loader.host_emulation():
            emu_free = net.free_phase(x)
            emu_grads, _ = net.eqprop_gradient(emu_free, t)
        assert calls.count("relax") == 3 and calls.count("weight_grad") == 2  # free, +β, −β; two layers
        for a, b in zip(ref_free, emu_free):
            assert numpy.abs(a - b).max() < 1e-12
        for k in ref_grads:
            assert numpy.abs(ref_grads[k] - emu_grads[k]).max() < 1e-12, k


def test_unboxed_hard_sigmoid_is_recognised_by_its_named_activation():
    net = EqPropNet([6, 5, 3], clip=None, rng=B.rng(0))
    assert [D.rho_kind(f, df) for f, df in zip(net.rho, net.drho)] == [0, 1, 1]
    smooth = EqPropNet([6, 5, 3], rho="sigmoid", clip=None, rng=B.rng(0))
    assert D.rho_kind(smooth.rho[1], smooth.drho[1]) is None


@pytest.mark.parametrize("scheme, kernels", [("euler", ("euler_steps", "euler_steps_adjoint")),
                                             ("splitstep", ("potential_step", "potential_step_adjoint"))])
def test_gpe_layer_goes_through_the_kernels_and_agrees(monkeypatch, scheme, kernels):
    with B.using("numpy"), B.precision("float64"):
        layer = P.GPELayer(n_steps=3, dt=0.02, scheme=scheme, param_grads=True)
        x = numpy.random.default_rng(1).normal(size=(2, 8, 8, 2)) * 0.5
        ref_y = layer.forward(x)
        ref_dx = layer.backward(ref_y)
        ref_g = dict(layer.param_grads)
        calls = _spy(monkeypatch, KG, kernels)
        if scheme == "splitstep":  # the split-step takes the kernels through its phase_ops table
            monkeypatch.setattr(KG, "PHASE_OPS", (KG.potential_step, KG.potential_step_adjoint))
        with loader.host_emulation():
            y = layer.forward(x)
            dx = layer.backward(y)
        assert isinstance(layer._tape, D.KernelTape)
        assert set(calls) == set(kernels)
        numpy.testing.assert_allclose(y, ref_y, atol=1e-12)
        numpy.testing.assert_allclose(dx, ref_dx, atol=1e-12)
        for k in ref_g:
            numpy.testing.assert_allclose(layer.param_grads[k], ref_g[k], rtol=1e-10, atol=1e-12)
