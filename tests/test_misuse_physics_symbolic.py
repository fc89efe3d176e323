"""Misuse of the GPE, mechanics and symbolic entry points: named errors instead of silently wrong
results, NaN fields or raw NumPy errors (a review's findings, one test each)."""
import numpy
import pytest

from neurophys import symbolic as S
from neurophys.physics import gpe
from neurophys.physics import mechanics as M
from neurophys.validate import NeurophysInputError


# ---------------------------------------------------------------- symbolic: names, seeds, bootstrap
def _law_data():
    rng = numpy.random.default_rng(0)
    X = rng.random((40, 2))
    return X, 3 * X[:, 0] ** 2 + X[:, 1]


def test_discover_refuses_repeated_variable_names():
    X, y = _law_data()
    assert S.discover(X, y, ["a", "b"], engine="sparse").best().r2 > 0.999999   # the exact law with distinct names
    for engine in ("sparse", "builtin"):
        with pytest.raises(NeurophysInputError, match=r"names has repeated name\(s\) 'a'"):
            S.discover(X, y, ["a", "a"], engine=engine, population=10, generations=1) if engine == "builtin" \
                else S.discover(X, y, ["a", "a"], engine=engine)
    with pytest.raises(NeurophysInputError, match="repeated name"):
        S.fit_constants(S.parse_expression("a", ["a"]), X, y, ["a", "a"])
    with pytest.raises(NeurophysInputError, match="repeated name"):
        S.library_matrix(S.polynomial_terms(["x"], 2), X, ["x", "x"])


def test_find_conserved_refuses_repeated_names_and_bad_bootstrap_settings():
    t, states = M.simulate("spring", 4, n_steps=40, seed=0)
    terms = S.polynomial_terms(["x", "v"], 2)
    with pytest.raises(NeurophysInputError, match=r"repeated name\(s\) 'x'"):
        S.find_conserved(states, t, ["x", "x"], terms)
    with pytest.raises(NeurophysInputError, match="n_bootstrap"):
        S.find_conserved(states, t, ["x", "v"], terms, n_bootstrap=-1)
    with pytest.raises(NeurophysInputError, match="n_bootstrap"):
        S.find_conserved(states, t, ["x", "v"], terms, n_bootstrap=2.5)
    with pytest.raises(NeurophysInputError, match="seed"):
        S.find_conserved(states, t, ["x", "v"], terms, seed=-1)


def test_discover_names_a_negative_seed():
    X, y = _law_data()
    with pytest.raises(NeurophysInputError, match="seed must be a non-negative integer"):
        S.discover(X, y, ["a", "b"], engine="builtin", population=10, generations=1, seed=-1)
    with pytest.raises(NeurophysInputError, match="seed"):
        S.GeneticSearch(["a", "b"], seed=-3)


# ---------------------------------------------------------------- symbolic: save_trajectories
def test_save_trajectories_needs_one_name_per_state_column(tmp_path):
    t, states = M.simulate("spring", 3, n_steps=20, seed=0)
    for names in (["x"], ["x", "v", "w"]):
        with pytest.raises(NeurophysInputError, match=r"names has \d name\(s\).*shape \(20, 2\)"):
            S.save_trajectories(tmp_path / "tr.csv", states, t, names)
    assert not (tmp_path / "tr.csv").exists()
    with pytest.raises(NeurophysInputError, match="repeated name"):
        S.save_trajectories(tmp_path / "tr.csv", states, t, ["x", "x"])
    with pytest.raises(NeurophysInputError, match="ids has 2 entries for 3 trajectories"):
        S.save_trajectories(tmp_path / "tr.csv", states, t, ["x", "v"], ids=["a", "b"])
    with pytest.raises(NeurophysInputError, match="ids has repeated id"):
        S.save_trajectories(tmp_path / "tr.csv", states, t, ["x", "v"], ids=["a", "b", "a"])
    with pytest.raises(NeurophysInputError, match="t for trajectory 0"):
        S.save_trajectories(tmp_path / "tr.csv", states, t[:5], ["x", "v"])


def test_save_trajectories_quotes_ids_so_they_read_back(tmp_path):
    t, states = M.simulate("spring", 3, n_steps=20, seed=0)
    ids = ["a,b", 'say "hi"', "c"]
    path = S.save_trajectories(tmp_path / "tr.csv", states, t, ["x", "v"], ids=ids)
    data = S.load_trajectories(path, "id", "t", ["x", "v"])
    assert data.ids == ids
    assert all(numpy.array_equal(a, b) for a, b in zip(data.states, states))
    assert all(numpy.array_equal(a, t) for a in data.times)
    # plain ids are written exactly as before: id,t,x,v and unquoted rows
    plain = (tmp_path / "plain.csv")
    S.save_trajectories(plain, states, t, ["x", "v"])
    lines = plain.read_text().splitlines()
    assert lines[0] == "id,t,x,v" and lines[1] == ",".join(["0"] + [repr(float(v)) for v in (t[0], *states[0, 0])])


# ---------------------------------------------------------------- mechanics: save/load
def test_dataset_path_without_suffix_reads_back(tmp_path):
    t, states = M.simulate("spring", 3, n_steps=20, seed=0)
    M.save_dataset(tmp_path / "ds", "spring", t, states)
    assert (tmp_path / "ds.npz").exists()
    for path in (tmp_path / "ds", str(tmp_path / "ds"), tmp_path / "ds.npz"):
        assert numpy.array_equal(M.load_dataset(path)["states"], states)
    with pytest.raises(FileNotFoundError, match="no dataset at .*nope"):
        M.load_dataset(tmp_path / "nope")


def test_save_dataset_needs_one_time_per_sample(tmp_path):
    t, states = M.simulate("spring", 3, n_steps=20, seed=0)
    with pytest.raises(NeurophysInputError, match=r"t must hold one time per sample: shape \(20,\).*got shape \(5,\)"):
        M.save_dataset(tmp_path / "ds.npz", "spring", t[:5], states)
    with pytest.raises(NeurophysInputError, match="t must hold one time per sample"):
        M.save_dataset(tmp_path / "ds.npz", "spring", numpy.stack([t, t]), states)
    assert not (tmp_path / "ds.npz").exists()


# ---------------------------------------------------------------- GPE: normalise, V, g, n_steps
def _psi(n=8):
    X, Y = gpe.grid(n)
    return gpe.normalise(gpe.gaussian(X, Y, width=2.0))


def test_normalise_refuses_a_zero_field_and_a_bad_N():
    psi = _psi()
    with pytest.raises(NeurophysInputError, match="psi is zero everywhere"):
        gpe.normalise(psi * 0)
    batch = numpy.stack([psi, psi * 0])
    with pytest.raises(NeurophysInputError, match=r"zero everywhere \(field 1 of the batch\)"):
        gpe.normalise(batch)
    for N in (-1.0, 0.0, float("nan"), "1"):
        with pytest.raises(NeurophysInputError, match=r"N \(the particle number\)"):
            gpe.normalise(psi, N=N)
    assert abs(float(gpe.norm(gpe.normalise(psi, N=3.0))) - 3.0) < 1e-5


@pytest.mark.parametrize("scheme", ["euler", "splitstep"])
def test_evolve_names_bad_V_and_g_instead_of_blaming_dt(scheme):
    psi = _psi()
    for kw, name in (({"V": float("nan")}, "V"), ({"g": float("nan")}, "g"), ({"g": "0.3"}, "g"),
                     ({"V": "0.1"}, "V"), ({"g": True}, "g"), ({"V": 1j}, "V"), ({"g": float("inf")}, "g"),
                     ({"V": numpy.full((8, 8), numpy.nan)}, "V")):
        with pytest.raises(NeurophysInputError, match=rf"^{name} \("):
            gpe.evolve(psi, 3, 0.01, scheme=scheme, **kw)
    step = gpe.euler_step if scheme == "euler" else gpe.splitstep_step
    with pytest.raises(NeurophysInputError, match=r"^g \(the interaction strength\) must be finite"):
        step(psi, 0.01, g=float("nan"))
    with pytest.raises(NeurophysInputError, match=r"^V \(the potential\) must be finite"):
        step(psi, 0.01, V=float("inf"))
    back = gpe.euler_step_backward if scheme == "euler" else gpe.splitstep_step_backward
    with pytest.raises(NeurophysInputError, match=r"^g \("):
        back(psi, psi, 0.01, g=float("nan"))


def test_gpe_layer_checks_V_and_g_when_built():
    for kw, name in (({"g": float("nan")}, "g"), ({"V": float("nan")}, "V"), ({"g": "0.3"}, "g"),
                     ({"V": numpy.array([0.0, numpy.inf])}, "V")):
        with pytest.raises(NeurophysInputError, match=rf"^{name} \("):
            gpe.GPELayer(**kw)
        with pytest.raises(NeurophysInputError, match=rf"^{name} \("):
            gpe.GPELayer(scheme="splitstep", **kw)


def test_energy_names_V_of_the_wrong_grid():
    psi = _psi()
    with pytest.raises(NeurophysInputError, match=r"V of shape \(3, 3\) does not match the field of shape \(8, 8\); "
                                                  r"expected a number or an array of shape \(8, 8\)"):
        gpe.energy(psi, V=numpy.ones((3, 3)))
    with pytest.raises(NeurophysInputError, match=r"^g \("):
        gpe.energy(psi, g=float("nan"))


def test_evolve_refuses_a_fractional_number_of_steps():
    psi = _psi()
    with pytest.raises(NeurophysInputError, match=r"n_steps must be an integer >= 0, got 2.7"):
        gpe.evolve(psi, 2.7, 0.01)
    with pytest.raises(NeurophysInputError, match="n_steps"):
        gpe.evolve(psi, -1, 0.01)
    with pytest.raises(NeurophysInputError, match="checkpoint"):
        gpe.evolve(psi, 4, 0.01, checkpoint=1.5)
    assert gpe.evolve(psi, 2.0, 0.01)[1].n_steps == 2          # a whole float is still 2 steps


def test_valid_V_and_g_give_the_same_numbers_as_before():
    """The checks only look: numbers, NumPy scalars, maps and batches of maps evolve as they did."""
    psi = _psi()
    batch = numpy.stack([psi, 0.5 * psi])
    X, Y = gpe.grid(8)
    V_map = gpe.harmonic_trap(X, Y, omega=0.3)
    for field, V, g in ((psi, -0.15, 0.3), (psi, numpy.float64(-0.15), numpy.float32(0.3)), (psi, V_map, 1),
                        (batch, numpy.stack([V_map, -V_map]), 0.3), (psi, 0, 0)):
        for scheme in ("euler", "splitstep"):
            out, _ = gpe.evolve(field, 3, 0.01, V, g, scheme=scheme)
            ref = field
            for _ in range(3):
                step = gpe.euler_step if scheme == "euler" else gpe.splitstep_step
                ref = step(ref, 0.01, V, g, check=False)
            assert numpy.array_equal(out, ref)


def test_the_fused_gpe_path_checks_n_steps_and_g_like_evolve():
    """With the kernels wanted (here: their CPU emulation), gpe.evolve's own checks still apply."""
    from neurophys.kernels import dispatch, loader
    from neurophys.validate import NeurophysInputError
    psi = (numpy.ones((2, 8, 8)) * 0.1).astype(numpy.complex64)
    with loader.host_emulation():
        with pytest.raises(NeurophysInputError, match="n_steps"):
            dispatch.gpe_evolve(psi, 2.7, 0.01, V=0.0, g=0.1, scheme="euler")
        with pytest.raises(NeurophysInputError, match=r"\bg\b"):
            dispatch.gpe_evolve(psi, 2, 0.01, V=0.0, g=float("nan"), scheme="euler")


def test_ground_state_collapse_names_the_attractive_interaction_not_only_dt():
    """A strongly attractive g has no ground state: the error says so instead of only blaming dt,
    and split-step is not suggested to a run that already uses it."""
    from neurophys.physics import gpe
    from neurophys.validate import DivergenceError
    X, Y = gpe.grid(16)
    with numpy.errstate(all="ignore"), pytest.raises(DivergenceError) as e:
        gpe.ground_state(gpe.gaussian(X, Y, width=3.0), V=gpe.harmonic_trap(X, Y, omega=0.5), g=-1e6, dt=0.05,
                         n_steps=50)
    assert "too attractive" in str(e.value) and "dt=0.05" in str(e.value)
    assert "splitstep" not in str(e.value)
