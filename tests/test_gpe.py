"""The GPE module: steppers, invariants, hand-written adjoints (float64 central differences), bad input."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.gradcheck import check_gradient, cosine_similarity
from neurophys.physics import gpe


def _field(rng, shape=(2, 8, 9), scale=0.6):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def _loss_setup(rng, shape):
    """L(ψ) = Re Σ conj(W) ψ + ½ Σ w |ψ|²  — linear and quadratic, so both G terms are probed."""
    W = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    w = rng.standard_normal(shape)

    def loss(psi):
        return float((W.conj() * psi).real.sum() + 0.5 * (w * gpe.density(psi)).sum())

    def grad(psi):
        return W + w * psi

    return loss, grad


def _scalar_fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


CASES = [("euler", False, {}), ("euler", True, {}), ("splitstep", False, {}), ("splitstep", True, {}),
         ("splitstep", False, {"laplacian": "fd5"})]


@pytest.mark.parametrize("scheme,imaginary,kw", CASES)
def test_gradients_through_several_steps(f64, scheme, imaginary, kw):
    rng = f64
    shape = (2, 8, 9)
    u0, v0 = rng.standard_normal(shape) * 0.6, rng.standard_normal(shape) * 0.6
    V = 0.3 * rng.standard_normal(shape[1:])
    g, dt, n_steps = 0.7, 0.05, 4
    loss, dloss = _loss_setup(rng, shape)

    def run(u=u0, v=v0, V=V, g=g, dt=dt, checkpoint=None):
        return gpe.evolve(u + 1j * v, n_steps, dt, V, g, scheme=scheme, imaginary=imaginary,
                          checkpoint=checkpoint, **kw)

    psi, tape = run()
    G0, grads = gpe.evolve_backward(tape, dloss(psi))
    assert check_gradient(lambda: loss(run()[0]), u0, G0.real) < 1e-6
    assert check_gradient(lambda: loss(run()[0]), v0, G0.imag) < 1e-6
    assert check_gradient(lambda: loss(run()[0]), V, grads["V"]) < 1e-6
    for name, value in (("g", g), ("dt", dt)):
        num = _scalar_fd(lambda x: loss(run(**{name: x})[0]), value)
        assert abs(grads[name] - num) < 1e-6 * max(1.0, abs(num)), name
    # recomputing from checkpoints gives the same gradients as storing everything
    psi_c, tape_c = run(checkpoint=3)
    G0c, grads_c = gpe.evolve_backward(tape_c, dloss(psi_c))
    assert len(tape_c.stored) < len(tape.stored)
    assert numpy.allclose(G0c, G0) and numpy.allclose(grads_c["V"], grads["V"])


def test_scalar_V_gradient_is_a_number(f64):
    psi = _field(f64)
    out, tape = gpe.evolve(psi, 3, 0.05, V=-0.15, g=0.3, scheme="euler")
    _, grads = gpe.evolve_backward(tape, out)
    assert isinstance(grads["V"], float)
    V_map = numpy.full(psi.shape[1:], -0.15)
    out2, tape2 = gpe.evolve(psi, 3, 0.05, V=V_map, g=0.3, scheme="euler")
    _, grads2 = gpe.evolve_backward(tape2, out2)
    assert abs(grads2["V"].sum() - grads["V"]) < 1e-10


def test_layer_backward_matches_finite_differences(f64):
    rng = f64
    for scheme in ("euler", "splitstep", "identity"):
        for readout in ("field", "density"):
            layer = gpe.GPELayer(n_steps=3, dt=0.05, scheme=scheme, readout=readout)
            x = rng.standard_normal((2, 6, 7, 2))
            W = rng.standard_normal((2, 6, 7, 2 if readout == "field" else 1))
            y = layer.forward(x)
            dx = layer.backward(W)
            assert check_gradient(lambda: float((W * layer.forward(x)).sum()), x, dx) < 1e-6, (scheme, readout)


def test_document_form_is_V_minus_a_and_g_two_b():
    p = gpe.document_params(a=0.15, b=0.15)
    assert p == {"V": -0.15, "g": 0.30}


def test_euler_matches_hand_formula(f64):
    psi = _field(f64, (5, 6))
    a, b, dt = 0.15, 0.15, 0.01
    lap = (numpy.roll(psi, 1, 0) + numpy.roll(psi, -1, 0) + numpy.roll(psi, 1, 1) + numpy.roll(psi, -1, 1) - 4 * psi)
    expected = psi - 1j * dt * (-0.5 * lap + (-a + 2 * b * numpy.abs(psi) ** 2) * psi)
    got = gpe.euler_step(psi, dt, **gpe.document_params(a, b))
    assert numpy.allclose(got, expected, atol=1e-14)


def test_splitstep_keeps_the_norm_and_euler_does_not(f64):
    X, Y = gpe.grid(32)
    psi = gpe.imprint_vortex(gpe.gaussian(X, Y, width=6.0), X, Y)
    n0 = gpe.norm(psi)
    out_s, _ = gpe.evolve(psi, 200, 0.05, V=0.0, g=1.0, scheme="splitstep")
    out_e, _ = gpe.evolve(psi, 200, 0.05, V=0.0, g=1.0, scheme="euler")
    assert abs(gpe.norm(out_s) / n0 - 1) < 1e-12
    assert gpe.norm(out_e) / n0 - 1 > 1e-4           # Euler grows the norm
    E0 = gpe.energy(psi, g=1.0, laplacian="spectral")
    assert abs(gpe.energy(out_s, g=1.0, laplacian="spectral") / E0 - 1) < 1e-3


def test_splitstep_norm_in_float32():
    with B.using("numpy"):
        X, Y = gpe.grid(32)
        psi = gpe.gaussian(X, Y, width=5.0, kx=0.3)
        assert psi.dtype == numpy.complex64
        out, _ = gpe.evolve(psi, 300, 0.05, V=0.0, g=1.0, scheme="splitstep")
        assert out.dtype == numpy.complex64
        assert abs(gpe.norm(out) / gpe.norm(psi) - 1) < 1e-5


def test_fd5_splitstep_and_euler_agree_for_small_dt(f64):
    psi = _field(f64, (8, 8), 0.3)
    e, _ = gpe.evolve(psi, 20, 1e-3, V=0.1, g=0.5, scheme="euler")
    s, _ = gpe.evolve(psi, 20, 1e-3, V=0.1, g=0.5, scheme="splitstep", laplacian="fd5")
    assert numpy.abs(e - s).max() < 1e-4


def test_ground_state_in_a_trap_beats_the_start(f64):
    X, Y = gpe.grid(24)
    V = gpe.harmonic_trap(X, Y, omega=0.3)
    psi0 = gpe.gaussian(X, Y, width=2.0, x0=2.0)
    psi, energies = gpe.ground_state(psi0, V, g=0.0, dt=0.05, n_steps=3000, scheme="splitstep")
    # the 2D harmonic oscillator's ground energy is ω (ħ = m = 1)
    assert abs(energies[-1] - 0.3) < 0.01
    assert abs(float(gpe.norm(psi)) - 1.0) < 1e-10
    assert energies[-1] <= energies[0]


def test_euler_refuses_an_unstable_step_and_states_the_bound(f64):
    psi = _field(f64, (8, 8), 0.1)
    dt_max = gpe.euler_max_dt(psi, V=0.0, g=0.0)
    assert abs(dt_max - 0.25) < 1e-12                  # 1 / (2 + 2) on dx = 1
    with pytest.raises(gpe.StabilityError, match=r"dt ≤ 0\.25"):
        gpe.euler_step(psi, 0.3)
    with pytest.raises(gpe.StabilityError, match="imaginary"):
        gpe.euler_step(psi, 0.6, imaginary=True)
    gpe.euler_step(psi, 0.45, imaginary=True)           # within 2/ω_max = 0.5


@pytest.mark.parametrize("bad,match", [
    (numpy.zeros((8, 8)), "complex"),
    (numpy.zeros((8,), complex), "shape"),
    (numpy.zeros((1, 1, 8, 8), complex), "shape"),
    (numpy.full((8, 8), numpy.nan, complex), "NaN"),
])
def test_bad_fields_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        gpe.euler_step(bad, 0.01)
    with pytest.raises(ValueError, match=match):
        gpe.splitstep_step(bad, 0.01)


def test_bad_settings_are_refused():
    psi = numpy.ones((8, 8), complex)
    with pytest.raises(ValueError, match="dt"):
        gpe.splitstep_step(psi, -0.1)
    with pytest.raises(ValueError, match="scheme"):
        gpe.evolve(psi, 2, 0.01, scheme="rk4")
    with pytest.raises(ValueError, match="V of shape"):
        gpe.splitstep_step(psi, 0.01, V=numpy.zeros((7, 8)))
    with pytest.raises(ValueError, match="laplacian"):
        gpe.splitstep_step(psi, 0.01, laplacian="fd9")
    with pytest.raises(ValueError, match="Re, Im"):
        gpe.GPELayer().forward(numpy.zeros((2, 8, 8, 3)))


def test_adjoint_identity_holds_for_one_step(f64):
    """⟨G, dψ'⟩ = ⟨adjoint(G), dψ⟩ for a small random direction (the definition of the adjoint)."""
    rng = f64
    psi = _field(rng, (6, 6))
    d = 1e-7 * _field(rng, (6, 6))
    Gp = _field(rng, (6, 6))
    for step, back in (gpe.get_stepper("euler"), gpe.get_stepper("splitstep")):
        lhs = (Gp.conj() * (step(psi + d, 0.05, V=0.2, g=0.8) - step(psi - d, 0.05, V=0.2, g=0.8)) / 2).real.sum()
        G, _ = back(psi, Gp, 0.05, V=0.2, g=0.8)
        rhs = (G.conj() * d).real.sum()
        assert cosine_similarity(numpy.array([lhs]), numpy.array([rhs])) > 0.999
        assert abs(lhs - rhs) < 1e-6 * abs(rhs)


@pytest.mark.parametrize("param_grads", [False, True])
def test_splitstep_keep_inner_gives_the_same_backward_bit_for_bit(param_grads):
    """evolve(..., keep_inner=True) keeps each step's inner fields instead of recomputing them in
    the backward (what GPELayer does): the same G and parameter gradients, bit for bit."""
    rng = numpy.random.default_rng(11)
    psi = (rng.normal(size=(3, 8, 10)) + 1j * rng.normal(size=(3, 8, 10))).astype(numpy.complex64)
    G = (rng.normal(size=psi.shape) + 1j * rng.normal(size=psi.shape)).astype(numpy.complex64)
    out = {}
    for keep in (False, True):
        psi_n, tape = gpe.evolve(psi, 4, 0.05, V=-0.1, g=0.4, scheme="splitstep", keep_inner=keep)
        assert (tape.inner is not None) == keep
        out[keep] = (psi_n,) + gpe.evolve_backward(tape, G, param_grads=param_grads)
    a, b = out[False], out[True]
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[2].keys() == b[2].keys() and all(numpy.asarray(a[2][k]).tobytes() == numpy.asarray(b[2][k]).tobytes()
                                              for k in a[2])
    _, tape = gpe.evolve(psi, 4, 0.05, V=-0.1, g=0.4, scheme="splitstep", keep_inner=True, checkpoint=2)
    assert tape.inner is None                    # with checkpoints the backward recomputes, as before
