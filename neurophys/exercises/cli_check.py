"""``python -m neurophys check NN [--exercise K] [--path DIR] [--seed S]``: one verdict per exercise."""
from __future__ import annotations

from .. import course
from . import DEFAULT_WORKSPACE, ExerciseError, check, report


def add_arguments(parser):
    parser.add_argument("lesson", help="lesson number, 01..13")
    parser.add_argument("--exercise", type=int, default=None, metavar="K", help="check only exercise K (1, 2, ...)")
    parser.add_argument("--path", default=None, metavar="DIR",
                        help=f"the folder holding exNN.py, or the file itself (default ./{DEFAULT_WORKSPACE})")
    parser.add_argument("--seed", type=int, default=None,
                        help="fix the random inputs (default: fresh ones on every run)")


def main(args) -> int:
    try:
        verdicts = check(args.lesson, exercise=args.exercise, path=args.path, seed=args.seed)
    except ExerciseError as err:
        raise course.CourseError(str(err)) from None
    print(report(verdicts))
    return 0 if all(v.status == "PASS" for v in verdicts) else 1
