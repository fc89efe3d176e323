"""``python -m neurophys``: list the course, run a lesson or all of them, show results."""
from __future__ import annotations

import argparse
import sys

from . import backend as B
from . import course


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m neurophys",
                                     description="neurophys: physics-inspired neural networks, the course")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("lessons", help="list the lessons of the course")
    run = sub.add_parser("run", help="run one lesson (01..13) or 'all' in order")
    run.add_argument("lesson", help="lesson number, e.g. 01, or 'all'")
    course.add_run_options(run)
    table = sub.add_parser("results", help="print the stored results as a markdown table")
    table.add_argument("--full", action="store_const", dest="tier", const="full", default="default")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "lessons":
            files = course.lesson_files()
            for number, title in course.COURSE.items():
                where = files[number].relative_to(course.REPO_ROOT) if number in files else "(not written yet)"
                print(f"{number}  {title}\n    {where}")
            return 0
        if args.command == "results":
            print(course.results_table(args.tier))
            return 0
        if args.backend:
            B.set_backend(args.backend)
        if args.lesson.lower() == "all":
            return 1 if course.run_all(args.tier, args.seed, args.backend, args.out) else 0
        course.run_lesson(args.lesson, args.tier, args.seed, args.backend, args.out)
        return 0
    except (course.CourseError, B.BackendError) as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
