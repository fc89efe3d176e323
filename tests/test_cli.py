"""The command line and the run context: strict options, workspaces, --publish, one run per
folder, Ctrl-C, BrokenPipe, the summary of `run all`, reading results.

Most tests run tiny stand-in lessons (NEUROPHYS_LESSONS points at a temporary folder), so
they take seconds; the real lessons run in their own tests.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neurophys import cli, course, files

TINY = textwrap.dedent('''\
    # %% [markdown]
    # A stand-in lesson for the runner's tests.

    # %%
    import os
    import time

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurophys import course

    ctx = course.start("{number}")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ctx.savefig(fig, "line.png")
    if os.environ.get("TINY_SLEEP"):
        for _ in ctx.progress(range(600), desc="waiting", unit="step"):
            time.sleep(0.1)
    if os.environ.get("TINY_FAIL") == ctx.number:
        raise RuntimeError("this stand-in lesson fails on purpose")
    ctx.finish({{"converged_2-2-1": 4, "tier_seen": ctx.tier, "slope": float("nan")}}, {{"n": 1}})
''')


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Two stand-in lessons (01, 02) in tmp/lessons; the working folder is tmp/work."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01_tiny.py").write_text(TINY.format(number="01"))
    (lessons / "02_other.py").write_text(TINY.format(number="02"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("NEUROPHYS_LESSONS", str(lessons))
    for name in ("TIER", "SEED", "OUT", "JOBS", "SCHEDULER", "RESUME", "PROGRESS"):
        monkeypatch.delenv(f"NEUROPHYS_{name}", raising=False)
    monkeypatch.chdir(work)
    return tmp_path


def run_cli(*args, cwd=None, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "neurophys", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=120, **kw)


def test_lessons_lists_the_course():
    out = run_cli("lessons")
    assert out.returncode == 0
    for number in course.COURSE:
        assert number in out.stdout


def test_unknown_lesson_and_option_and_backend_are_clear_errors():
    r = run_cli("run", "42")
    assert r.returncode == 2 and "unknown lesson '42'" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("run", "01", "--bogus")
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr
    r = run_cli("run", "01", "--backend", "torch")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run_cli("run", "01", "--quick", "--full")
    assert r.returncode == 2 and "not allowed with" in r.stderr
    r = run_cli("run", "01", "--quik")  # no abbreviations: a typo is an error, never a silent default run
    assert r.returncode == 2 and "unrecognized arguments: --quik" in r.stderr


def test_lesson_script_refuses_unknown_options(tmp_path):
    r = subprocess.run([sys.executable, str(course.lesson_file("02")), "--quik"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "unrecognized arguments: --quik" in r.stderr
    assert not (tmp_path / course.WORKSPACE).exists()


def test_bad_environment_variable_is_a_clear_error(tiny):
    r = run_cli("run", "01", env={"NEUROPHYS_TIER": "quik"})
    assert r.returncode == 2 and "NEUROPHYS_TIER='quik'" in r.stderr and "Traceback" not in r.stderr


def test_finish_refuses_non_flat_metrics(tmp_path):
    ctx = course.make_context(tmp_path / "01_x.py", "quick", out=tmp_path)
    with pytest.raises(TypeError, match="flat mapping"):
        ctx.finish({"a": {"b": 1}})
    assert ctx.pick(quick=1, default=2) == 1
    course.release_output(tmp_path)


def test_main_returns_zero_for_lessons():
    assert cli.main(["lessons"]) == 0


def test_default_run_writes_the_workspace_strict_json(tiny):
    r = run_cli("run", "01")
    assert r.returncode == 0, r.stderr
    out = tiny / "work" / course.WORKSPACE / "01_tiny"
    res = files.read_json(out / "results.json")
    assert res["tier"] == "default" and res["metrics"]["tier_seen"] == "default"
    assert res["metrics"]["slope"] is None and res["nonfinite"] == {"metrics.slope": "nan"}
    assert "cpu_seconds" in res["settings"]
    assert (out / "line.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / course.LOCK_NAME).exists()
    r = run_cli("run", "01", "--quick")
    assert files.read_json(out / "quick" / "results.json")["tier"] == "quick"
    # a lesson run as a script writes to the same workspace, and takes its tier from the env
    r = subprocess.run([sys.executable, str(tiny / "lessons" / "02_other.py")], capture_output=True, text=True,
                       env={**os.environ, "NEUROPHYS_TIER": "quick"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert files.read_json(tiny / "work" / course.WORKSPACE / "02_other" / "quick" / "results.json")["tier"] == "quick"


def test_out_naming_a_file_is_a_clear_error(tiny):
    (tiny / "work" / "taken").write_text("x")
    r = run_cli("run", "01", "--quick", "--out", "taken")
    assert r.returncode == 2 and "is a file" in r.stderr and "Traceback" not in r.stderr
    assert (tiny / "work" / "taken").read_text() == "x"


def test_publish_writes_figures_only_when_asked_and_only_in_a_clone(tiny, monkeypatch):
    published = tiny / "figures"
    monkeypatch.setattr(course, "FIGURES_DIR", published)
    res = course.run_lesson("01", "default", publish=True)
    assert (published / "01_tiny" / "results.json").is_file() and res["tier"] == "default"
    course.run_lesson("01", "full", publish=True)
    assert files.read_json(published / "01_tiny" / "full" / "results.json")["tier"] == "full"
    with pytest.raises(course.CourseError, match="never published"):
        course.run_lesson("01", "quick", publish=True)
    monkeypatch.setattr(course, "IN_CLONE", False)
    with pytest.raises(course.CourseError, match="only in a clone"):
        course.run_lesson("01", "default", publish=True)
    course.run_lesson("01", "default")  # without --publish: the workspace, figures/ untouched
    assert sorted(p.name for p in (published / "01_tiny").iterdir()) == ["full", "line.png", "results.json"]


def test_second_run_into_the_same_folder_is_refused(tiny):
    folder = tiny / "work" / "shared"
    course.acquire_output(folder)
    try:
        r = run_cli("run", "01", "--quick", "--out", str(folder))
        assert r.returncode == 2 and "another run" in r.stderr and f"pid {os.getpid()}" in r.stderr
        assert not (folder / "results.json").exists()
    finally:
        course.release_output(folder)
    assert run_cli("run", "01", "--quick", "--out", str(folder)).returncode == 0


def test_run_all_ends_with_a_summary(tiny):
    r = run_cli("run", "all", "--quick", env={"TINY_FAIL": "02"})
    assert r.returncode == 1
    table = r.stdout[r.stdout.index("| lesson | status | seconds | headline metric | output folder |"):]
    assert "| 01 | ok |" in table and "converged_2-2-1=4" in table
    assert "| 02 | failed |" in table and "fails on purpose" in table
    assert "| 03 | skipped |" in table
    assert str(Path(course.WORKSPACE) / "01_tiny" / "quick") in table


@pytest.mark.parametrize("how", ["runner", "script", "all"])
def test_ctrl_c_ends_with_one_line(tiny, how):
    cmd = {"runner": [sys.executable, "-m", "neurophys", "run", "01", "--quick"],
           "all": [sys.executable, "-m", "neurophys", "run", "all", "--quick"],
           "script": [sys.executable, str(tiny / "lessons" / "01_tiny.py"), "--quick"]}[how]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TINY_SLEEP": "1"})
    folder = tiny / "work" / course.WORKSPACE / "01_tiny" / "quick"
    deadline = time.time() + 60
    while not (folder / "line.png").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted (Ctrl-C)")
    assert not (folder / course.LOCK_NAME).exists() and not (folder / "results.json").exists()
    if how == "all":  # the course stops at once and still prints its summary
        assert "| 01 | interrupted |" in out and "| 02 |" not in out


def test_broken_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "neurophys", "results"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written (like `| head` that finished)
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141 and err == ""


def test_results_reads_committed_and_workspace_and_names_corrupt_files(tiny):
    r = run_cli("results")
    assert r.returncode == 0 and "| 01 |" in r.stdout
    assert run_cli("run", "01", "--quick").returncode == 0
    ws = tiny / "work" / course.WORKSPACE
    (ws / "02_other" / "quick").mkdir(parents=True)
    (ws / "02_other" / "quick" / "results.json").write_text('{"lesson": "02", ')
    r = run_cli("results", "--workspace", str(ws), "--quick")
    assert r.returncode == 0, r.stderr
    assert "| 01 |" in r.stdout and "converged_2-2-1=4" in r.stdout and "| 02 |" in r.stdout
    cpu = json.loads(next(ws.glob("01_*/**/results.json")).read_text())["settings"]["cpu_seconds"]
    assert "| quick | " in r.stdout and f" ({cpu:.0f}) |" in r.stdout      # wall and CPU seconds
    assert "02_other/quick/results.json" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("results", "--quick")
    assert r.returncode == 2 and "--workspace" in r.stderr


def test_lessons_shows_measured_times():
    out = run_cli("lessons").stdout
    timed = [n for n, t in course.measured_times().items() if "default" in t]
    measured = [line for line in out.splitlines() if line.strip().startswith("measured:")]
    assert sum("default " in line for line in measured) == len(timed) and timed


def test_subcommand_registration_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "hello", ("tests.test_cli", "say hello"))
    assert cli.main(["hello", "--name", "class"]) == 3
    assert "hello, class" in capsys.readouterr().out


def add_arguments(parser):  # the stand-in subcommand of the test above
    parser.add_argument("--name", default="world")


def main(args):
    print(f"hello, {args.name}")
    return 3


def test_lessons_reads_the_benchmark_scripts_times(tmp_path, monkeypatch, capsys):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "lesson_times_quick.json").write_text(json.dumps(
        {"rows": [{"lesson": "06", "tier": "quick", "status": 0, "cpu_seconds": 21.5, "wall_seconds": 24.0},
                  {"lesson": "07", "tier": "quick", "status": "timeout", "cpu_seconds": 99.0, "wall_seconds": 99.0}]}))
    (tmp_path / "benchmarks" / "results" / "lesson_times.json").write_text(json.dumps(
        {"rows": [{"lesson": "06", "tier": "default", "status": 0, "cpu_seconds": 250.0, "wall_seconds": 262.0}]}))
    monkeypatch.setattr(course, "COURSE_ROOT", tmp_path)
    times = course.measured_times()
    assert times["06"]["quick"] == {"seconds": 24.0, "cpu_seconds": 21.5}
    assert times["06"]["default"]["seconds"] == 262.0  # the benchmark's record wins over results.json
    assert "quick" not in times.get("07", {})          # a run that timed out measured nothing
    assert cli.main(["lessons"]) == 0
    assert "measured: quick 24 s, 22 s CPU; default 4.4 min, 4.2 min CPU" in capsys.readouterr().out


def test_ctx_sweep_passes_the_run_options_to_run_units(tmp_path, monkeypatch):
    from neurophys import sweep
    seen = {}

    def fake_run_units(fn, units, folder, *, resume=False, jobs=1, scheduler=None, progress=None):
        seen.update(fn=fn, units=units, folder=folder, resume=resume, jobs=jobs, scheduler=scheduler,
                    progress=progress)
        return [{"ok": 1}]
    monkeypatch.setattr(sweep, "run_units", fake_run_units)
    ctx = course.make_context(tmp_path / "05_x.py", "full", out=tmp_path, resume=True, jobs=3,
                              scheduler="tcp://host:8786")
    try:
        assert ctx.sweep(len, [{"seed": 0}], name="seeds") == [{"ok": 1}]
    finally:
        course.release_output(tmp_path)
    assert seen["folder"] == tmp_path / "seeds" and seen["resume"] is True and seen["jobs"] == 3
    assert seen["scheduler"] == "tcp://host:8786" and seen["progress"] == ctx.progress


def test_run_options_come_from_the_environment(monkeypatch):
    for name in ("SEED", "BACKEND", "OUT"):
        monkeypatch.delenv(f"NEUROPHYS_{name}", raising=False)
    monkeypatch.setenv("NEUROPHYS_TIER", "full")
    monkeypatch.setenv("NEUROPHYS_JOBS", "4")
    monkeypatch.setenv("NEUROPHYS_RESUME", "1")
    monkeypatch.setenv("NEUROPHYS_SCHEDULER", "tcp://h:1")
    assert course.env_defaults() == {"tier": "full", "seed": 0, "backend": None, "out": None, "jobs": 4,
                                     "scheduler": "tcp://h:1", "resume": True}
    monkeypatch.setenv("NEUROPHYS_JOBS", "many")
    with pytest.raises(course.CourseError, match="NEUROPHYS_JOBS='many'"):
        course.env_defaults()


def _count_units(folder):
    return sorted(p.name for p in folder.glob("*.json"))


def _quotient(b):
    return {"q": 7 // b}


@pytest.mark.parametrize("tier", ["default", "full"])
def test_rerunning_a_sweep_starts_afresh_except_in_the_full_tier(tmp_path, tier):
    """A default-tier lesson run twice into its workspace recomputes its units (minutes of work);
    a full-tier run (hours) keeps them and asks for --resume rather than lose them."""
    from neurophys import sweep

    fn = _quotient
    units = [{"b": 2}, {"b": 3}]
    for attempt in range(2):
        ctx = course.make_context(tmp_path / "04_x.py", tier, out=tmp_path)
        try:
            if attempt == 1 and tier == "full":
                with pytest.raises(sweep.SweepRefused, match="--resume"):
                    ctx.sweep(fn, units)
                assert len(_count_units(tmp_path / "units")) == 2   # nothing lost
            else:
                assert ctx.sweep(fn, units) == [{"q": 3}, {"q": 2}]
                assert len(_count_units(tmp_path / "units")) == 2
        finally:
            course.release_output(tmp_path)


def _double(b):
    return {"q": 2 * b}


def test_a_fresh_run_never_removes_another_experiments_units(tmp_path):
    """A quick run into a folder that holds another sweep's units (say a full tier's, hours of work)
    refuses and keeps them; its own earlier units are removed and recomputed."""
    from neurophys import sweep
    units = [{"b": 2}, {"b": 3}]
    sweep.run_units(_double, units, tmp_path / "units")               # "another experiment"
    ctx = course.make_context(tmp_path / "04_x.py", "quick", out=tmp_path)
    try:
        with pytest.raises(sweep.SweepRefused, match=r"another experiment.*--out"):
            ctx.sweep(_quotient, units)
        assert [json.loads(p.read_text())["measurements"] for p in sorted((tmp_path / "units").glob("*.json"))] \
            == [{"q": 4}, {"q": 6}]                                    # nothing lost
        assert ctx.sweep(_double, units) == [{"q": 4}, {"q": 6}]       # the same sweep: a fresh run
    finally:
        course.release_output(tmp_path)


def test_pick_honours_an_explicit_none(tmp_path):
    """full=None means 'all the data' in a lesson; it must not fall back to the default tier's value."""
    for tier, expected in (("quick", 640), ("default", 51200), ("full", None)):
        ctx = course.make_context(tmp_path / "03_x.py", tier, out=tmp_path / tier)
        try:
            assert ctx.pick(quick=640, default=51200, full=None) == expected
            assert ctx.pick(default=7) == 7            # tiers not given take the default's value
        finally:
            course.release_output(tmp_path / tier)
