"""Lessons run unchanged as Jupyter notebooks: jupytext converts them, nbclient executes them in
a real kernel (tier from NEUROPHYS_TIER), and the stored notebook holds figures and no error."""
import json

import nbformat
import pytest

from neurophys import course, notebooks


@pytest.mark.parametrize("number", list(course.COURSE))
def test_every_lesson_converts_to_a_valid_notebook(number):
    nb = notebooks.to_notebook(number)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(f'course.start("{number}"' in src for src in code), "the lesson starts by number, not __file__"
    assert not any("__file__" in src for src in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)
    quick = notebooks.to_notebook(number, "quick")
    assert 'os.environ["NEUROPHYS_TIER"] = "quick"' in quick.cells[0].source


@pytest.mark.parametrize("number", ["01", "02"])
def test_quick_lesson_executes_as_a_notebook(number, tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROPHYS_OUT", raising=False)
    path, error = notebooks.write_notebook(number, tmp_path, "quick", execute_it=True, timeout=600)
    assert error is None, error
    nb = nbformat.read(path, as_version=4)
    assert notebooks.error_outputs(nb) == []
    assert notebooks.image_outputs(nb) >= 1, "ctx.savefig shows figures inline in a notebook"
    assert notebooks.image_outputs(nb, "image/gif") >= 1, "ctx.savegif shows the lesson's animation inline"
    # the kernel's own argv was tolerated, the tier came from the environment, the run went to the workspace
    res = json.loads((tmp_path / course.WORKSPACE / path.stem / "quick" / "results.json").read_text())
    assert res["tier"] == "quick" and res["lesson"] == number


def test_notebook_command_writes_and_names_a_file_out(tmp_path):
    from neurophys import cli
    assert cli.main(["notebook", "13", "--out", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / "13_gpu_kernels_speed.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    (tmp_path / "file").write_text("x")
    assert cli.main(["notebook", "13", "--out", str(tmp_path / "file")]) == 2
