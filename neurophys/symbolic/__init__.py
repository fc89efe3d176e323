"""Symbolic regression and conservation-law discovery (lesson 12).

- ``expr``       expressions as trees: Const, Var, Op; evaluate, complexity,
                 printing (text, HTML), canonical expansion
- ``search``     a from-scratch genetic search (multi-gene GP) -> Pareto front
- ``library``    candidate-term libraries and sparse regression (STLSQ)
- ``engines``    ``discover(X, y, names, engine="builtin"|"sparse"|"pysr"|"auto")``
- ``compare``    a discovered law against the true one, term by term
- ``conserved``  conserved quantities from raw trajectories, no labels
- ``systems``    document 002's systems: term libraries and the true laws as trees
- ``data``       the user's own trajectories from CSV / .npz (``load_trajectories``)
- ``parse``      formulas typed by a user -> trees, without eval (``parse_expression``)
- ``export``     trees -> SymPy and LaTeX (``to_sympy``, ``to_latex``)

Everything here runs on the host with NumPy/SciPy (arrays from the CuPy backend
are copied with ``neurophys.backend.to_host`` first): expressions are small and
the data sets are a few thousand samples.
"""
from .compare import Comparison, compare_laws
from .conserved import ConservedQuantity, ConservedResult, find_conserved
from .data import TrajectorySet, load_trajectories, save_trajectories
from .engines import ENGINES, EngineUnavailable, discover, from_sympy, pysr_status, split_operators
from .export import to_latex, to_sympy
from .expr import Const, Node, Op, Var, evaluate, expand, inv, sqrt, square, to_html, to_string, variables
from .library import (build_library, inverse_distance, library_matrix, linear_combination, polynomial_terms,
                      sparse_fit, stlsq, trig_terms)
from .parse import parse_expression
from .search import Candidate, GeneticSearch, ParetoFront, fit_constants, r2_score
from .systems import term_library, true_laws

__all__ = [
    "Candidate", "Comparison", "Const", "ConservedQuantity", "ConservedResult", "ENGINES", "EngineUnavailable",
    "GeneticSearch", "Node", "Op", "ParetoFront", "TrajectorySet", "Var", "build_library", "compare_laws",
    "discover", "evaluate", "expand", "find_conserved", "fit_constants", "from_sympy", "inv", "inverse_distance",
    "library_matrix", "linear_combination", "load_trajectories", "parse_expression", "polynomial_terms",
    "pysr_status", "r2_score", "save_trajectories", "sparse_fit", "split_operators", "sqrt", "square", "stlsq",
    "term_library", "to_html", "to_latex", "to_string", "to_sympy", "trig_terms", "true_laws", "variables",
]
