"""``python -m neurophys check NN|all [--exercise K] [--path DIR] [--seed S]``: one verdict per exercise."""
from __future__ import annotations

from pathlib import Path

from .. import course
from . import CATALOGUE, DEFAULT_WORKSPACE, ExerciseError, check, report


def add_arguments(parser):
    parser.add_argument("lesson", help="lesson number, 01..13, or 'all' (every exNN.py found in the folder)")
    parser.add_argument("--exercise", type=int, default=None, metavar="K", help="check only exercise K (1, 2, ...)")
    parser.add_argument("--path", default=None, metavar="DIR",
                        help=f"the folder holding exNN.py, or the file itself (default ./{DEFAULT_WORKSPACE})")
    parser.add_argument("--seed", type=int, default=None,
                        help="fix the random inputs (default: fresh ones on every run)")


def main(args) -> int:
    try:
        if args.lesson.lower() == "all":
            folder = Path(DEFAULT_WORKSPACE if args.path is None else args.path)
            numbers = [n for n in sorted(CATALOGUE) if (folder / f"ex{n}.py").exists()]
            if not numbers:
                raise ExerciseError(f"no exNN.py in {folder}; hand some out with `python -m neurophys exercises NN`")
            verdicts = [v for n in numbers for v in check(n, path=folder, seed=args.seed)]
        else:
            verdicts = check(args.lesson, exercise=args.exercise, path=args.path, seed=args.seed)
    except ExerciseError as err:
        raise course.CourseError(str(err)) from None
    print(report(verdicts))
    return 0 if all(v.status == "PASS" for v in verdicts) else 1
