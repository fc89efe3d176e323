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
    import sympy
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



# ----------------------------------------------------------------- noise-aware discovery on new systems
# Systems the lessons do not use: a double-well particle, a particle in a 2-D central quartic
# potential (energy and angular momentum), Lotka-Volterra (its logarithmic invariant). Each has a
# damped (non-conserving) version: friction -γv, or logistic self-limitation for Lotka-Volterra.
def _integrate(rhs, s0, t):
    from scipy.integrate import solve_ivp
    n, d = s0.shape
    sol = solve_ivp(lambda _t, y: rhs(y.reshape(n, d).T).T.ravel(), (t[0], t[-1]), s0.ravel(), t_eval=t,
                    rtol=1e-10, atol=1e-12, method="DOP853")
    return sol.y.reshape(n, d, -1).transpose(0, 2, 1)


def _double_well(damping, n=30, T=200, seed=0):
    g = np.random.default_rng(seed)
    s0 = np.stack([g.uniform(-1.6, 1.6, n), g.uniform(-1, 1, n)], 1)
    t = np.linspace(0, 10, T)
    states = _integrate(lambda s: np.stack([s[1], s[0] - s[0] ** 3 - damping * s[1]]), s0, t)
    x, v = S.variables("x", "v")
    laws = [0.5 * S.square(v) + 0.25 * S.square(S.square(x)) - 0.5 * S.square(x)]
    return t, states, ["x", "v"], S.polynomial_terms(["x", "v"], 4), laws


def _central_quartic(damping, n=30, T=200, seed=0):
    g = np.random.default_rng(seed)
    s0 = np.concatenate([g.uniform(-1.5, 1.5, (n, 2)), g.uniform(-1, 1, (n, 2))], 1)
    t = np.linspace(0, 10, T)

    def rhs(s):
        x, y, vx, vy = s
        r2 = x * x + y * y
        return np.stack([vx, vy, -r2 * x - damping * vx, -r2 * y - damping * vy])
    names = ["x", "y", "vx", "vy"]
    terms = S.build_library(names, degree=2, expressions=["(x^2 + y^2)^2"])
    x, y, vx, vy = S.variables(*names)
    laws = [0.5 * (S.square(vx) + S.square(vy)) + 0.25 * S.square(S.square(x) + S.square(y)), x * vy - y * vx]
    return t, _integrate(rhs, s0, t), names, terms, laws


def _lotka_volterra(damping, n=30, T=200, seed=0, a=1.0, b=0.5, c=0.75, d=0.25):
    g = np.random.default_rng(seed)
    s0 = np.stack([g.uniform(1.0, 5.0, n), g.uniform(0.5, 3.0, n)], 1)
    t = np.linspace(0, 15, T)
    states = _integrate(lambda s: np.stack([a * s[0] - b * s[0] * s[1] - damping * s[0] ** 2,
                                            d * s[0] * s[1] - c * s[1]]), s0, t)
    terms = S.build_library(["x", "y"], degree=2, expressions=["log(x)", "log(y)"])
    x, y = S.variables("x", "y")
    laws = [d * x - c * Op("log", x) + b * y - a * Op("log", y)]
    return t, states, ["x", "y"], terms, laws


SYSTEMS = {"double_well": (_double_well, 0.2), "central_quartic": (_central_quartic, 0.2),
           "lotka_volterra": (_lotka_volterra, 0.1)}
_CACHE = {}


def _system(name, damped):
    if (name, damped) not in _CACHE:
        make, damping = SYSTEMS[name]
        _CACHE[name, damped] = make(damping if damped else 0.0)
    return _CACHE[name, damped]


def _noisy(states, level, seed=1):
    """Gaussian measurement noise of ``level`` times each variable's spread."""
    if level == 0:
        return states
    sd = states.reshape(-1, states.shape[-1]).std(axis=0)
    return states + level * sd * np.random.default_rng(seed).standard_normal(states.shape)


@pytest.mark.parametrize("name", list(SYSTEMS))
@pytest.mark.parametrize("noise", [1e-4, 1e-3])
def test_default_call_finds_each_true_invariant_under_noise_and_nothing_else(name, noise):
    t, states, names, terms, laws = _system(name, damped=False)
    res = S.find_conserved(_noisy(states, noise), t, names, terms)
    assert len(res) == len(laws), res.report()
    for law in laws:             # each true law is one found quantity, coefficients within 1 % up to scale
        errors = [S.compare_laws(q.expr, law, rel_tol=1e-9, normalise=True) for q in res.quantities]
        best = min((c.coef_error for c in errors if c.structure_match), default=math.inf)
        assert best < 0.01, (law, [str(q.expr) for q in res.quantities])
    for q in res.quantities:     # drift at the measured noise floor, decided with confidence
        assert q.drift <= 2.0 * q.noise_floor and q.confidence >= 0.95
    text = "\n".join(res.notes)
    assert f"found {len(laws)} conserved" in text and "rejected" in text and "barely differ" not in text
    nxt = res.drifts[len(laws)]                  # the first rejected candidate is far above its floor
    assert nxt > 10 * res.drifts[len(laws) - 1] and res.gaps[len(laws) - 1] > 10


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_damped_versions_have_no_conserved_quantity_at_any_noise_level(name):
    t, states, names, terms, _ = _system(name, damped=True)
    for noise in (0.0, 1e-4, 1e-3, 1e-2):
        res = S.find_conserved(_noisy(states, noise), t, names, terms, n_bootstrap=20)
        assert len(res) == 0, (noise, res.report())
        assert "found no conserved quantity" in res.notes[1]
        assert res.ratios[0] > 5          # the best candidate moves far more than the noise explains


def test_noise_floor_tracks_the_noise_and_the_decision_stops_at_max_drift():
    t, states, names, terms, laws = _system("double_well", damped=False)
    drifts = []
    for noise in (1e-4, 1e-3, 1e-2, 1e-1):
        res = S.find_conserved(_noisy(states, noise), t, names, terms, n_bootstrap=0)
        drifts.append(res.drifts[0])
        assert 0.8 < res.ratios[0] < 1.25            # the true invariant sits on its noise floor
    assert np.allclose(np.diff(np.log10(drifts)), 1.0, atol=0.15)   # drift ∝ noise
    assert len(res) == 0 and any("wander" in n for n in res.notes)    # 1e-1: drift > max_drift


def test_find_conserved_takes_trajectories_of_different_lengths():
    t, states, names, terms, laws = _system("double_well", damped=False)
    trajs = [s[: 120 + 3 * i] for i, s in enumerate(states)]
    times = [t[: 120 + 3 * i] for i in range(len(states))]
    res = S.find_conserved(trajs, times, names, terms, n_bootstrap=0)
    assert len(res) == 1 and "120 to 200 samples" in res.notes[0]
    assert S.compare_laws(res.quantities[0].expr, laws[0], rel_tol=1e-9, normalise=True).coef_error < 1e-4
    with pytest.raises(ValueError, match="samples"):
        S.find_conserved([s[:4] for s in trajs], [ti[:4] for ti in times], names, terms)


# ----------------------------------------------------------------- the user's own trajectories
def _write_csv(path, rows, header="id,t,x,v"):
    path.write_text(header + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows) + "\n")
    return path


def _rows(n_traj=3, T=10):
    return [[f"traj{i}", k * 0.1, np.cos(k * 0.1 + i), -np.sin(k * 0.1 + i)] for i in range(n_traj) for k in range(T)]


def test_load_trajectories_csv_and_npz_round_trip(tmp_path):
    t, states, names, terms, _ = _system("double_well", damped=False)
    for suffix in (".csv", ".npz"):
        path = S.save_trajectories(tmp_path / f"dw{suffix}", states[:6], t, names)
        data = S.load_trajectories(path, "id", "t", names)
        assert len(data) == 6 and data.names == names and data.ids[0] == "0"
        st, tt = data.stacked()
        np.testing.assert_allclose(st, states[:6])
        np.testing.assert_allclose(tt, t)


def test_load_trajectories_faults_are_clear(tmp_path):
    rows = _rows()
    ok = S.load_trajectories(_write_csv(tmp_path / "ok.csv", rows), "id", "t", ["x", "v"])
    assert ok.lengths == [10, 10, 10]
    with pytest.raises(ValueError, match=r"column\(s\) 'w' not found; the columns are: id, t, x, v"):
        S.load_trajectories(tmp_path / "ok.csv", "id", "t", ["x", "w"])
    missing = [r[:] for r in rows]
    missing[4][2] = ""
    with pytest.raises(ValueError, match=r"column 'x' has 1 missing .* line 6"):
        S.load_trajectories(_write_csv(tmp_path / "m.csv", missing), "id", "t", ["x", "v"])
    missing[4][2] = "nan"
    with pytest.raises(ValueError, match="missing or non-finite"):
        S.load_trajectories(_write_csv(tmp_path / "m2.csv", missing), "id", "t", ["x", "v"])
    unsorted = [r[:] for r in rows]
    unsorted[2], unsorted[3] = unsorted[3], unsorted[2]
    with pytest.raises(ValueError, match=r"'traj0' is not sorted by time: t = 0.2 comes after t = 0.3 .*sort=True"):
        S.load_trajectories(_write_csv(tmp_path / "u.csv", unsorted), "id", "t", ["x", "v"])
    fixed = S.load_trajectories(tmp_path / "u.csv", "id", "t", ["x", "v"], sort=True)
    assert np.all(np.diff(fixed.times[0]) > 0) and any("sorted" in n for n in fixed.notes)
    dup = rows[:3] + [rows[2]] + rows[3:]
    with pytest.raises(ValueError, match="has the time 0.2 twice"):
        S.load_trajectories(_write_csv(tmp_path / "d.csv", dup), "id", "t", ["x", "v"])
    short = rows + [["tiny", 0.0, 1.0, 0.0], ["tiny", 0.1, 1.0, 0.1]]
    with pytest.raises(ValueError, match=r"fewer than 7 samples: 'tiny' \(2\)"):
        S.load_trajectories(_write_csv(tmp_path / "s.csv", short), "id", "t", ["x", "v"])
    unequal = rows[:-2]
    data = S.load_trajectories(_write_csv(tmp_path / "n.csv", unequal), "id", "t", ["x", "v"])
    assert data.lengths == [10, 10, 8] and any("different lengths (8 to 10" in n for n in data.notes)
    with pytest.raises(ValueError, match="different lengths"):
        data.stacked()
    with pytest.raises(ValueError, match="at least 2 are needed"):
        S.load_trajectories(_write_csv(tmp_path / "one.csv", rows[:10]), "id", "t", ["x", "v"])
    with pytest.raises(ValueError, match="not a number in line 3"):
        S.load_trajectories(_write_csv(tmp_path / "b.csv", [rows[0], [rows[1][0], "abc"] + rows[1][2:]] + rows[2:]),
                            "id", "t", ["x", "v"])


def test_parser_builds_trees_and_runs_nothing():
    e = S.parse_expression("0.5*omega^2 - 9.81*cos(theta) + 1/sqrt(x**2 + y**2)", ["theta", "omega", "x", "y"])
    X = np.array([[0.3, 1.2, 1.0, 2.0], [-1.0, 0.5, 0.5, -0.5]])
    want = 0.5 * X[:, 1] ** 2 - 9.81 * np.cos(X[:, 0]) + 1 / np.hypot(X[:, 2], X[:, 3])
    np.testing.assert_allclose(S.evaluate(e, X, ["theta", "omega", "x", "y"]), want)
    assert str(S.parse_expression("-x^2 + 2*(x - y)", ["x", "y"])) == "-x^2 + 2*(x - y)"
    for text, why in [('__import__("os").system("true")', "cannot read"), ("x.real", "cannot read"),
                      ("exec(x)", "unknown function 'exec'"), ("z + 1", "unknown name 'z'"),
                      ("x^y", "powers must be numbers"), ("(x + 1", "expected '\\)'"), ("x +* 2", "expected")]:
        with pytest.raises(ValueError, match=why):
            S.parse_expression(text, ["x", "y"])
    lib = S.build_library(["theta", "omega"], degree=1, trig=["theta"], harmonics=2, expressions=["theta*omega"])
    assert [str(t) for t in lib] == ["theta", "omega", "sin(theta)", "cos(theta)", "sin(2*theta)", "cos(2*theta)",
                                     "theta*omega"]
    assert str(S.inverse_distance("x", "y")) == "inv(sqrt(x^2 + y^2))"
    with pytest.raises(ValueError, match="unknown variable 'phi'"):
        S.build_library(["theta"], trig=["phi"])


def test_conserved_example_reads_a_noisy_csv_with_trig_terms(capsys):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "ex_conserved", Path(__file__).resolve().parents[1] / "examples" / "symbolic_conserved_quantities.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    res = ex.main(["--demo"])
    theta, omega = S.variables("theta", "omega")
    assert len(res) == 1
    cmp = S.compare_laws(res.quantities[0].expr, 0.5 * S.square(omega) - 9.81 * Op("cos", theta), rel_tol=1e-9,
                         normalise=True)
    assert cmp.structure_match and cmp.coef_error < 0.01
    out = capsys.readouterr().out
    assert "different lengths" in out and "drift" in out and "conserved" in out


# ----------------------------------------------------------------- a regression a researcher can drive
def _fit_example():
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "ex_fit", Path(__file__).resolve().parents[1] / "examples" / "symbolic_fit_csv.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    return ex


def test_fit_csv_example_recovers_the_pendulum_trig_law(tmp_path, capsys):
    ex = _fit_example()
    g = np.random.default_rng(3)
    th, om = g.uniform(-3, 3, 300), g.uniform(-4, 4, 300)
    path = tmp_path / "pendulum.csv"
    np.savetxt(path, np.stack([th, om, 0.5 * om ** 2 - 9.81 * np.cos(th) + 2.0], 1), delimiter=",",
               header="theta,omega,E", comments="")
    theta, omega = S.variables("theta", "omega")
    true = 0.5 * S.square(omega) - 9.81 * Op("cos", theta) + 2.0
    front = ex.main([str(path), "--operators", "add,sub,mul,div,square,sin,cos", "--no-progress",
                     "--time-budget", "20"])
    cmp = S.compare_laws(front.best().expr, true)
    assert cmp.structure_match and cmp.coef_error < 1e-6, front.table()
    out = capsys.readouterr().out
    assert "complexity" in out and "score" in out and "<<" in out and "\\cos" in out
    sparse = ex.main([str(path), "--engine", "sparse", "--trig", "theta"])      # constant term by default
    assert S.compare_laws(sparse.best().expr, true).coef_error < 1e-6


def test_front_table_exports_sympy_and_latex_and_respects_the_time_budget():
    import sympy
    g = np.random.default_rng(0)
    X = g.uniform(-2, 2, (200, 2))
    y = 0.5 * X[:, 1] ** 2 - 9.81 * np.cos(X[:, 0])
    front = S.discover(X, y, ["theta", "omega"], operators=("add", "mul", "square", "cos"), generations=30,
                       population=40, islands=2, seed=0, progress=False)
    rows = front.equations()
    assert [r["complexity"] for r in rows] == sorted(r["complexity"] for r in rows)
    assert sum(r["chosen"] for r in rows) == 1
    chosen = next(r for r in rows if r["chosen"])
    th, om = sympy.symbols("theta omega", real=True)
    diff = sympy.expand(chosen["sympy_format"] - (0.5 * om ** 2 - 9.81 * sympy.cos(th)))
    assert all(abs(float(c)) < 1e-9 for c in diff.as_coefficients_dict().values()), diff
    assert chosen["latex"] == r"0.5 \omega^{2} - 9.81 \cos{\left(\theta \right)}"
    assert S.to_sympy(chosen["expr"], rational=True) == om ** 2 / 2 - sympy.Rational(981, 100) * sympy.cos(th)
    back = S.from_sympy(chosen["sympy_format"])
    np.testing.assert_allclose(S.evaluate(back, X, ["theta", "omega"]), y, atol=1e-9)
    slow = S.discover(X, y + X[:, 0] ** 3, ["theta", "omega"], generations=10_000, population=30,
                      max_seconds=0.5, progress=False)
    assert "time budget of 0.5 s" in slow.stopped and slow.seconds < 5
    with pytest.raises(ValueError, match="unknown operator"):
        S.discover(X, y, ["theta", "omega"], operators=("add", "sinh"))


def test_every_engine_has_a_constant_term_by_default():
    X, names = _planar_data(200)
    y = 2.5 * X[:, 0] ** 2 + 7.0
    for engine in ("builtin", "sparse"):
        front = S.discover(X, y, names, engine=engine, generations=10, population=30, progress=False) \
            if engine == "builtin" else S.discover(X, y, names, engine=engine)
        assert front.best().r2 > 0.999999, engine
    no_const = S.discover(X, y, names, engine="sparse", intercept=False)
    assert no_const.best().r2 < 0.9
