"""The three systems of document 002 in symbolic form: their term libraries and true laws.

    term_library("orbit")   # monomials of (x, y, vx, vy) up to degree 2, and 1/r
    true_laws("orbit")      # {"total": ..., "kinetic": ..., "angular_momentum": ...} as trees

The true laws use the constants of :mod:`neurophys.physics.mechanics`
(m = 1, g = 9.81, k = 5, GM = 3.986 unless overridden); they are what a
discovered law is compared with, never what the search sees.
"""
from __future__ import annotations

from ..physics import mechanics as M
from .expr import Var, inv, sqrt, square, variables
from .library import polynomial_terms


def term_library(system: str, degree: int = 2) -> list:
    """Candidate terms: all monomials of the state up to ``degree``; for the orbit also 1/r.

    The 1/r term is a physics prior (a central force), stated rather than hidden.
    """
    names = M.STATE_NAMES[M.check_system(system)]
    terms = polynomial_terms(names, degree=degree)
    if system == "orbit":
        x, y = Var("x"), Var("y")
        terms.append(inv(sqrt(square(x) + square(y))))
    return terms


def true_laws(system: str, **params) -> dict:
    """{quantity: tree} for the document's nine equations (three per system).

        projectile  K = ½ m (vx² + vy²),  U = m g y,       E = K + U
        spring      K = ½ m v²,           U = ½ k x²,      E = K + U
        orbit       K = ½ m (vx² + vy²),  U = −GM m / r,   E = K + U,  L = m (x vy − y vx)

    Keys are those of ``mechanics.invariants``: total, kinetic, potential (projectile,
    spring), angular_momentum (orbit; the document's table lists no orbit E_potential).
    """
    p = M.params_for(M.check_system(system), **params)
    if system == "spring":
        x, v = variables("x", "v")
        K, U = 0.5 * p["m"] * square(v), 0.5 * p["k"] * square(x)
        return {"total": K + U, "kinetic": K, "potential": U}
    x, y, vx, vy = variables("x", "y", "vx", "vy")
    K = 0.5 * p["m"] * (square(vx) + square(vy))
    if system == "projectile":
        U = p["m"] * p["g"] * y
        return {"total": K + U, "kinetic": K, "potential": U}
    U = -p["GM"] * p["m"] * inv(sqrt(square(x) + square(y)))
    L = p["m"] * (x * vy - y * vx)
    return {"total": K + U, "kinetic": K, "angular_momentum": L}
