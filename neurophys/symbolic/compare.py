"""Is the discovered law the true one? Term-by-term comparison of canonical forms.

Both trees are expanded into sums of monomials (:func:`expr.expand`), so that
``9.81*y + 0.5*(vx^2 + vy^2)`` and ``0.5*vx*vx + y*9.81 + 0.5*vy^2`` compare
equal. The structure matches when both have the same monomials (terms whose
share of the law's spread on the data is negligible are ignored, see
``rel_tol``); the coefficient error is the largest relative error

    max_k |c_found,k − c_true,k| / |c_true,k|

over the true law's terms (a missing term counts as an error of 1, an extra
term makes the error infinite).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .expr import Node, Polynomial, expand
from .expr import monomial_text
from .search import r2_score


@dataclass
class Comparison:
    structure_match: bool
    coef_error: float          # max relative error over the true terms (inf on extra terms)
    found: Polynomial
    true: Polynomial
    rows: list                 # (term, true coefficient, found coefficient, relative error)

    def text(self) -> str:
        lines = [f"{'term':>22s} {'true':>10s} {'found':>10s} {'rel.err':>9s}"]
        for term, ct, cf, e in self.rows:
            lines.append(f"{term or '1':>22s} {ct:10.4g} {cf:10.4g} {e:9.2e}")
        return "\n".join(lines)


def compare_laws(found: Node, true: Node, rel_tol: float = 1e-6, ignore_constant: bool = False,
                 normalise: bool = False) -> Comparison:
    """Compare a discovered law with the true one term by term (see module docstring).

    A found term whose coefficient is below ``rel_tol`` times the largest one
    is treated as numerical dust and dropped before comparing. With
    ``ignore_constant`` an additive constant is dropped from both (an energy is
    defined up to one). With ``normalise`` the found law is first rescaled so that
    its coefficient on the true law's largest term matches (a conserved quantity
    is defined up to a factor: ``x^2 + 0.2 v^2`` is the energy ``2.5 x^2 + 0.5 v^2``).
    """
    pf, pt = expand(found), expand(true)
    if ignore_constant:
        pf.pop((), None)
        pt.pop((), None)
    if not pt:
        raise ValueError("the true law expands to zero; nothing to compare with")
    big = max(abs(c) for c in pf.values()) if pf else 0.0
    if normalise and pf:
        shared = [m for m in pt if m in pf and abs(pf[m]) > rel_tol * big]
        if shared:
            m0 = max(shared, key=lambda m: abs(pt[m]))
            factor = pt[m0] / pf[m0]
            pf = Polynomial({m: c * factor for m, c in pf.items()})
            big = abs(factor) * big
    pf = Polynomial({m: c for m, c in pf.items() if abs(c) > rel_tol * big})
    rows, errors = [], []
    for m in sorted(set(pf) | set(pt)):
        ct, cf = pt.get(m, 0.0), pf.get(m, 0.0)
        err = abs(cf - ct) / abs(ct) if ct != 0 else math.inf
        rows.append((_term(m), ct, cf, err))
        errors.append(err)
    return Comparison(structure_match=set(pf) == set(pt), coef_error=float(max(errors)),
                      found=pf, true=pt, rows=rows)


def _term(m) -> str:
    return monomial_text(m)


def max_relative_error(found: dict, true: dict) -> float:
    """max_k |found_k − true_k| / |true_k| for two {name: value} mappings over true's keys."""
    return float(max(abs(found.get(k, 0.0) - v) / abs(v) for k, v in true.items()))


def r2(y, pred) -> float:
    return r2_score(np.asarray(y), np.asarray(pred))
