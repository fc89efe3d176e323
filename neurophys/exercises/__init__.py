"""Coding exercises that check themselves: two or more per lesson.

A student gets a lesson's stubs, fills in the functions, and asks for a verdict::

    python -m neurophys exercises 02            # writes ./neurophys-exercises/ex02.py
    python -m neurophys check 02                # PASS / FAIL (with a hint) / NOT STARTED per exercise
    python -m neurophys check 02 --exercise 1   # only the first one

or from Python: ``exercises.hand_out("02")`` and ``exercises.check("02")``.

The stubs ship in the package (``neurophys/exercises/stubs/exNN.py``); each function raises
``NotImplementedError("hint: ...")``. The reference solutions are NOT in the package: they live in
the repository's top-level ``solutions/`` folder (same layout, ``solutions/exNN.py``), for
teachers; ``python -m neurophys check NN --path solutions`` checks them.

How a check cannot be fooled (details in :mod:`neurophys.exercises.checks`):
inputs are drawn from a generator seeded by the operating system's entropy on every run;
the library functions an exercise re-implements are switched off while the student's code is
imported and run (calling one is a FAIL that says so, whatever the import path); and where a
wholesale import could still pass, the check uses a convention the library does not offer or
tests a property it does not have.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import itertools
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy

from .checks import CATALOGUE, CheckFailed

DEFAULT_WORKSPACE = "neurophys-exercises"
STUBS = Path(__file__).resolve().parent / "stubs"
STATUSES = ("PASS", "FAIL", "NOT STARTED")


class ExerciseError(ValueError):
    """A wrong lesson number, exercise number or path; the message says what to do."""


class LibraryShortcut(RuntimeError):
    """The student's code called a library function the exercise asks them to write."""


@dataclass
class Verdict:
    lesson: str
    index: int
    name: str
    status: str        # PASS, FAIL or NOT STARTED
    message: str

    def line(self) -> str:
        return f"ex{self.lesson}.{self.index}  {self.name:<22s} {self.status:<12s} {self.message}"


# ------------------------------------------------------------------ lessons and files
def lesson_number(number) -> str:
    """'2', 2, '02' -> '02'; refuses numbers without exercises."""
    try:
        n = f"{int(str(number)):02d}"
    except ValueError:
        raise ExerciseError(f"lesson number must be 01..13, got {number!r}") from None
    if n not in CATALOGUE:
        raise ExerciseError(f"lesson {n} has no exercises; lessons with exercises: {', '.join(sorted(CATALOGUE))}")
    return n


def exercises(number=None) -> list:
    """The catalogue: every exercise (or one lesson's), in order."""
    if number is None:
        return [e for n in sorted(CATALOGUE) for e in CATALOGUE[n]]
    return list(CATALOGUE[lesson_number(number)])


def stub_path(number) -> Path:
    return STUBS / f"ex{lesson_number(number)}.py"


def hand_out(number, workspace=DEFAULT_WORKSPACE, force: bool = False) -> Path:
    """Copy lesson ``number``'s stubs to ``workspace/exNN.py`` and return that path.

    An existing file (the student's work) is never overwritten unless ``force`` is true.
    """
    src = stub_path(number)
    dest_dir = Path(workspace)
    dest = dest_dir / src.name
    if dest.exists() and not force:
        raise ExerciseError(f"{dest} already exists (your work?); not overwriting it. Move it away, or pass "
                            "--force to replace it with fresh stubs")
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def _student_file(number, path) -> Path:
    p = Path(DEFAULT_WORKSPACE if path is None else path)
    f = p / f"ex{number}.py" if p.is_dir() or p.suffix != ".py" else p
    if not f.exists():
        raise ExerciseError(f"no exercise file {f}; hand it out first with `python -m neurophys exercises {number}`"
                            + (f" --out {p}" if path is not None else "") + ", or pass --path DIR")
    return f


# ------------------------------------------------------------------ switching library functions off
_ACTIVE: set = set()          # the "module:attr" names refused right now
_counter = itertools.count()


@functools.lru_cache(maxsize=None)
def _resolve(spec):
    mod_name, attr = spec.split(":")
    owner = importlib.import_module(mod_name)
    parts = attr.split(".")
    for p in parts[:-1]:
        owner = getattr(owner, p)
    return owner, parts[-1]


def _guard(spec, original):
    @functools.wraps(original)
    def guarded(*args, **kwargs):
        if spec in _ACTIVE:
            mod, attr = spec.split(":")
            raise LibraryShortcut(f"your code calls the library's {mod}.{attr}, which this exercise asks you to "
                                  "write yourself")
        return original(*args, **kwargs)
    del guarded.__wrapped__          # no way around the guard through functools' back door
    guarded.__neurophys_guard__ = True
    return guarded


@contextlib.contextmanager
def _switched_off(specs, refuse=True):
    """Replace each library function in ``specs`` by a guard for the duration of the block.

    Guards bound by the student's ``from ... import`` (done inside the block) stay in their
    module; they refuse only while a check of an exercise that forbids them is running.
    """
    patched = []
    for spec in specs:
        try:
            owner, attr = _resolve(spec)
        except (ImportError, AttributeError):
            continue   # moved or renamed elsewhere: nothing to switch off there
        original = getattr(owner, attr, None)
        if original is None:
            continue
        if getattr(original, "__neurophys_guard__", False):
            continue
        own = attr in vars(owner)
        setattr(owner, attr, _guard(spec, original))
        patched.append((owner, attr, original, own))
    added = set(specs) - _ACTIVE if refuse else set()
    _ACTIVE.update(added)
    try:
        yield
    finally:
        _ACTIVE.difference_update(added)
        for owner, attr, original, own in reversed(patched):
            if own:
                setattr(owner, attr, original)
            else:   # it was inherited: remove the guard, do not copy the base's function down
                delattr(owner, attr)


def _wrap(fn, specs):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        with _switched_off(specs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                err.__neurophys_student__ = True     # raised inside the student's code
                raise
    return call


def _import_student(number, path):
    f = _student_file(number, path)
    specs = sorted({s for e in CATALOGUE[number] for s in e.forbid})
    name = f"neurophys_student_ex{number}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, f)
    module = importlib.util.module_from_spec(spec)
    with _switched_off(specs, refuse=False):   # student's `from x import f` binds the guards
        spec.loader.exec_module(module)
    return module, f


# ------------------------------------------------------------------ checking
def _where(err, filename=None) -> str:
    """' (at exNN.py:LINE)' for the deepest frame of the student's file in the traceback."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if filename and f.filename == str(filename)]
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def check_one(ex, fn, rng=None, filename=None) -> Verdict:
    """Run one exercise's check on ``fn``; never raises."""
    rng = numpy.random.default_rng() if rng is None else rng
    try:
        with numpy.errstate(all="ignore"):
            note = ex.check(_wrap(fn, ex.forbid), rng)
        return Verdict(ex.lesson, ex.index, ex.name, "PASS", note or "")
    except NotImplementedError as err:
        return Verdict(ex.lesson, ex.index, ex.name, "NOT STARTED", str(err) or "raises NotImplementedError")
    except CheckFailed as err:
        return Verdict(ex.lesson, ex.index, ex.name, "FAIL", str(err))
    except LibraryShortcut as err:
        return Verdict(ex.lesson, ex.index, ex.name, "FAIL", str(err))
    except Exception as err:  # noqa: BLE001 - any error is a verdict, not a crash
        if getattr(err, "__neurophys_student__", False):
            return Verdict(ex.lesson, ex.index, ex.name, "FAIL",
                           f"your function raised {type(err).__name__}: {err}{_where(err, filename)}")
        return Verdict(ex.lesson, ex.index, ex.name, "FAIL",
                       f"checking your result raised {type(err).__name__}: {err} (if your function returns what its "
                       "docstring asks for, the checker is at fault: tell your teacher)")


def check(number, exercise: int | None = None, path=None, seed=None) -> list:
    """Import the student's ``exNN.py`` (from ``path``: a folder or the file; default
    ``./neurophys-exercises``) and check each exercise; returns a list of :class:`Verdict`.

    ``exercise`` picks one (1, 2, ...). ``seed`` fixes the random inputs (default: fresh
    entropy on every call, so that answers cannot be tailored to them).
    """
    number = lesson_number(number)
    chosen = CATALOGUE[number]
    if exercise is not None:
        chosen = [e for e in chosen if e.index == int(exercise)]
        if not chosen:
            raise ExerciseError(f"lesson {number} has exercises {', '.join(str(e.index) for e in CATALOGUE[number])}, "
                                f"not {exercise}")
    try:
        module, _ = _import_student(number, path)
    except ExerciseError:
        raise
    except Exception as err:  # noqa: BLE001
        msg = f"could not import your file: {type(err).__name__}: {err}"
        return [Verdict(e.lesson, e.index, e.name, "FAIL", msg) for e in chosen]
    rng = numpy.random.default_rng(seed)
    verdicts = []
    for e in chosen:
        fn = getattr(module, e.name, None)
        if not callable(fn):
            verdicts.append(Verdict(e.lesson, e.index, e.name, "FAIL", f"define a function {e.name}(...) in your file"))
            continue
        verdicts.append(check_one(e, fn, rng, filename=module.__file__))
    return verdicts


def report(verdicts) -> str:
    lines = [v.line() for v in verdicts]
    n_pass = sum(v.status == "PASS" for v in verdicts)
    lines.append(f"{n_pass}/{len(verdicts)} passed")
    return "\n".join(lines)


def describe(number) -> str:
    """What each exercise of a lesson asks and what its check verifies."""
    out = []
    for e in exercises(number):
        out.append(f"ex{e.lesson}.{e.index}  {e.name}: {e.summary}\n         checked by: {e.guards}")
    return "\n".join(out)


__all__ = ["hand_out", "check", "check_one", "report", "describe", "exercises", "lesson_number", "stub_path",
           "Verdict", "ExerciseError", "LibraryShortcut", "CheckFailed", "CATALOGUE", "DEFAULT_WORKSPACE"]
