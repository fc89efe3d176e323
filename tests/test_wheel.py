"""The installed package carries the course: build the wheel, install it with its dependencies
into a fresh virtual environment (no system site-packages), and from an unrelated folder run a
quick lesson and execute a lesson as a notebook.

About 1-2 minutes: the dependencies come from the package index (pip's cache makes a second run
faster). This runs in CI; it is not marked slow.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from neurophys import course

SKIP = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".venv", ".pytest_cache",
                              ".benchmarks", course.WORKSPACE, "neurophys-notebooks", "tmp")


def sh(*cmd, cwd, env, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not course.IN_CLONE:
        pytest.skip("builds the wheel from a clone of the repository")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so the build never touches the clone's build/ folder
    shutil.copytree(course.COURSE_ROOT, src, ignore=SKIP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEUROPHYS_", "PYTHON", "VIRTUAL_ENV"))}
    sh(sys.executable, "-m", "pip", "wheel", src, "--no-deps", "-q", "-w", tmp / "dist", cwd=tmp, env=env)
    (wheel,) = (tmp / "dist").glob("neurophys-*.whl")
    sh(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp, env=env)
    python = tmp / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    sh(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp, env=env)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return python, elsewhere, env


def test_the_wheel_is_a_separate_install_with_the_course(installed):
    python, elsewhere, env = installed
    r = sh(python, "-c", "import sys, neurophys, neurophys.course as c; "
                         "print(neurophys.__file__); print(c.IN_CLONE); print(sys.flags.no_site, sys.prefix != sys.base_prefix)",
           cwd=elsewhere, env=env)
    where, in_clone, venv = r.stdout.split("\n")[:3]
    assert "site-packages" in where and in_clone == "False" and venv.endswith("True")
    package = Path(where).parent
    for name in ("np_common.cuh", "gpe.cu", "eqprop.cu", "host_emulation.h"):
        assert (package / "kernels" / name).is_file(), f"kernel source {name} missing from the wheel"
    for folder in ("lessons", "examples", "figures", "benchmarks"):
        assert any((package / "_course" / folder).iterdir()), f"{folder}/ missing from the wheel"
    out = sh(python, "-m", "neurophys", "lessons", cwd=elsewhere, env=env).stdout
    measured = [line for line in out.splitlines() if line.strip().startswith("measured:")]
    assert "not in the lessons folder" not in out and len(measured) == 13
    assert all("default " in line for line in measured)      # the committed idle timings travel with it
    assert f"python {package / '_course' / 'examples'}" in out and "relaxation_own_data.py" in out
    r = sh(python, package / "_course" / "examples" / "relaxation_own_data.py", "--epochs", "300", cwd=elsewhere, env=env)
    assert "training accuracy" in r.stdout
    out = sh(python, "-m", "neurophys", "results", cwd=elsewhere, env=env).stdout
    assert "| 06 |" in out and "not run" not in out.split("| 06 |")[1].split("\n")[0]


def test_quick_lesson_runs_from_an_unrelated_folder(installed):
    python, elsewhere, env = installed
    package = Path(sh(python, "-c", "import neurophys; print(neurophys.__file__)", cwd=elsewhere, env=env).stdout.strip()).parent
    before = sorted(p.relative_to(package) for p in package.rglob("*") if "__pycache__" not in p.parts)
    sh(python, "-m", "neurophys", "run", "01", "--quick", cwd=elsewhere, env=env)
    res = json.loads((elsewhere / course.WORKSPACE / "01_xor_energy_relaxation" / "quick" / "results.json").read_text())
    assert res["tier"] == "quick" and res["metrics"]
    after = sorted(p.relative_to(package) for p in package.rglob("*") if "__pycache__" not in p.parts)
    assert before == after, "a run wrote into site-packages"


def test_lesson_executes_as_a_notebook_from_the_wheel(installed):
    python, elsewhere, env = installed
    r = sh(python, "-m", "neurophys", "notebook", "06", "--quick", "--execute", cwd=elsewhere, env=env)
    assert "executed" in r.stdout
    nb = nbformat.read(elsewhere / "neurophys-notebooks" / "06_eqprop_mnist.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(k.startswith("image/") for o in outputs for k in o.get("data", {})), "no figure in the notebook"
