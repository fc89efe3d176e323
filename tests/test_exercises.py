"""The coding exercises: every check fails the stub and passes the reference solution, fails
plausible wrong answers, and refuses a library shortcut; the hand-out and the CLI work."""
import importlib.util
import sys
from pathlib import Path

import pytest

import neurophys
from neurophys import cli, exercises as X

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
LESSONS = [f"{n:02d}" for n in range(1, 14)]


def _solution_text(n):
    return (SOLUTIONS / f"ex{n}.py").read_text()


def _check_text(tmp_path, n, text, exercise=None):
    """Write ``text`` as a student's exNN.py and check it."""
    (tmp_path / f"ex{n}.py").write_text(text)
    return X.check(n, exercise=exercise, path=tmp_path)


def _wrong(tmp_path, n, old, new, exercise):
    text = _solution_text(n)
    assert old in text, f"the mutation target is not in solutions/ex{n}.py: {old!r}"
    (v,) = _check_text(tmp_path, n, text.replace(old, new), exercise)
    return v


# ------------------------------------------------------------------ catalogue and files
def test_every_lesson_has_two_or_more_exercises_with_stub_and_solution():
    assert sorted(X.CATALOGUE) == LESSONS
    for n in LESSONS:
        names = [e.name for e in X.exercises(n)]
        assert len(names) >= 2
        stub, sol = X.stub_path(n).read_text(), _solution_text(n)
        for name in names:
            assert f"def {name}(" in stub and f"def {name}(" in sol
    assert sum(len(v) for v in X.CATALOGUE.values()) >= 27


def test_stubs_are_generated_from_the_solutions():
    spec = importlib.util.spec_from_file_location("make_stubs", SOLUTIONS / "make_stubs.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    for n in LESSONS:
        assert X.stub_path(n).read_text() == make.stub_source(_solution_text(n)), \
            f"stubs/ex{n}.py is stale: run python solutions/make_stubs.py"


def test_solutions_are_not_in_the_package():
    pkg = Path(neurophys.__file__).resolve().parent
    assert not list(pkg.rglob("solutions")) and "solutions" not in (REPO / "setup.cfg").read_text()
    setup_py = REPO / "setup.py"      # the course folders copied into the wheel
    assert not setup_py.exists() or '"solutions"' not in setup_py.read_text()
    for n in LESSONS:     # no stub carries an answer: every public function only raises
        body = X.stub_path(n).read_text()
        assert body.count("raise NotImplementedError(\"hint: ") + body.count("raise NotImplementedError('hint: ") \
            == len(X.CATALOGUE[n])


# ------------------------------------------------------------------ stub fails, solution passes
@pytest.mark.parametrize("n", LESSONS)
def test_stub_is_not_started_and_solution_passes(n, tmp_path):
    X.hand_out(n, tmp_path)
    for v in X.check(n, path=tmp_path):
        assert v.status == "NOT STARTED" and v.message.startswith("hint: "), v.line()
    for v in X.check(n, path=SOLUTIONS):
        assert v.status == "PASS", v.line()


# ------------------------------------------------------------------ plausible wrong answers fail
WRONG = [
    # (lesson, exercise, in the solution, replaced by, a word of the expected hint)
    ("01", 1, "return theta + v_new, v_new", "return theta + v, v_new", "OLD velocity"),
    ("01", 2, "return 0.5 * float((d * d).sum()) / n, d / n", "return float((d * d).sum()) / n, 2 * d / n", "½"),
    ("02", 1, "c = 1.0 if imaginary else 1j", "c = 1.0", "real time"),
    ("02", 2, "kx = 2 * np.pi * np.fft.fftfreq(nx)", "kx = np.fft.fftfreq(nx)", "2π·fftfreq"),
    ("03", 1, "dW[:, :, i, j] = np.einsum", "dW[:, :, k - 1 - i, k - 1 - j] = np.einsum", "central differences"),
    ("03", 2, "+ c * g * psi * psi * np.conj(grad_out)", "", "central differences"),
    ("04", 2, 'return {"W": (x * x).T @ (e * e) / n', 'return {"W": (x.T @ e / n) ** 2', "batch-mean"),
    ("05", 1, "np.sqrt(2 * T * dt) * xi", "2 * T * dt * xi", "√(2T dt)"),
    ("06", 1, "grads[f\"W{l}\"] = -dW / (beta * n)", "grads[f\"W{l}\"] = dW / (beta * n)", "wrong sign"),
    ("06", 1, "dW = s_nudged[l].T @ s_nudged[l + 1] - s_free[l].T @ s_free[l + 1]",
     "dW = s_free[l].T @ (s_nudged[l + 1] - s_free[l + 1])", "cosine"),
    ("07", 2, "dW = s_nudged[l].T @ s_nudged[l + 1] - s_free[l].T @ s_free[l + 1]",
     "dW = s_free[l].T @ (s_nudged[l + 1] - s_free[l + 1])", "generative"),
    ("08", 1, "mask = np.asarray(surprise) > threshold", "mask = np.asarray(surprise) >= threshold", "strictly"),
    ("10", 1, "v_half = v + 0.5 * dt * accel(q)", "v_half = v + dt * accel(q)", "q'"),
    ("11", 1, "dan = dn * (1 - n * n)", "dan = dn * (1 - n)", "central differences"),
    ("11", 2, "dev = E_hat - E_hat.mean(axis=1, keepdims=True)", "dev = E_hat - E_hat.mean()", "P"),
    ("12", 2, "c = V[:, -1]\n    return float(mu[-1])", "c = V[:, 0]\n    return float(mu[0])", "LARGEST"),
    ("13", 2, "        src, dst = dst, src\n", "", "buf_"),
    ("04", 1, "grads[k] = lam * fisher[k] * d", "grads[k] = lam * d", "∂Ω/∂"),
    ("08", 2, "F = E(s_nudged) + beta * 0.5 * (d * d).sum(axis=1)", "F = E(s_nudged)", "F(s^β)"),
    ("09", 1, "F += gamma ** t * energy(S)", "F += gamma ** (t + 1) * energy(S)", "γ^t"),
    ("12", 1, "B = np.cov(Theta.mean(axis=1), rowvar=False)", "B = np.cov(Theta.reshape(-1, m), rowvar=False)",
     "per-trajectory means"),
    ("12", 3, "return float(np.sqrt(np.mean(r * r) / (1.0 - h0)))", "return float(np.std(values))", "residual"),
    ("12", 3, "return float(np.sqrt(np.mean(r * r) / (1.0 - h0)))", "return float(np.sqrt(np.mean(r * r)))", "1 − h₀"),
]


@pytest.mark.parametrize("n, k, old, new, word", WRONG, ids=[f"{w[0]}.{w[1]}-{i}" for i, w in enumerate(WRONG)])
def test_plausible_wrong_answers_fail_with_a_hint(n, k, old, new, word, tmp_path):
    v = _wrong(tmp_path, n, old, new, k)
    assert v.status == "FAIL", v.line()
    assert word in v.message, v.line()


def test_symplectic_euler_is_caught_by_the_order_test(tmp_path):
    text = _solution_text("10").replace(
        "    v_half = v + 0.5 * dt * accel(q)\n    q_new = q + dt * v_half\n    return q_new, v_half + 0.5 * dt * accel(q_new)",
        "    v_new = v + dt * accel(q)\n    return q + dt * v_new, v_new")
    (v,) = _check_text(tmp_path, "10", text, exercise=1)
    assert v.status == "FAIL"


def test_euler_step_out_with_temporaries_fails_the_memory_check(tmp_path):
    text = _solution_text("13") + '''

def euler_step_out(psi, dt, V, g, out, work):
    lap = sum(np.roll(psi, s, a) for s in (1, -1) for a in (-1, -2)) - 4 * psi
    out[...] = psi - 1j * dt * (-0.5 * lap + (V + g * np.abs(psi) ** 2) * psi)
    return out
'''
    (v,) = _check_text(tmp_path, "13", text, exercise=1)
    assert v.status == "FAIL" and "temporaries" in v.message, v.line()


# ------------------------------------------------------------------ library shortcuts are refused
SHORTCUTS = {
    "02": '''
from neurophys.physics.gpe import euler_step as _lib


def euler_step(psi, dt, V=0.0, g=0.0, imaginary=False):
    return _lib(psi, dt, V, g, imaginary=imaginary, check=False)
''',
    "03": '''
from neurophys.blocks.conv import Conv2D


def conv2d_backward(x, W, dz, pad):
    conv = Conv2D(W.shape[1], W.shape[0], kernel=W.shape[2], pad=pad)
    conv.params["W"] = W
    conv.forward(x)
    dx = conv.backward(dz)
    return dx, conv.grads["W"], conv.grads["b"]
''',
    "10": '''
import neurophys.physics.mechanics as M


def verlet_step(accel, q, v, dt):
    q2, v2, _ = M.velocity_verlet_step("spring", q, v, dt)
    return q2, v2
''',
    "13": '''
from neurophys.physics import gpe


def euler_step_out(psi, dt, V, g, out, work):
    out[...] = gpe.euler_step(psi, dt, V, g, check=False)
    return out
''',
}


@pytest.mark.parametrize("n", sorted(SHORTCUTS))
def test_calling_the_library_function_is_refused(n, tmp_path):
    from neurophys.blocks.conv import Conv2D
    from neurophys.physics import gpe, mechanics
    originals = (gpe.euler_step, mechanics.velocity_verlet_step, vars(Conv2D)["backward"])
    (v,) = _check_text(tmp_path, n, _solution_text(n) + SHORTCUTS[n], exercise=1)
    assert v.status == "FAIL" and "calls the library's" in v.message, v.line()
    # switched back on afterwards
    assert (gpe.euler_step, mechanics.velocity_verlet_step, vars(Conv2D)["backward"]) == originals


def test_noise_floor_may_not_call_the_library_noise_estimate(tmp_path):
    from neurophys.symbolic import conserved
    original = conserved._trajectory_stats
    shortcut = """

def noise_floor(values, window, polyorder):
    from neurophys.symbolic.conserved import _trajectory_stats
    s = _trajectory_stats([np.asarray(values, float)[:, None]], window, polyorder)
    return float(np.sqrt(s[3][0, 0, 0] / s[4][0]))
"""
    (v,) = _check_text(tmp_path, "12", _solution_text("12") + shortcut, exercise=3)
    assert v.status == "FAIL" and "calls the library's" in v.message, v.line()
    assert conserved._trajectory_stats is original


def test_errors_in_the_students_code_are_verdicts_not_crashes(tmp_path):
    text = _solution_text("09").replace("    Pphi = P @ phi\n", "    Pphi = P @ phi[:-1]\n")
    (v,) = _check_text(tmp_path, "09", text, exercise=2)
    assert v.status == "FAIL" and "raised ValueError" in v.message and "ex09.py:" in v.message
    (tmp_path / "ex05.py").write_text("def dlm_velocity_update(:\n")
    assert {v.status for v in X.check("05", path=tmp_path)} == {"FAIL"}
    (tmp_path / "ex04.py").write_text("x = 1\n")
    assert all("define a function" in v.message for v in X.check("04", path=tmp_path))


# ------------------------------------------------------------------ hand-out and command line
def test_hand_out_never_overwrites_without_force(tmp_path):
    path = X.hand_out("03", tmp_path)
    path.write_text("# my work\n")
    with pytest.raises(X.ExerciseError, match="--force"):
        X.hand_out("3", tmp_path)
    assert path.read_text() == "# my work\n"
    X.hand_out(3, tmp_path, force=True)
    assert path.read_text() == X.stub_path("03").read_text()
    with pytest.raises(X.ExerciseError, match="01..13"):
        X.hand_out("x", tmp_path)


def test_cli_exercises_and_check(tmp_path, capsys):
    assert cli.main(["exercises", "08", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "ex08.py").exists()
    assert cli.main(["exercises", "08", "--out", str(tmp_path)]) == 2         # refuses to overwrite
    assert "--force" in capsys.readouterr().err
    assert cli.main(["check", "08", "--path", str(tmp_path)]) == 1
    assert "NOT STARTED" in capsys.readouterr().out
    assert cli.main(["check", "08", "--exercise", "1", "--path", str(SOLUTIONS)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "1/1 passed" in out
    assert cli.main(["check", "08", "--exercise", "7", "--path", str(SOLUTIONS)]) == 2
    assert cli.main(["check", "08", "--path", str(tmp_path / "nowhere")]) == 2
    assert "exercises 08" in capsys.readouterr().err
    assert cli.main(["check", "all", "--path", str(SOLUTIONS)]) == 0
    out = capsys.readouterr().out
    assert f"{len(X.exercises())}/{len(X.exercises())} passed" in out


def test_checks_are_fresh_each_run_unless_seeded():
    (a,) = X.check("01", exercise=1, path=SOLUTIONS, seed=5)
    (b,) = X.check("01", exercise=1, path=SOLUTIONS, seed=5)
    assert a.status == b.status == "PASS" and a.message == b.message
    assert not [m for m in sys.modules if m.startswith("neurophys_student")]   # students' files are not kept
