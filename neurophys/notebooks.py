"""Lessons as Jupyter notebooks: ``python -m neurophys notebook NN|all [--quick] [--execute] [--out DIR]``.

A lesson is a ``# %%`` script; jupytext turns it into a notebook cell for cell, and
nbclient runs it in a fresh kernel so that the outputs (figures included, through
``ctx.savefig``) are stored in the ``.ipynb``. The tier reaches the kernel as the
environment variable ``NEUROPHYS_TIER``; a notebook written with ``--quick`` or ``--full``
also sets it in a first cell, so it runs in that tier when opened in Jupyter.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from . import course, files

DEFAULT_FOLDER = "neurophys-notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def to_notebook(number: str, tier: str = "default"):
    """The lesson as an nbformat notebook (not executed)."""
    import jupytext
    import nbformat

    path = course.lesson_file(number)
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)  # a plain notebook, not paired with the script
    if tier != "default":
        setup = nbformat.v4.new_code_cell(
            "import os\n"
            f"os.environ[\"NEUROPHYS_TIER\"] = \"{tier}\"  # written by `python -m neurophys notebook --{tier}`; "
            "delete this cell for the default tier")
        nb.cells.insert(0, setup)
    nbformat.validate(nb)
    return nb


@contextmanager
def _kernel_env(tier: str):
    """The environment a kernel inherits: the tier, and no progress bars stored in outputs."""
    saved = {k: os.environ.get(k) for k in ("NEUROPHYS_TIER", "NEUROPHYS_PROGRESS")}
    os.environ["NEUROPHYS_TIER"] = tier
    os.environ["NEUROPHYS_PROGRESS"] = "0"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(nb, folder: Path, tier: str, timeout: int | None = None):
    """Run every cell in a fresh kernel whose working folder is ``folder``; returns the error or None."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNELSPEC["name"],
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport warning
                            resources={"metadata": {"path": str(folder)}})
    with _kernel_env(tier):
        try:
            client.execute()
        except CellExecutionError as err:
            return err
    return None


def image_outputs(nb, mime: str = "image/") -> int:
    """How many outputs of a notebook hold an image (``mime="image/gif"``: an animation)."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               if any(k.startswith(mime) for k in out.get("data", {})))


def error_outputs(nb) -> list:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
            if out.get("output_type") == "error"]


def write_notebook(number: str, folder: Path, tier: str = "default", execute_it: bool = False,
                   timeout: int | None = None) -> tuple[Path, str | None]:
    """Write ``folder/NN_slug.ipynb`` (executed if asked); returns its path and an error line or None."""
    import nbformat

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise course.CourseError(f"--out {folder} is a file; give a folder for the notebooks")
    folder.mkdir(parents=True, exist_ok=True)
    nb = to_notebook(number, tier)
    path = folder / f"{course.lesson_file(number).stem}.ipynb"
    error = execute(nb, folder, tier, timeout) if execute_it else None
    files.atomic_write_text(path, nbformat.writes(nb))
    if error is not None:
        last = [line for line in str(error).strip().splitlines() if line.strip()]
        return path, (last[-1] if last else type(error).__name__)
    return path, None


# ------------------------------------------------------------------ the subcommand
def add_arguments(parser) -> None:
    parser.add_argument("lesson", help="lesson number, e.g. 06, or 'all'")
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--quick", action="store_const", dest="tier", const="quick",
                      help="the notebook runs the quick tier (seconds)")
    tier.add_argument("--full", action="store_const", dest="tier", const="full",
                      help="the notebook runs the full tier (slow)")
    parser.set_defaults(tier="default")
    parser.add_argument("--execute", action="store_true",
                        help="run the notebook (nbclient) and store its outputs and figures in it")
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_FOLDER), metavar="DIR",
                        help=f"folder for the .ipynb files (default ./{DEFAULT_FOLDER}); an executed "
                             f"notebook's runs write to DIR/{course.WORKSPACE}/")
    parser.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                        help="stop a cell that runs longer than this (default: no limit)")


def main(args) -> int:
    numbers = list(course.lesson_files()) if args.lesson.lower() == "all" else [course.normalise_number(args.lesson)]
    failed = 0
    for number in numbers:
        path, error = write_notebook(number, args.out, args.tier, args.execute, args.timeout)
        if error:
            failed += 1
            print(f"[{number}] {path}: FAILED in the notebook: {error}", flush=True)
        elif args.execute:
            import nbformat
            n = image_outputs(nbformat.read(path, as_version=4))
            print(f"[{number}] {path} (executed, {args.tier} tier, {n} figures)", flush=True)
        else:
            print(f"[{number}] {path}", flush=True)
    return 1 if failed else 0
