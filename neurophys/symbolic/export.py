"""Take a law away: SymPy expressions and LaTeX (SymPy is a dependency of neurophys.symbolic).

    to_sympy(0.5*square(Var("omega")) - 9.81*Op("cos", Var("theta")))   # 0.5*omega**2 - 9.81*cos(theta)
    to_latex(...)                                                         # '0.5 \\omega^{2} - 9.81 \\cos{...}'

The conversion walks the tree node by node (no strings are parsed). With
``digits`` the constants are rounded for display; ``rational=True`` turns
constants that are near simple fractions (0.5, 0.25) into exact ones.
:func:`.engines.from_sympy` goes the other way.
"""
from __future__ import annotations

from .expr import Const, Node, Op, Var


def to_sympy(expr: Node, digits: int | None = None, rational: bool = False):
    """The SymPy expression of a tree (state variables become real symbols)."""
    import sympy

    symbols = {}

    def walk(node):
        if isinstance(node, Const):
            v = node.value if digits is None else float(f"{node.value:.{digits}g}")
            if rational:
                r = sympy.nsimplify(v, rational=True, tolerance=1e-9 * max(abs(v), 1.0))
                if r.is_Rational and r.q <= 100:
                    return r
            return sympy.Integer(int(v)) if v == int(v) and abs(v) < 1e15 else sympy.Float(v)
        if isinstance(node, Var):
            if node.name not in symbols:
                symbols[node.name] = sympy.Symbol(node.name, real=True)
            return symbols[node.name]
        a = [walk(c) for c in node.children]
        op = node.op
        table = {
            "add": lambda: a[0] + a[1], "sub": lambda: a[0] - a[1], "mul": lambda: a[0] * a[1],
            "div": lambda: a[0] / a[1], "neg": lambda: -a[0], "square": lambda: a[0] ** 2, "cube": lambda: a[0] ** 3,
            "sqrt": lambda: sympy.sqrt(a[0]), "inv": lambda: 1 / a[0], "sin": lambda: sympy.sin(a[0]),
            "cos": lambda: sympy.cos(a[0]), "exp": lambda: sympy.exp(a[0]), "log": lambda: sympy.log(a[0]),
            "abs": lambda: sympy.Abs(a[0]),
        }
        if op not in table:
            raise ValueError(f"no SymPy form for the operator {op!r}")
        return table[op]()

    return walk(expr)


def to_latex(expr: Node, digits: int | None = 4, rational: bool = False) -> str:
    """LaTeX of a tree (through SymPy), constants to ``digits`` significant digits."""
    import sympy

    return sympy.latex(to_sympy(expr, digits=digits, rational=rational))
