"""``python -m neurophys``: list the course, run lessons, open them as notebooks, show results.

Adding a subcommand
-------------------
A subcommand is a module with two functions::

    def add_arguments(parser):      # an argparse parser of its own
        parser.add_argument(...)

    def main(args) -> int:          # args: the parsed namespace; return the exit status
        ...

and one line in ``SUBCOMMANDS`` below: ``"name": ("module", "one-line help")``. The module
is imported only when its command runs (``--help`` lists every command without importing
any). Raise :class:`neurophys.course.CourseError` (or ``NeurophysInputError``) for a
mistake the user can fix: it is printed as one ``error:`` line with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from . import backend as B
from . import course
from .sweep import SweepRefused

SUBCOMMANDS = {
    "lessons": ("neurophys.cli", "list the lessons of the course with their measured times"),
    "run": ("neurophys.cli", "run one lesson (01..13) or 'all' in order"),
    "results": ("neurophys.cli", "print the committed results (or a workspace's) as a markdown table"),
    "notebook": ("neurophys.notebooks", "write lessons as Jupyter notebooks (and execute them)"),
    # other engineers: one line each, e.g.
    # "exercises": ("neurophys.exercises.cli", "list, start and check the lessons' exercises"),
    "exercises": ("neurophys.exercises.cli_handout", "hand out a lesson's coding exercises (stubs to fill in)"),
    "check": ("neurophys.exercises.cli_check", "check your exercises: PASS / FAIL with a hint / NOT STARTED"),
    "site": ("neurophys.site.cli", "build the offline course site (HTML, opens without a network)"),
}


# ------------------------------------------------------------------ built-in commands
def lessons_add_arguments(parser):
    pass


def lessons_main(args) -> int:
    files = course.lesson_files()
    times = course.measured_times()
    for number, title in course.COURSE.items():
        if number in files:
            path = files[number]
            where = path.relative_to(course.COURSE_ROOT) if course.IN_CLONE else path
        else:
            where = "(not in the lessons folder)"
        print(f"{number}  {title}")
        print(f"    {where}")
        measured = times.get(number, {})
        if measured:
            parts = []
            for tier in course.TIERS:
                if tier in measured:
                    t = measured[tier]
                    wall = course.format_duration(t["seconds"]) if t.get("seconds") is not None else None
                    cpu = course.format_duration(t["cpu_seconds"]) + " CPU" if t.get("cpu_seconds") is not None else None
                    parts.append(f"{tier} " + ", ".join(x for x in (wall, cpu) if x))
            print(f"    measured: {'; '.join(parts)}")
    examples = course.COURSE_ROOT / "examples"
    if examples.is_dir():
        names = sorted(p.name for p in examples.glob("*.py"))
        print(f"\nexamples (one capability each; run with python {examples}{os.sep}NAME.py):")
        print("    " + ", ".join(names))
    return 0


def run_add_arguments(parser):
    parser.add_argument("lesson", help="lesson number, e.g. 01, or 'all'")
    course.add_run_options(parser)


def run_main(args) -> int:
    options = dict(publish=args.publish, resume=args.resume, jobs=args.jobs, scheduler=args.scheduler)
    if args.lesson.lower() != "all":
        course.run_lesson(args.lesson, args.tier, args.seed, args.backend, args.out, **options)
        return 0
    rows = course.run_all(args.tier, args.seed, args.backend, args.out, **options)
    print("\n" + course.summary_table(rows), flush=True)
    if any(r.get("interrupted") for r in rows):
        raise KeyboardInterrupt
    return 1 if any(r["status"] == "failed" for r in rows) else 0


def results_add_arguments(parser):
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--full", action="store_const", dest="tier", const="full", help="the full tier's results")
    tier.add_argument("--quick", action="store_const", dest="tier", const="quick",
                      help="the quick tier's results (a workspace only)")
    parser.set_defaults(tier="default")
    parser.add_argument("--workspace", type=Path, default=None, metavar="DIR",
                        help=f"read a workspace (e.g. ./{course.WORKSPACE}) instead of the committed figures/")


def results_main(args) -> int:
    if args.tier == "quick" and args.workspace is None:
        raise course.CourseError("quick-tier results are never committed; add --workspace DIR "
                                 f"(e.g. --workspace {course.WORKSPACE})")
    if args.workspace is not None and not args.workspace.is_dir():
        raise course.CourseError(f"the workspace {args.workspace} is not a folder")
    print(course.results_table(args.tier, args.workspace))
    return 0


# ------------------------------------------------------------------ the parser and main
def _command_module(name: str):
    module_name, _ = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    if module_name == __name__:  # the built-ins above: <name>_add_arguments / <name>_main
        return (getattr(module, f"{name}_add_arguments"), getattr(module, f"{name}_main"))
    return module.add_arguments, module.main


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog="python -m neurophys", allow_abbrev=False,
                                     description="neurophys: physics-inspired neural networks, the course")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_, help_) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_, allow_abbrev=False)
        if name == command:
            add_arguments, _ = _command_module(name)
            add_arguments(p)
    return parser


def _chosen_command(argv):
    for a in argv:
        if not a.startswith("-"):
            return a if a in SUBCOMMANDS else None
    return None


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _chosen_command(argv)
    try:
        parser = build_parser(command)
    except course.CourseError as err:  # e.g. a bad NEUROPHYS_* variable
        print(f"python -m neurophys: error: {err}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        _, run = _command_module(args.command)
        return int(run(args) or 0)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("interrupted (Ctrl-C); files already written are complete, the rest was not written",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, without a second error at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (course.CourseError, B.BackendError, SweepRefused) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        if type(err).__name__ == "NeurophysInputError":
            print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
