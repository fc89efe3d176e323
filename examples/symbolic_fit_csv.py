"""Fit a symbolic law to the columns of a CSV file (neurophys.symbolic, no eval anywhere).

    python examples/symbolic_fit_csv.py data.csv --target E
    python examples/symbolic_fit_csv.py data.csv --target E --operators add,sub,mul,div,square,sin,cos
    python examples/symbolic_fit_csv.py data.csv --target E --engine sparse --degree 3 --term "log(x)"

The CSV needs a header row; every column but the target (and those named with
--ignore) is an input variable. Choose what a law may contain:

  --operators   the operators of the genetic search (default add,sub,mul,div,square,sqrt,inv;
                also sin, cos, exp, log, abs, cube); the sparse engine adds op(variable) terms
  --degree      monomials up to this degree as candidate terms / seed genes (0: none)
  --trig        variables that get sin/cos candidate terms (e.g. --trig theta)
  --term        a candidate term typed as a formula, read by a safe parser (repeatable)
  --no-intercept  no free constant (a constant term is on by default, in every engine)
  --time-budget seconds for the search (it stops after the generation that passes it)

It prints the Pareto front (complexity, loss, score, R², equation; << marks the
law picked by PySR's rule), the picked law as SymPy and LaTeX, and how the search
stopped. A progress bar runs on stderr when it is a terminal.

Without a file, a demonstration CSV is written and fitted: a pendulum's energy
E = ½ω² − g cos θ (g = 9.81) over (theta, omega). With the default operators the
search can only approximate cos θ by a polynomial; add sin and cos to find the law:

    python examples/symbolic_fit_csv.py --operators add,sub,mul,div,square,sin,cos
"""
import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

from neurophys import symbolic as S

DEFAULT_OPERATORS = "add,sub,mul,div,square,sqrt,inv"


def read_csv(path, target, ignore=()):
    """(X, y, names) from a CSV with a header; clear errors for a missing target or non-numbers."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    if len(rows) < 4:
        raise SystemExit(f"{path}: needs a header row and at least 3 data rows")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise SystemExit(f"column {target!r} is not in the CSV; columns are: {', '.join(header)}")
    try:
        body = np.array([[float(c) for c in r] for r in rows[1:]], dtype=float)
    except ValueError as err:
        raise SystemExit(f"{path}: every cell must be a number ({err})") from None
    if not np.all(np.isfinite(body)):
        bad = sorted({int(i) + 2 for i in np.argwhere(~np.isfinite(body))[:, 0]})
        raise SystemExit(f"{path}: missing or non-finite values on line(s) {bad[:10]}; drop or fill them")
    keep = [i for i, h in enumerate(header) if h != target and h not in ignore]
    return body[:, keep], body[:, header.index(target)], [header[i] for i in keep]


def demo_csv():
    rng = np.random.default_rng(0)
    theta, omega = rng.uniform(-3.0, 3.0, 400), rng.uniform(-4.0, 4.0, 400)
    path = Path(tempfile.mkdtemp()) / "pendulum_energy.csv"
    np.savetxt(path, np.stack([theta, omega, 0.5 * omega ** 2 - 9.81 * np.cos(theta)], 1), delimiter=",",
               header="theta,omega,E", comments="")
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="?", help="CSV file with a header row (default: a demonstration file)")
    p.add_argument("--target", default="E", help="the column to explain (default E)")
    p.add_argument("--ignore", default="", help="comma-separated columns that are not inputs (e.g. an id, time)")
    p.add_argument("--engine", default="builtin", choices=S.ENGINES)
    p.add_argument("--operators", default=DEFAULT_OPERATORS, help=f"comma-separated (default {DEFAULT_OPERATORS})")
    p.add_argument("--degree", type=int, default=2, help="monomials up to this degree as candidate terms (0: none)")
    p.add_argument("--trig", default="", help="comma-separated variables that get sin/cos candidate terms")
    p.add_argument("--term", action="append", default=[], help="a candidate term as a formula, e.g. 'log(x)'")
    p.add_argument("--no-intercept", action="store_true", help="no free constant term")
    p.add_argument("--generations", type=int, default=40)
    p.add_argument("--population", type=int, default=60)
    p.add_argument("--islands", type=int, default=4)
    p.add_argument("--time-budget", type=float, default=60.0, help="seconds for the search (default 60)")
    p.add_argument("--rule", default="score", choices=("score", "accuracy", "r2"), help="how the law is picked")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    path = a.csv or demo_csv()
    X, y, names = read_csv(path, a.target, [c for c in a.ignore.split(",") if c])
    operators = [o.strip() for o in a.operators.split(",") if o.strip()]
    try:
        terms = S.build_library(names, degree=a.degree, trig=[v for v in a.trig.split(",") if v],
                                expressions=a.term) if (a.degree or a.trig or a.term) else None
        opts = {} if a.engine == "sparse" else {"generations": a.generations, "islands": a.islands,
                                               "population": a.population}
        if a.engine == "sparse" and a.operators == DEFAULT_OPERATORS:
            operators = None               # the sparse engine's library: the terms alone
        front = S.discover(X, y, names, engine=a.engine, terms=terms, seed=a.seed, operators=operators,
                           intercept=not a.no_intercept, max_seconds=a.time_budget,
                           progress=False if a.no_progress else None, **opts)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    if front.note:
        print(front.note)
    print(f"{len(y)} samples of {a.target} over {', '.join(names)}; operators {', '.join(operators or ['none'])}; "
          f"{len(terms) if terms else 0} candidate terms; intercept {'off' if a.no_intercept else 'on'}")
    print(f"\nPareto front ({front.engine} engine, {front.seconds:.1f} s"
          f"{', ' + front.stopped if front.stopped else ''}):")
    print(front.table(a.rule))
    best = front.best(a.rule)
    print(f"\npicked ({a.rule}): {a.target} = {best.expr}   (R² = {best.r2:.8f}, complexity {best.complexity})")
    print(f"SymPy:  {S.to_sympy(best.expr)}")
    print(f"LaTeX:  {S.to_latex(best.expr)}")
    if a.csv is None and "cos" not in (operators or []) and "cos" not in a.trig:
        print("\nThe demonstration law is E = 0.5*omega^2 - 9.81*cos(theta): allow the cosine with\n"
              "  --operators add,sub,mul,div,square,sin,cos", file=sys.stderr)
    return front


if __name__ == "__main__":
    main()
