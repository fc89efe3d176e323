"""``python -m neurophys exercises [NN|all] [--out DIR] [--force]``: hand out a lesson's stubs."""
from __future__ import annotations

from .. import course
from . import DEFAULT_WORKSPACE, ExerciseError, describe, exercises, hand_out, lesson_number


def add_arguments(parser):
    parser.add_argument("lesson", nargs="?", default=None,
                        help="lesson number (01..13) or 'all'; without it, list every exercise")
    parser.add_argument("--out", default=DEFAULT_WORKSPACE, metavar="DIR",
                        help=f"your exercise folder (default ./{DEFAULT_WORKSPACE})")
    parser.add_argument("--force", action="store_true", help="overwrite an existing exNN.py (your work is lost)")


def main(args) -> int:
    try:
        if args.lesson is None:
            print("\n".join(describe(n) for n in sorted({e.lesson for e in exercises()})))
            print("\nhand out a lesson's stubs with: python -m neurophys exercises NN")
            return 0
        numbers = sorted({e.lesson for e in exercises()}) if args.lesson.lower() == "all" else [lesson_number(args.lesson)]
        for n in numbers:
            path = hand_out(n, args.out, force=args.force)
            print(f"wrote {path}")
            print(describe(n))
            print(f"fill in the functions, then: python -m neurophys check {n}"
                  + (f" --path {args.out}" if args.out != DEFAULT_WORKSPACE else "") + "\n")
    except ExerciseError as err:
        raise course.CourseError(str(err)) from None
    return 0
