"""Simulators of neurophys.physics.mechanics: shapes, physics, invariants, bad input."""
import numpy as np
import pytest

from neurophys.physics import mechanics as M


@pytest.mark.parametrize("system", M.SYSTEMS)
@pytest.mark.parametrize("integrator", M.INTEGRATORS)
def test_shapes_and_energy_conserved(system, integrator):
    t, s = M.simulate(system, n_trajectories=5, n_steps=30, integrator=integrator, seed=1)
    assert t.shape == (30,) and t[0] == 0.0 and np.isclose(t[-1], M.DEFAULT_T_MAX[system])
    assert s.shape == (5, 30, M.state_dim(system))
    inv = M.invariants(system, s)
    keys = {"kinetic", "potential", "total"} | ({"angular_momentum"} if system == "orbit" else set())
    assert set(inv) == keys
    assert np.allclose(inv["total"], inv["kinetic"] + inv["potential"])
    assert M.relative_drift(inv["total"]).max() < 1e-4
    if system == "orbit":
        assert M.relative_drift(inv["angular_momentum"]).max() < 1e-6


def test_initial_conditions_are_random_and_seeded():
    a = M.initial_conditions("orbit", 50, seed=3)
    b = M.initial_conditions("orbit", 50, seed=3)
    c = M.initial_conditions("orbit", 50, seed=4)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    E = M.invariants("orbit", a)["total"]
    assert np.all(E < 0), "all orbits are bound (E < 0)"
    assert E.std() > 0.1 * abs(E.mean()), "initial energies should vary between trajectories"


def test_projectile_matches_closed_form():
    """x = vx0 t,  y = y0 + vy0 t − ½ g t²."""
    t, s = M.simulate("projectile", 3, n_steps=20, integrator="verlet")
    s0 = s[:, 0]
    x = s0[:, 2:3] * t
    y = s0[:, 1:2] + s0[:, 3:4] * t - 0.5 * 9.81 * t ** 2
    assert np.allclose(s[..., 0], x, atol=1e-9) and np.allclose(s[..., 1], y, atol=1e-9)


def test_spring_matches_closed_form_and_integrators_agree():
    """x(t) = x0 cos ωt + (v0/ω) sin ωt."""
    t, s = M.simulate("spring", 4, n_steps=50, integrator="rk45")
    w = np.sqrt(5.0)
    x0, v0 = s[:, 0, 0:1], s[:, 0, 1:2]
    assert np.allclose(s[..., 0], x0 * np.cos(w * t) + v0 / w * np.sin(w * t), atol=1e-6)
    _, sv = M.simulate("spring", 4, n_steps=50, integrator="verlet", dt=1e-3)
    assert np.allclose(s, sv, atol=1e-3)


def test_verlet_energy_bounded_rk45_drifts_at_loose_tolerance():
    """Symplectic Verlet: bounded energy error; RK45 at loose tolerance: secular drift."""
    t, sv = M.simulate("spring", 3, t_max=200.0, n_steps=400, integrator="verlet", dt=0.05)
    t, sr = M.simulate("spring", 3, t_max=200.0, n_steps=400, integrator="rk45", rtol=1e-3, atol=1e-6)
    Ev, Er = M.invariants("spring", sv)["total"], M.invariants("spring", sr)["total"]
    dv, dr = M.relative_drift(Ev), M.relative_drift(Er)
    assert np.median(dv) < 0.01
    assert np.median(dr) > np.median(dv)
    # Verlet's error is bounded: the second half is no worse than the first half
    err = np.abs(Ev - Ev[:, :1])
    assert err[:, 200:].max() < 2 * err[:, :200].max() + 1e-12


def test_dataset_roundtrip(tmp_path):
    path = tmp_path / "orbit.npz"
    t, s = M.generate_dataset("orbit", path, n_trajectories=4, n_steps=10, integrator="verlet")
    d = M.load_dataset(path)
    assert d["system"] == "orbit" and d["state_names"] == ("x", "y", "vx", "vy")
    assert np.array_equal(d["states"], s) and np.array_equal(d["t"], t)
    assert d["params"] == {"m": 1.0, "GM": 3.986}
    assert d["angular_momentum"].shape == (4, 10)
    with np.load(path, allow_pickle=False) as f:  # no pickled objects inside
        assert "states" in f.files


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown system 'pendulum'"):
        M.simulate("pendulum", 2)
    with pytest.raises(ValueError, match="unknown integrator"):
        M.simulate("spring", 2, integrator="euler")
    with pytest.raises(ValueError, match="must end in 2 state variables"):
        M.invariants("spring", np.zeros((3, 10, 4)))
    bad = np.ones((2, 5, 4))
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M.invariants("orbit", bad)
    with pytest.raises(ValueError, match="unstable"):
        M.simulate("spring", 2, integrator="verlet", dt=1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        M.simulate("spring", 2, g=9.81)
    with pytest.raises(ValueError, match="initial_states"):
        M.simulate("orbit", initial_states=np.zeros((2, 2)))


def test_verlet_step_matches_simulate():
    """The public one-step function and the integrator's inner loop are the same scheme."""
    y0 = M.initial_conditions("orbit", 3, seed=2)
    _, s = M.simulate("orbit", t_max=0.01, n_steps=2, integrator="verlet", dt=0.01, initial_states=y0)
    q, v, _ = M.velocity_verlet_step("orbit", y0[:, :2], y0[:, 2:], 0.01)
    assert np.allclose(s[:, 1], np.concatenate([q, v], axis=1), rtol=0, atol=1e-14)


def test_rk45_failure_is_reported_or_marked():
    """A plunging orbit (L ≈ 0) at loose tolerance: a clear error, or NaN + info['failed']."""
    y0 = np.array([[1.0, 0.0, 0.0, 1e-7]])
    with pytest.raises(ValueError, match="RK45 failed on trajectory 0"):
        M.simulate("orbit", t_max=5.0, initial_states=y0, rtol=1e-3, atol=1e-6)
    t, s, info = M.simulate("orbit", t_max=5.0, initial_states=y0, rtol=1e-3, atol=1e-6,
                            on_failure="nan", return_info=True)
    assert info["failed"] == [0] and np.isnan(s[0, -1]).all() and np.isfinite(s[0, 0]).all()
