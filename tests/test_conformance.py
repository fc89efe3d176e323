"""One conformance suite for every layer and model (in the spirit of scikit-learn's check_estimator).

``CASES`` is the one list. Each entry says how to build the block at two odd shapes and
how to feed it; every check below then runs on every entry:

- the protocol: ``params``/``grads`` dicts, ``n_params()`` from the shared base, ``predict``;
- gradient check of every parameter (and of the input) in float64 by central differences
  (``neurophys.gradcheck``), at both shapes; models without a backward check what they
  have instead (EqProp: ∂E/∂θ against the energy);
- output shapes at both shapes; float32 in, float32 out; integer input computed in floats;
- refusal of bad input with a message that names the argument: an empty batch, complex
  and object arrays, NaN;
- determinism: the same seed gives the same parameters and outputs;
- the training verb ``learn`` (where the model has one) returns a finite 'loss'.

A new layer or model gets all of it by being added to ``CASES``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks import SGD, Adam, Dense
from neurophys.blocks.base import Module
from neurophys.blocks.conv import Conv2D, MaxPool2D
from neurophys.blocks.gru import GRU
from neurophys.gradcheck import numerical_gradient, relative_error
from neurophys.models.dlm import DissipativeLearningMachine
from neurophys.models.eqprop import EqPropNet
from neurophys.models.gru_encoder import GRUEnergyEncoder
from neurophys.models.mlp import MLP
from neurophys.models.physnet import FieldOnlyNet, PhysNet, ReLU, Reshape
from neurophys.models.world_model import LinearModel, StaticModel, make_eqprop_world_model
from neurophys.physics.gpe import GPELayer
from neurophys.validate import NeurophysInputError


@dataclass
class Case:
    """How to build and feed one block. ``shapes`` holds two dicts of keyword arguments for
    ``make(rng, **kw)`` and ``inputs(rng, **kw)``; ``inputs`` returns a tuple of arrays whose
    first item has the batch axis first (the one the refusal checks corrupt)."""

    name: str
    make: Callable
    inputs: Callable
    out_shape: Callable                      # (**kw) -> expected output shape
    shapes: list
    arg: str = "x"                           # the argument's name, expected in error messages
    kind: str = "layer"                      # layer | encoder | energy | world
    call: Callable = field(default=lambda m, *xs: m.forward(*xs))
    learn: Callable | None = None            # (model, inputs, rng) -> info dict
    float32: bool = True                     # float32 in, float32 out (world models work in float64)
    max_entries: int = 25                    # probed entries per parameter in the gradient check
    tol: float = 1e-6


def _x(shape):
    return lambda rng, **kw: (rng.standard_normal(shape(**kw)).astype(B.float_dtype()),)


def _labels(rng, n, k):
    return rng.integers(0, k, n)


CASES = [
    Case("Dense", lambda rng, n_in, n_out, n: Dense(n_in, n_out, rng=rng), _x(lambda n_in, n, **_: (n, n_in)),
         lambda n_out, n, **_: (n, n_out), [dict(n_in=5, n_out=3, n=3), dict(n_in=3, n_out=7, n=5)]),
    Case("Conv2D", lambda rng, c, f, k, h, w, n: Conv2D(c, f, k, k // 2, rng=rng),
         _x(lambda c, h, w, n, **_: (n, h, w, c)), lambda f, h, w, n, **_: (n, h, w, f),
         [dict(c=2, f=3, k=3, h=5, w=7, n=3), dict(c=1, f=5, k=1, h=7, w=3, n=1)]),
    Case("MaxPool2D", lambda rng, k, c, h, w, n: MaxPool2D(k), _x(lambda c, h, w, n, **_: (n, h, w, c)),
         lambda k, c, h, w, n: (n, h // k, w // k, c),
         [dict(k=2, c=3, h=5, w=7, n=3), dict(k=3, c=1, h=7, w=9, n=1)]),
    Case("ReLU", lambda rng, d, n: ReLU(), _x(lambda d, n: (n, d)), lambda d, n: (n, d),
         [dict(d=5, n=3), dict(d=7, n=1)]),
    Case("Reshape", lambda rng, d, n: Reshape((d, 1)), _x(lambda d, n: (n, d)), lambda d, n: (n, d, 1),
         [dict(d=5, n=3), dict(d=9, n=1)]),
    Case("GRU", lambda rng, n_in, h, T, n: GRU(n_in, h, rng=rng), _x(lambda n_in, T, n, **_: (n, T, n_in)),
         lambda h, T, n, **_: (n, T, h), [dict(n_in=3, h=5, T=3, n=3), dict(n_in=1, h=3, T=5, n=1)], arg="X"),
    Case("GPELayer", lambda rng, scheme, ny, nx, n: GPELayer(2, 0.05, V=0.1, g=0.3, scheme=scheme),
         _x(lambda ny, nx, n, **_: (n, ny, nx, 2)), lambda ny, nx, n, **_: (n, ny, nx, 2),
         [dict(scheme="euler", ny=5, nx=7, n=3), dict(scheme="splitstep", ny=7, nx=5, n=1)]),
    Case("MLP", lambda rng, sizes, n: MLP(sizes, rng=rng), _x(lambda sizes, n: (n, sizes[0])),
         lambda sizes, n: (n, sizes[-1]), [dict(sizes=[5, 7, 3], n=3), dict(sizes=[3, 5, 5, 7], n=5)],
         learn=lambda m, xs, rng: m.learn(xs[0], _labels(rng, len(xs[0]), m.sizes[-1]), SGD(lr=0.1))),
    Case("DLM", lambda rng, sizes, n, T=0.0: DissipativeLearningMachine(sizes, temperature=T, rng=rng),
         _x(lambda sizes, n, **_: (n, sizes[0])), lambda sizes, n, **_: (n, sizes[-1]),
         [dict(sizes=[5, 7, 3], n=3), dict(sizes=[3, 5, 5, 7], n=5)],
         learn=lambda m, xs, rng: m.learn(xs[0], _labels(rng, len(xs[0]), m.sizes[-1]), Adam(lr=0.01))),
    Case("FieldOnlyNet", lambda rng, grid, n_in, k, n, physics: FieldOnlyNet(physics, n_steps=2, grid=grid,
                                                                               n_in=n_in, n_classes=k, rng=rng),
         _x(lambda n_in, n, **_: (n, n_in)), lambda k, n, **_: (n, k),
         [dict(grid=5, n_in=7, k=3, n=3, physics="euler"), dict(grid=7, n_in=5, k=5, n=1, physics="splitstep")],
         learn=lambda m, xs, rng: m.learn(xs[0], _labels(rng, len(xs[0]), m.n_classes), SGD(lr=0.01))),
    Case("PhysNet", lambda rng, grid, n, physics: PhysNet(physics, n_steps=1, grid=grid, rng=rng),
         _x(lambda n, **_: (n, 784)), lambda n, **_: (n, 10),
         [dict(grid=8, n=1, physics="euler"), dict(grid=12, n=3, physics="identity")], max_entries=4,
         learn=lambda m, xs, rng: m.learn(xs[0], _labels(rng, len(xs[0]), 10), SGD(lr=0.01)), arg="x (images)"),
    Case("GRUEnergyEncoder", lambda rng, d, T, n: GRUEnergyEncoder(d, T, n_hidden=5, latent_dim=3, decoder_hidden=5,
                                                                   energy_hidden=3, rng=rng),
         _x(lambda d, T, n: (n, T, d)), lambda d, T, n: (n, T, d), [dict(d=3, T=3, n=3), dict(d=1, T=5, n=5)],
         kind="encoder", call=lambda m, X: m.forward(X)[0], arg="X",
         learn=lambda m, xs, rng: m.learn(xs[0], opt=Adam(lr=1e-3), batch_size=2, rng=rng)),
    Case("EqPropNet", lambda rng, sizes, n: EqPropNet(sizes, rng=rng), _x(lambda sizes, n: (n, sizes[0])),
         lambda sizes, n: (n, sizes[-1]), [dict(sizes=[5, 7, 3], n=3), dict(sizes=[3, 5, 5, 7], n=5)],
         kind="energy", call=lambda m, x: m.predict(x),
         learn=lambda m, xs, rng: m.learn(xs[0], _labels(rng, len(xs[0]), m.sizes[-1]), batch_size=2, rng=rng)),
    Case("StaticModel", lambda rng, d, k, n: StaticModel(d, k),
         lambda rng, d, k, n: (rng.standard_normal((n, d)), rng.standard_normal((n, k))),
         lambda d, k, n: (n, d), [dict(d=3, k=1, n=3), dict(d=5, k=3, n=1)], kind="world",
         call=lambda m, s, u: m.predict(s, u), arg="observation s", float32=False,
         learn=lambda m, xs, rng: {"loss": m.learn(xs[0], xs[1], xs[0] + 0.1)}),
    Case("LinearModel", lambda rng, d, k, n: LinearModel(d, k),
         lambda rng, d, k, n: (rng.standard_normal((n, d)), rng.standard_normal((n, k))),
         lambda d, k, n: (n, d), [dict(d=3, k=1, n=3), dict(d=5, k=3, n=1)], kind="world",
         call=lambda m, s, u: m.predict(s, u), arg="observation s", float32=False,
         learn=lambda m, xs, rng: {"loss": m.learn(xs[0], xs[1], xs[0] + 0.1)}),
    Case("EqPropWorldModel", lambda rng, d, k, n: make_eqprop_world_model(d, k, hidden=(5,), rng=rng, n_scale=2),
         lambda rng, d, k, n: (rng.standard_normal((n, d)), rng.standard_normal((n, k))),
         lambda d, k, n: (n, d), [dict(d=3, k=1, n=3), dict(d=5, k=3, n=1)], kind="world",
         call=lambda m, s, u: m.predict(s, u), arg="observation s", float32=False,
         learn=lambda m, xs, rng: {"loss": m.learn(xs[0], xs[1], xs[0] + 0.1)}),
]

IDS = [c.name for c in CASES]
SHAPED = [pytest.param(c, i, id=f"{c.name}-shape{i}") for c in CASES for i in range(len(c.shapes))]
# World models are fitted in closed form (RLS) or by EqProp: they have no backward to check
# (the EqProp energy gradients are checked through EqPropNet's case).
DIFFERENTIABLE = [p for p in SHAPED if p.values[0].kind != "world"]
# World models compute on the host in float64 by design (RLS needs it); checked below.
FLOAT32 = [c for c in CASES if c.float32]
HOST64 = [c for c in CASES if not c.float32]


def _build(case, i, seed=0, **extra):
    kw = case.shapes[i]
    model = case.make(B.rng(seed), **kw, **extra) if extra else case.make(B.rng(seed), **kw)
    return model, case.inputs(numpy.random.default_rng(seed + 1), **kw)


# ------------------------------------------------------------------ the protocol
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_protocol(case):
    model, _ = _build(case, 0)
    assert isinstance(model, Module), f"{case.name} must derive from neurophys.blocks.base.Module"
    assert isinstance(model.params, dict) and isinstance(model.grads, dict)
    assert model.n_params() == sum(int(p.size) for p in model.params.values())
    assert "n_params" not in type(model).__dict__, "n_params is written once, in blocks.base.Module"
    assert callable(model.predict)
    if case.learn is not None:
        assert callable(getattr(model, "learn", None)), f"{case.name} needs the training verb learn(x, y, ...)"


# ------------------------------------------------------------------ gradients, float64
@pytest.mark.parametrize("case, i", DIFFERENTIABLE)
def test_gradients_of_every_parameter(case, i):
    rng = numpy.random.default_rng(7)
    with B.precision("float64"):
        model, xs = _build(case, i)
        xs = tuple(a.astype(numpy.float64) for a in xs)
        if case.kind == "energy":
            _check_energy_gradients(model, xs[0], rng, case)
            return
        if case.kind == "encoder":
            f = lambda: model.loss(xs[0])[0]  # noqa: E731
            f()
            model.backward()
            dx = None
        else:
            out = case.call(model, *xs)
            R = rng.standard_normal(out.shape)
            f = lambda: float((case.call(model, *xs) * R).sum())  # noqa: E731
            case.call(model, *xs)
            dx = model.backward(R)
        grads = {k: g.copy() for k, g in model.grads.items()}
        assert set(grads) == set(model.params), "grads must hold one entry per parameter"
        for k, p in model.params.items():
            err = check_gradient(f, p, grads[k], max_entries=case.max_entries)
            assert err < case.tol, f"{case.name}: ∂L/∂{k} off by {err:.2e}"
        if dx is not None:
            err = check_gradient(f, xs[0], dx, max_entries=case.max_entries)
            assert err < case.tol, f"{case.name}: ∂L/∂x off by {err:.2e}"


def check_gradient(f, x, analytic, max_entries):
    """Relative error of ``analytic`` against central differences; a gradient that is zero in
    theory (|a|, |n| below 1e-9, e.g. a bias the loss is invariant to) counts as exact."""
    numeric = numerical_gradient(f, x, max_entries=max_entries)
    a = numpy.asarray(B.to_host(analytic), dtype=float)
    mask = ~numpy.isnan(numeric)
    if numpy.abs(a[mask] - numeric[mask]).max() < 1e-9:
        return 0.0
    return relative_error(analytic, numeric)


def _check_energy_gradients(model, x, rng, case):
    """EqProp has no backward: its learning rule uses ∂E/∂θ, checked here against E itself."""
    s = [x] + [rng.uniform(0.1, 0.9, (x.shape[0], n)) for n in model.sizes[1:]]
    f = lambda: float(model.energy(s).sum())  # noqa: E731
    grads = model.dE_dtheta(s)
    for k, p in model.params.items():
        err = check_gradient(f, p, grads[k], max_entries=case.max_entries)
        assert err < case.tol, f"{case.name}: ∂E/∂{k} off by {err:.2e}"


# ------------------------------------------------------------------ shapes and dtypes
@pytest.mark.parametrize("case, i", SHAPED)
def test_output_shape(case, i):
    model, xs = _build(case, i)
    assert tuple(case.call(model, *xs).shape) == case.out_shape(**case.shapes[i])


@pytest.mark.parametrize("case", HOST64, ids=[c.name for c in HOST64])
def test_host_models_compute_in_float64(case):
    model, xs = _build(case, 0)
    xs = tuple(a.astype(numpy.float32) for a in xs)
    assert case.call(model, *xs).dtype == numpy.float64


@pytest.mark.parametrize("case", FLOAT32, ids=[c.name for c in FLOAT32])
def test_float32_stays_float32(case):
    model, xs = _build(case, 0)
    xs = tuple(a.astype(numpy.float32) for a in xs)
    assert case.call(model, *xs).dtype == numpy.float32
    assert all(p.dtype == numpy.float32 for p in model.params.values())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_integer_input_is_computed_in_floats(case):
    model, xs = _build(case, 0)
    ints = (numpy.round(xs[0]).astype(numpy.int64),) + xs[1:]
    out = case.call(model, *ints)
    assert out.dtype.kind == "f"
    ref = case.call(_build(case, 0)[0], *((ints[0].astype(out.dtype),) + xs[1:]))
    numpy.testing.assert_allclose(B.to_host(out), B.to_host(ref), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ refusal of bad input
BAD = {
    "empty batch": (lambda a: a[:0], "empty"),
    "complex": (lambda a: a.astype(numpy.complex64), "must be real"),
    "object": (lambda a: a.astype(object), "real numbers"),
    "NaN": (lambda a: numpy.where(numpy.arange(a.size).reshape(a.shape) == 0, numpy.nan, a).astype(a.dtype),
            "NaN"),
}


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input_is_refused_with_a_message_naming_the_argument(case, bad):
    model, xs = _build(case, 0)
    corrupt, words = BAD[bad]
    xs_bad = (corrupt(xs[0]),) + tuple(corrupt(a) if bad == "empty batch" else a for a in xs[1:])
    with pytest.raises(NeurophysInputError) as e:
        case.call(model, *xs_bad)
    assert words in str(e.value) and case.arg in str(e.value), str(e.value)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_seed_same_model_and_output(case):
    extra = {"T": 0.5} if case.name == "DLM" else {}  # the DLM with its thermal noise on
    (m1, xs), (m2, _) = _build(case, 0, seed=3, **extra), _build(case, 0, seed=3, **extra)
    for k in m1.params:
        numpy.testing.assert_array_equal(B.to_host(m1.params[k]), B.to_host(m2.params[k]))
    numpy.testing.assert_array_equal(B.to_host(case.call(m1, *xs)), B.to_host(case.call(m2, *xs)))


# ------------------------------------------------------------------ the training verb
@pytest.mark.parametrize("case", [c for c in CASES if c.learn is not None], ids=[c.name for c in CASES if c.learn])
def test_learn_returns_a_finite_loss(case):
    model, xs = _build(case, 0)
    info = case.learn(model, xs, numpy.random.default_rng(0))
    assert numpy.isfinite(info["loss"])


# ------------------------------------------------------------------ the same numbers on a GPU
def _on_cupy_with_params_of(case, host_model):
    """The case's model built on the cupy backend, its parameters set to ``host_model``'s."""
    model, _ = _build(case, 0)
    for k, p in model.params.items():
        p[...] = B.asarray(B.to_host(host_model.params[k]), dtype=p.dtype)
    return model


def _forward_and_grads(case, model, xs, R):
    """Output and (where the block has a backward) its parameter gradients for the loss <out, R>."""
    out = case.call(model, *xs)
    if case.kind == "layer":
        model.backward(B.asarray(R, dtype=out.dtype))
        return B.to_host(out), {k: B.to_host(g) for k, g in model.grads.items()}
    return B.to_host(out), {}


@pytest.mark.gpu
@pytest.mark.parametrize("case", FLOAT32, ids=[c.name for c in FLOAT32])
def test_cupy_backend_gives_numpys_numbers(case):
    """Every float32 block on the cupy backend (kernels where they apply) against NumPy, same parameters."""
    R = numpy.random.default_rng(5).standard_normal(case.out_shape(**case.shapes[0])).astype(numpy.float32)
    with B.using("numpy"):
        ref_model, xs = _build(case, 0)
        out_ref, grads_ref = _forward_and_grads(case, ref_model, xs, R)
    with B.using("cupy"):
        model = _on_cupy_with_params_of(case, ref_model)
        out, grads = _forward_and_grads(case, model, tuple(B.asarray(a, dtype=a.dtype) for a in xs), R)
    numpy.testing.assert_allclose(out, out_ref, rtol=1e-4, atol=1e-5, err_msg=f"{case.name} forward")
    for k in grads_ref:
        scale = max(1.0, float(numpy.abs(grads_ref[k]).max()))
        numpy.testing.assert_allclose(grads[k], grads_ref[k], rtol=1e-3, atol=1e-4 * scale,
                                      err_msg=f"{case.name} ∂L/∂{k}")
