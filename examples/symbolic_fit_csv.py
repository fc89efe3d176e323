"""Fit a symbolic law to the columns of a CSV file (neurophys.symbolic, no eval anywhere).

    python examples/symbolic_fit_csv.py data.csv --target E [--engine builtin|sparse|pysr] [--degree 2]

The CSV needs a header row; every column but the target is an input variable.
Without a file, a demonstration CSV (a spring's energy, k = 5) is written and fitted.
"""
import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from neurophys import symbolic as S


def read_csv(path, target):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], np.array(rows[1:], dtype=float)
    if target not in header:
        raise SystemExit(f"column {target!r} is not in the CSV; columns are: {', '.join(header)}")
    j = header.index(target)
    names = [h for i, h in enumerate(header) if i != j]
    return np.delete(body, j, axis=1), body[:, j], names


def demo_csv():
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-2, 2, (2, 400))
    path = Path(tempfile.mkdtemp()) / "spring_energy.csv"
    np.savetxt(path, np.stack([x, v, 0.5 * v ** 2 + 2.5 * x ** 2], 1), delimiter=",", header="x,v,E", comments="")
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="?", help="CSV file with a header row (default: a demonstration file)")
    p.add_argument("--target", default="E", help="the column to explain (default E)")
    p.add_argument("--engine", default="builtin", choices=S.ENGINES)
    p.add_argument("--degree", type=int, default=2, help="degree of the candidate-term library")
    p.add_argument("--generations", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    path = a.csv or demo_csv()
    X, y, names = read_csv(path, a.target)
    terms = S.polynomial_terms(names, a.degree)
    opts = {} if a.engine == "sparse" else {"generations": a.generations, "islands": 4, "population": 60}
    front = S.discover(X, y, names, engine=a.engine, terms=terms, seed=a.seed, **opts)
    if front.note:
        print(front.note)
    print(f"Pareto front ({front.engine} engine, {front.seconds:.1f} s): complexity, loss, R², law")
    print(front.table())
    best = front.best()
    print(f"\npicked: {a.target} = {best.expr}\nexpanded: {S.expand(best.expr).text()}  (R² = {best.r2:.6f})")


if __name__ == "__main__":
    main()
