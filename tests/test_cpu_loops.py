"""The compiled CPU loops (neurophys.cpu, numba) give the NumPy references' numbers bit for bit.

Each test runs the same public function twice, once with the loops and once inside
``cpu.disabled()`` (the NumPy reference), and compares every output with ``array_equal`` —
including ties, signed zeros and NaN, where a reordered or fused operation would show.
"""
import os
import subprocess
import sys

import numpy
import pytest

from neurophys import backend as B
from neurophys import cpu
from neurophys import validate as V
from neurophys.blocks import Adam, softmax_cross_entropy_grad
from neurophys.blocks.conv import Conv2D, ConvPool2D
from neurophys.cpu import pool as cpu_pool
from neurophys.models.physnet import PhysNet
from neurophys.physics import gpe


def both(fn):
    """(fn() with the compiled loops, fn() with the NumPy references)."""
    assert cpu.available(), "numba is a dependency of neurophys: the compiled loops must run here"
    fused = fn()
    with cpu.disabled():
        assert not cpu.available()
        reference = fn()
    return fused, reference


def same(a, b):
    """Bit-for-bit equality of nested tuples/lists/dicts of arrays and numbers (NaN equals NaN)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = numpy.asarray(a), numpy.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ GPE Euler on (Re, Im) planes
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("shape,dx", [((3, 5, 7), 1.0), ((4, 32, 32), 1.0), ((2, 6, 4), 0.7)])
def test_euler_planes_forward_and_adjoint_are_the_reference_bit_for_bit(dtype, shape, dx):
    rng = numpy.random.default_rng(1)
    psi0 = (0.6 * rng.standard_normal((2,) + shape)).astype(dtype)
    psi0[0, 0, 0, :2] = [0.0, -0.0]                       # signed zeros
    G = rng.standard_normal(psi0.shape).astype(dtype)

    def run():
        psi, tape, n0_max = gpe.euler_evolve_planes(psi0, 5, 0.01, -0.15, 0.3, dx)
        return psi, tape, n0_max, gpe.euler_evolve_planes_backward(tape, G, 0.01, -0.15, 0.3, dx)

    fused, reference = both(run)
    assert same(fused, reference)


@pytest.mark.parametrize("scale", [2.0, 4.0, 10.0])
def test_euler_planes_stability_check_refuses_the_same_step(scale):
    """The compiled step only flags fields above a density bound; the exact check then refuses exactly
    where the reference refuses (same exception, same message), or passes where it passes."""
    psi0 = (scale * numpy.random.default_rng(2).standard_normal((2, 3, 8, 8))).astype(numpy.float32)

    def run():
        try:
            return gpe.euler_evolve_planes(psi0, 6, 0.01, -0.15, 6.0)
        except gpe.StabilityError as e:
            return str(e)

    fused, reference = both(run)
    assert same(fused, reference) if not isinstance(reference, str) else fused == reference


def test_euler_planes_with_a_nan_fails_as_the_reference_does():
    psi0 = numpy.full((2, 1, 4, 4), 0.1, dtype=numpy.float32)
    psi0[0, 0, 1, 2] = numpy.nan

    def run():
        with pytest.raises(Exception) as e:
            gpe.euler_evolve_planes(psi0, 3, 0.01, -0.15, 0.3)
        return type(e.value).__name__, str(e.value)

    fused, reference = both(run)
    assert fused == reference


def test_density_limit_is_below_what_the_check_accepts():
    """The bound under which the compiled step skips the exact check is never above the check's own."""
    dt, V, g = 0.01, -0.15, 0.3
    limit = gpe.euler_density_limit(dt, V, g)
    gpe.check_euler_dt(numpy.zeros(1), dt, V, g, 1.0, 1.0, False, n_max=limit)          # accepted
    with pytest.raises(gpe.StabilityError):
        gpe.check_euler_dt(numpy.zeros(1), dt, V, g, 1.0, 1.0, False, n_max=limit * (1 + 1e-5))
    assert gpe.euler_density_limit(dt, V, 0.0) == numpy.inf
    assert gpe.euler_density_limit(1.0, V, g) == -numpy.inf                                 # even ψ = 0 is refused


# ------------------------------------------------------------------ convolution + pooling
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("c_in,relu", [(16, True), (16, False), (2, True), (5, False)])
def test_conv_pool_forward_and_backward_are_the_reference_bit_for_bit(dtype, c_in, relu):
    """Integer-valued inputs and weights make many exact ties in the pooling windows; a NaN and
    signed zeros go through the same comparisons. 11 images: a last block that is not full."""
    rng = numpy.random.default_rng(3)
    x = rng.integers(-2, 3, size=(11, 10, 12, c_in)).astype(dtype)
    x[0, 0, 0, 0], x[1, 2, 3, 0] = -0.0, numpy.nan
    dy = rng.standard_normal((11, 5, 6, 8)).astype(dtype)
    dy[2, 1, 1, :] = -0.0

    def run():
        layer = ConvPool2D(c_in, 8, rng=B.rng(0), relu=relu)
        layer.params = {k: numpy.round(4 * v).astype(dtype) for k, v in layer.params.items()}   # ties
        with V.inner():                          # the NaN goes in (the public edge would refuse it)
            y = layer.forward(x)
        dx = layer.backward(dy)
        return y, layer._won, numpy.asarray(dx), layer.grads

    fused, reference = both(run)
    assert same(fused, reference)


@pytest.mark.parametrize("relu", [True, False])
def test_pool_block_picks_the_same_zero_and_nan_as_numpy_maximum(relu):
    """Every pair of the special values {−0, +0, 1, NaN} in every window position: the compiled
    pooling's y and masks are NumPy's (numpy.maximum(−0, +0) is +0 but maximum(+0, −0) is −0).
    (BLAS never returns −0 from a product, so the convolution alone cannot make these windows.)"""
    special = numpy.array([-0.0, 0.0, 1.0, numpy.nan], dtype=numpy.float32)
    z = numpy.stack(numpy.meshgrid(special, special, special, special, indexing="ij")).reshape(2, 2, -1)
    won = numpy.empty((3 + relu, z.shape[-1]), dtype=bool)
    y = numpy.empty(z.shape[-1], dtype=numpy.float32)
    cpu_pool.pool_block(z.copy(), y, won, relu)
    top, bottom = numpy.maximum(z[0, 0], z[0, 1]), numpy.maximum(z[1, 0], z[1, 1])
    want_y = numpy.maximum(top, bottom)
    want_won = [top >= bottom, z[0, 0] >= z[0, 1], z[1, 0] >= z[1, 1]]
    if relu:
        want_won.append(want_y > 0)
        want_y = numpy.maximum(want_y, 0)
    assert same(y, want_y) and same(won, numpy.array(want_won))


@pytest.mark.parametrize("c_in", [4, 16])
def test_conv_input_gradient_is_the_reference_bit_for_bit(c_in):
    rng = numpy.random.default_rng(4)
    x = rng.standard_normal((9, 7, 6, c_in)).astype(numpy.float32)
    dz = rng.standard_normal((9, 7, 6, 5)).astype(numpy.float32)

    def run():
        layer = Conv2D(c_in, 5, rng=B.rng(0))
        z = layer.forward(x)
        return z, numpy.asarray(layer.backward(dz)), layer.grads

    fused, reference = both(run)
    assert same(fused, reference)


def test_conv_keeps_the_patches_of_a_training_batch_and_rebuilds_a_large_ones_alike():
    """Patches kept between forward and backward, or rebuilt block by block: the same gradients."""
    rng = numpy.random.default_rng(5)
    x = rng.standard_normal((20, 8, 8, 16)).astype(numpy.float32)
    dy = rng.standard_normal((20, 4, 4, 8)).astype(numpy.float32)
    out = []
    for keep in (ConvPool2D.keep_patches_bytes, 0):
        layer = ConvPool2D(16, 8, rng=B.rng(0))
        layer.keep_patches_bytes = keep
        assert layer.forward(x) is not None and layer._keeps_patches(20, x.dtype) == bool(keep)
        out.append((layer.backward(dy), layer.grads))
    assert same(out[0], out[1])


# ------------------------------------------------------------------ Adam
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_adam_update_is_the_reference_bit_for_bit(dtype):
    rng = numpy.random.default_rng(6)
    params0 = {"W": rng.standard_normal((300, 400)).astype(dtype),        # pieces of 2^16 numbers
               "b": rng.standard_normal(7).astype(dtype),
               "T": rng.standard_normal((6, 5)).astype(dtype).T}          # not contiguous: the reference
    grads = [{k: rng.standard_normal(v.shape).astype(dtype) for k, v in params0.items()} for _ in range(3)]
    grads[1]["b"][:2] = [0.0, -0.0]

    def run():
        params = {k: v.copy() for k, v in params0.items()}
        opt = Adam(lr=3e-3, weight_decay=1e-2)
        for g in grads:
            opt.step(params, g)
        return params, opt.m, opt.v

    fused, reference = both(run)
    assert same(fused, reference)


# ------------------------------------------------------------------ the whole network
@pytest.mark.parametrize("physics,cores", [("euler", 1), ("identity", 1), ("euler", 2)])
def test_physnet_training_steps_are_the_reference_bit_for_bit(physics, cores):
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((40, 784)).astype(numpy.float32)
    y = rng.integers(0, 10, 40)

    def run():
        net = PhysNet(physics=physics, rng=B.rng(1))
        net.cores = cores
        opt = Adam(lr=1e-3)
        for i in range(3):
            z = net.forward(x)
            net.backward(softmax_cross_entropy_grad(z, y))
            opt.step(net.params, net.grads)
        return net.forward(x[:8]), net.params

    fused, reference = both(run)
    assert same(fused, reference)


# ------------------------------------------------------------------ switching the loops off
def test_without_numba_the_references_run(monkeypatch):
    monkeypatch.setitem(cpu._state, "numba", False)          # as if numba could not be imported
    assert not cpu.available()
    psi, _, _ = gpe.euler_evolve_planes(numpy.ones((2, 1, 4, 4), numpy.float32), 2, 0.01, -0.15, 0.3)
    assert psi.shape == (2, 1, 4, 4)


def test_neurophys_kernels_0_turns_the_loops_off():
    code = "from neurophys import cpu; print(cpu.available())"
    env = dict(os.environ, NEUROPHYS_KERNELS="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    env["NEUROPHYS_KERNELS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_cupy_like_arrays_take_the_reference_path():
    class NotNumpy(numpy.ndarray):
        pass
    a = numpy.zeros(3).view(NotNumpy)
    assert cpu.active(numpy.zeros(3)) and not cpu.active(a)
