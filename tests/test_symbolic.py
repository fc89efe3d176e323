"""neurophys.symbolic: trees, expansion, genetic search, STLSQ, engines, the label-free finder."""
import math
import warnings

import numpy as np
import pytest

from neurophys import symbolic as S
from neurophys.symbolic.expr import Const, Op, Var, constants, replace_at, with_constants


# ----------------------------------------------------------------- trees
def test_tree_evaluates_like_numpy_and_counts_nodes():
    x, y = S.variables("x", "y")
    e = 0.5 * S.square(x) + 3.0 * y / S.sqrt(x)
    X = np.array([[1.0, 2.0], [4.0, -1.0]])
    got = S.evaluate(e, X, ["x", "y"])
    want = 0.5 * X[:, 0] ** 2 + 3.0 * X[:, 1] / np.sqrt(X[:, 0])
    np.testing.assert_allclose(got, want)
    assert e.complexity() == 11
    assert str(e) == "0.5*x^2 + 3*y/sqrt(x)"
    assert "<sup>2</sup>" in S.to_html(e)


def test_trees_are_immutable_and_editable_by_copy():
    x = Var("x")
    e = Op("add", x, Const(2.0))
    with pytest.raises(AttributeError):
        e.op = "mul"
    e2 = replace_at(e, 2, Var("y"))
    assert str(e) == "x + 2" and str(e2) == "x + y"
    assert constants(e) == [2.0]
    assert str(with_constants(e, [5.0])) == "x + 5"


def test_expand_canonical_form_matches_different_shapes():
    x, y, vx, vy = S.variables("x", "y", "vx", "vy")
    a = 0.5 * (S.square(vx) + S.square(vy)) + 9.81 * y
    b = y * 9.81 + vx * vx * 0.5 + 0.5 * S.square(vy)
    assert S.expand(a) == S.expand(b)
    # sqrt(P)^2 = P and 1/sqrt(r^2) stays an opaque power
    c = 0.5 * S.square(S.sqrt(S.square(vx) + S.square(vy))) - 3.986 / S.sqrt(S.square(x) + S.square(y))
    d = 0.5 * S.square(vx) + 0.5 * S.square(vy) - 3.986 * S.inv(S.sqrt(S.square(x) + S.square(y)))
    assert S.expand(c).keys() == S.expand(d).keys()
    # sqrt(x^2) is |x|, not x
    assert S.expand(S.sqrt(S.square(x))) != S.expand(x)


def test_compare_laws_reports_coefficient_error_and_structure():
    x, v = S.variables("x", "v")
    true = 0.5 * S.square(v) + 2.5 * S.square(x)
    close = 0.501 * S.square(v) + 2.47 * S.square(x)          # the document's spring fit
    cmp = S.compare_laws(close, true)
    assert cmp.structure_match and cmp.coef_error == pytest.approx(0.012, rel=1e-6)
    wrong = 0.5 * S.square(v) + 2.5 * x
    assert not S.compare_laws(wrong, true).structure_match


def test_unknown_operator_and_missing_variable_are_clear_errors():
    with pytest.raises(ValueError, match="unknown operator"):
        Op("tanhh", Var("x"))
    with pytest.raises(ValueError, match="not in the data"):
        Var("q").evaluate({"x": np.ones(3)})
    with pytest.raises(ValueError, match="shape"):
        S.evaluate(Var("x"), np.ones((3, 3)), ["x", "y"])


# ----------------------------------------------------------------- search
def _planar_data(n=300, seed=0):
    g = np.random.default_rng(seed)
    r, th = g.uniform(0.5, 2.0, n), g.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.cos(th), r * np.sin(th), g.uniform(-2, 2, n), g.uniform(-2, 2, n)], 1)
    return X, ["x", "y", "vx", "vy"]


def test_genetic_search_finds_projectile_energy_with_pareto_front():
    X, names = _planar_data()
    y = 0.5 * (X[:, 2] ** 2 + X[:, 3] ** 2) + 9.81 * X[:, 1]
    front = S.GeneticSearch(names, population=40, islands=2, generations=25, seed=1).fit(X, y)
    comps = [c.complexity for c in front]
    losses = [c.loss for c in front]
    assert comps == sorted(comps) and all(b < a for a, b in zip(losses, losses[1:]))   # a real front
    best = front.best()
    x, yv, vx, vy = S.variables(*names)
    cmp = S.compare_laws(best.expr, 0.5 * (S.square(vx) + S.square(vy)) + 9.81 * yv)
    assert cmp.structure_match and cmp.coef_error < 1e-6
    assert best.r2 > 0.999999


def test_inner_constants_are_fitted_by_least_squares():
    g = np.random.default_rng(0)
    X = g.uniform(0.0, 3.0, (200, 1))
    y = 2.0 * np.sqrt(X[:, 0] + 1.7)
    fitted = S.fit_constants(Const(1.0) * S.sqrt(Var("x") + Const(0.5)), X, y, ["x"])
    assert constants(fitted) == pytest.approx([2.0, 1.7], rel=1e-6)


def test_search_rejects_bad_input():
    X, names = _planar_data(50)
    y = X[:, 0].copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        S.GeneticSearch(names, generations=1).fit(X, y)
    with pytest.raises(ValueError, match="X must be"):
        S.GeneticSearch(names, generations=1).fit(X[:, :3], X[:, 0])
    with pytest.raises(ValueError, match="unknown operator"):
        S.GeneticSearch(names, unary_ops=("nope",))


# ----------------------------------------------------------------- sparse + engines
def test_stlsq_finds_sparse_law_and_empty_library_errors():
    X, names = _planar_data()
    y = X[:, 0] * X[:, 3] - X[:, 1] * X[:, 2]                      # angular momentum
    terms = S.polynomial_terms(names, 2)
    law = S.sparse_fit(X, y, names, terms)
    x, yv, vx, vy = S.variables(*names)
    cmp = S.compare_laws(law, x * vy - yv * vx)
    assert cmp.structure_match and cmp.coef_error < 1e-9
    with pytest.raises(ValueError, match="empty"):
        S.stlsq(np.zeros((5, 0)), np.zeros(5))
    with pytest.raises(ValueError, match="empty"):
        S.sparse_fit(X, y, names, terms=[])


def test_discover_engines_and_pysr_fallback_says_so():
    X, names = _planar_data(200)
    y = 2.5 * X[:, 0] ** 2
    for engine in ("builtin", "sparse"):
        front = S.discover(X, y, names, engine=engine, generations=10, population=30) if engine == "builtin" \
            else S.discover(X, y, names, engine=engine)
        assert front.best().r2 > 0.999999
    ok, reason = S.pysr_status()
    if ok:
        pytest.skip("pysr is installed here; the fallback path is not exercised")
    with pytest.warns(RuntimeWarning, match="PySR unavailable"):
        front = S.discover(X, y, names, engine="pysr", generations=5, population=20)
    assert front.engine == "builtin" and "PySR unavailable" in front.note and "pip install" in front.note
    with pytest.raises(S.EngineUnavailable, match="pysr"):
        S.discover(X, y, names, engine="pysr", strict=True)
    with pytest.raises(ValueError, match="unknown engine"):
        S.discover(X, y, names, engine="julia")


def test_from_sympy_walks_the_tree():
    sympy = pytest.importorskip("sympy")
    x, y, vx = sympy.symbols("x y vx")
    e = 0.5 * vx ** 2 - 3.986 / sympy.sqrt(x ** 2 + y ** 2)
    t = S.from_sympy(e)
    X = np.array([[1.0, 1.0, 2.0], [0.5, -2.0, 1.0]])
    want = 0.5 * X[:, 2] ** 2 - 3.986 / np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2)
    np.testing.assert_allclose(S.evaluate(t, X, ["x", "y", "vx"]), want)


# ----------------------------------------------------------------- label-free
def _oscillators(n=30, T=200, k=4.0, seed=0):
    g = np.random.default_rng(seed)
    A, phi = g.uniform(0.5, 2.0, n), g.uniform(0, 2 * np.pi, n)
    t = np.linspace(0, 6, T)
    w = math.sqrt(k)
    x = A[:, None] * np.cos(w * t[None] + phi[:, None])
    v = -A[:, None] * w * np.sin(w * t[None] + phi[:, None])
    return t, np.stack([x, v], -1)


def test_find_conserved_recovers_oscillator_energy_without_labels():
    t, traj = _oscillators()
    res = S.find_conserved(traj, t, ["x", "v"], S.polynomial_terms(["x", "v"], 2))
    assert len(res) == 1
    x, v = S.variables("x", "v")
    law, r2 = res.explain(traj, 0.5 * traj[..., 1] ** 2 + 2.0 * traj[..., 0] ** 2)
    assert r2 > 0.9999
    cmp = S.compare_laws(law, 0.5 * S.square(v) + 2.0 * S.square(x), rel_tol=1e-4)
    assert cmp.structure_match and cmp.coef_error < 0.02


def test_find_conserved_ignores_quantities_equal_on_every_trajectory_and_damping():
    t, traj = _oscillators()
    # same amplitude on every trajectory: energy is conserved but identical everywhere -> not reported
    same = traj / np.abs(traj[..., 0] + 1j * traj[..., 1] / 2.0).max(axis=1, keepdims=True)[..., None]
    res = S.find_conserved(same, t, ["x", "v"], S.polynomial_terms(["x", "v"], 2))
    assert len(res) == 0
    damped = traj * np.exp(-0.3 * t)[None, :, None]
    assert len(S.find_conserved(damped, t, ["x", "v"], S.polynomial_terms(["x", "v"], 2))) == 0


def test_find_conserved_bad_input():
    t, traj = _oscillators(n=5, T=20)
    terms = S.polynomial_terms(["x", "v"], 2)
    bad = traj.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        S.find_conserved(bad, t, ["x", "v"], terms)
    with pytest.raises(ValueError, match="state variables"):
        S.find_conserved(traj, t, ["x", "v", "w"], terms)
    with pytest.raises(ValueError, match="empty"):
        S.find_conserved(traj, t, ["x", "v"], [])
    with pytest.raises(ValueError, match="increasing"):
        S.find_conserved(traj, t[::-1], ["x", "v"], terms)


def test_find_conserved_on_simulated_orbits_finds_energy_and_angular_momentum():
    M = pytest.importorskip("neurophys.physics.mechanics")
    t, states = M.simulate("orbit", 25, n_steps=150, integrator="rk45", seed=2)
    x, y, vx, vy = S.variables("x", "y", "vx", "vy")
    terms = S.polynomial_terms(["x", "y", "vx", "vy"], 2) + [S.inv(S.sqrt(S.square(x) + S.square(y)))]
    res = S.find_conserved(states, t, ["x", "y", "vx", "vy"], terms)
    assert len(res) == 2
    inv = M.invariants("orbit", states)
    for key, law in (("total", 0.5 * (S.square(vx) + S.square(vy)) - 3.986 * terms[-1]),
                     ("angular_momentum", x * vy - y * vx)):
        combo, r2 = res.explain(states, inv[key])
        assert r2 > 0.999
        cmp = S.compare_laws(combo, law, rel_tol=1e-4)
        assert cmp.structure_match and cmp.coef_error < 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.values(states[:2])


def test_system_libraries_and_true_laws_match_the_simulator():
    M = pytest.importorskip("neurophys.physics.mechanics")
    for system in M.SYSTEMS:
        t, states = M.simulate(system, 3, n_steps=10, integrator="verlet", seed=0)
        flat = states.reshape(-1, states.shape[-1])
        inv = M.invariants(system, flat)
        laws = S.true_laws(system)
        assert len(laws) == 3
        for quantity, law in laws.items():
            np.testing.assert_allclose(S.evaluate(law, flat, M.STATE_NAMES[system]), inv[quantity], rtol=1e-12)
        assert len(S.term_library(system)) == (15 if system == "orbit" else (14 if system == "projectile" else 5))
    with pytest.raises(ValueError, match="unknown system"):
        S.term_library("pendulum")
    with pytest.raises(ValueError, match="unknown system"):
        S.true_laws("pendulum")
