"""Build step: the wheel carries the course.

``lessons/``, ``examples/``, ``figures/`` (the committed results) and ``benchmarks/`` stay at
the top of the repository, where a reader opens them; a built wheel gets copies in
``neurophys/_course/`` (with docs/ and the README), which ``neurophys.course`` uses when it is not running from a clone.
An editable install (``pip install -e .``) reads the folders in place. Everything else is
in setup.cfg.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COURSE_FOLDERS = ("lessons", "examples", "figures", "benchmarks", "docs")
COURSE_FILES = ("README.md",)  # the site builder reads the README's introduction and verdicts
SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".*", "neurophys-runs", "neurophys-notebooks")


class BuildPyWithCourse(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "neurophys" / "_course"
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build
        for name in COURSE_FOLDERS:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, target / name, ignore=SKIP)
        for name in COURSE_FILES:
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildPyWithCourse})
