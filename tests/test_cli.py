import subprocess
import sys

import pytest

from neurophys import cli, course


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "neurophys", *args], capture_output=True, text=True)


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


def test_finish_refuses_non_flat_metrics(tmp_path):
    ctx = course.make_context(tmp_path / "01_x.py", "quick", out=tmp_path)
    with pytest.raises(TypeError, match="flat mapping"):
        ctx.finish({"a": {"b": 1}})
    assert ctx.pick(quick=1, default=2) == 1


def test_main_returns_zero_for_lessons():
    assert cli.main(["lessons"]) == 0
