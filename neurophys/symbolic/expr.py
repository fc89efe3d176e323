"""Expressions as trees: the data structure symbolic regression searches over.

An expression is a tree of three kinds of node::

    Const(0.5)            a number (a constant the search may fit)
    Var("vx")             a state variable, looked up by name
    Op("mul", a, b)       an operator applied to child trees

Trees are immutable. They are evaluated with NumPy on a dictionary of arrays
(``expr.evaluate({"x": x, "vx": vx})``), never turned into a string and passed
to ``eval``. Python's operators build trees, so the true laws can be written
as code that reads like the physics::

    vx, vy, y = Var("vx"), Var("vy"), Var("y")
    E = 0.5 * m * (square(vx) + square(vy)) + m * g * y

The *complexity* of a tree is its number of nodes (as in PySR). :func:`expand`
turns a tree into a canonical sum of monomials, so that a discovered law can be
compared term by term with the true one whatever shape the search gave it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


# --------------------------------------------------------------------------- operators
@dataclass(frozen=True)
class Operator:
    """One operator: its arity, its NumPy function and how it prints."""

    name: str
    arity: int
    fn: object
    symbol: str = ""        # infix symbol for binary operators
    precedence: int = 9     # binding strength when printed infix


def _protected(fn):
    def wrapped(*args):
        with np.errstate(all="ignore"):
            return fn(*args)
    return wrapped


OPERATORS = {
    "add": Operator("add", 2, _protected(np.add), "+", 1),
    "sub": Operator("sub", 2, _protected(np.subtract), "-", 1),
    "mul": Operator("mul", 2, _protected(np.multiply), "*", 2),
    "div": Operator("div", 2, _protected(np.divide), "/", 2),
    "neg": Operator("neg", 1, _protected(np.negative), "-", 3),
    "square": Operator("square", 1, _protected(np.square), "^2", 4),
    "cube": Operator("cube", 1, _protected(lambda a: a * a * a), "^3", 4),
    "sqrt": Operator("sqrt", 1, _protected(np.sqrt)),
    "inv": Operator("inv", 1, _protected(lambda a: 1.0 / a)),
    "sin": Operator("sin", 1, _protected(np.sin)),
    "cos": Operator("cos", 1, _protected(np.cos)),
    "exp": Operator("exp", 1, _protected(np.exp)),
    "log": Operator("log", 1, _protected(np.log)),
    "abs": Operator("abs", 1, _protected(np.abs)),
}


def get_operator(name: str) -> Operator:
    if name not in OPERATORS:
        raise ValueError(f"unknown operator {name!r}; valid operators are: {', '.join(OPERATORS)}")
    return OPERATORS[name]


# --------------------------------------------------------------------------- nodes
class Node:
    """Base class of expression trees (immutable)."""

    __slots__ = ()
    children: tuple = ()

    # ---- building trees with Python operators (no strings, no eval)
    def __add__(self, other):
        return Op("add", self, as_node(other))

    def __radd__(self, other):
        return Op("add", as_node(other), self)

    def __sub__(self, other):
        return Op("sub", self, as_node(other))

    def __rsub__(self, other):
        return Op("sub", as_node(other), self)

    def __mul__(self, other):
        return Op("mul", self, as_node(other))

    def __rmul__(self, other):
        return Op("mul", as_node(other), self)

    def __truediv__(self, other):
        return Op("div", self, as_node(other))

    def __rtruediv__(self, other):
        return Op("div", as_node(other), self)

    def __neg__(self):
        return Op("neg", self)

    # ---- what every node answers
    def evaluate(self, env: dict) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def complexity(self) -> int:
        """Number of nodes in the tree (PySR's default complexity)."""
        return 1 + sum(c.complexity() for c in self.children)

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children), default=0)

    def variables(self) -> set:
        out = set()
        for node in self.nodes():
            if isinstance(node, Var):
                out.add(node.name)
        return out

    def nodes(self) -> list:
        """All nodes in pre-order (the index a search uses to pick a subtree)."""
        out = [self]
        for c in self.children:
            out.extend(c.nodes())
        return out

    def __str__(self):
        return to_string(self)

    def __repr__(self):
        return f"<expr {to_string(self)}>"

    def __eq__(self, other):
        return isinstance(other, Node) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def key(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError


class Const(Node):
    __slots__ = ("value",)

    def __init__(self, value):
        object.__setattr__(self, "value", float(value))

    def __setattr__(self, *_):
        raise AttributeError("expression trees are immutable")

    def evaluate(self, env):
        n = _n_samples(env)
        return np.full(n, self.value) if n is not None else np.asarray(self.value)

    def key(self):
        return ("c", self.value)


class Var(Node):
    __slots__ = ("name",)

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a variable needs a non-empty string name, got {name!r}")
        object.__setattr__(self, "name", name)

    def __setattr__(self, *_):
        raise AttributeError("expression trees are immutable")

    def evaluate(self, env):
        if self.name not in env:
            raise ValueError(f"variable {self.name!r} is not in the data; available: {', '.join(env)}")
        return np.asarray(env[self.name], dtype=float)

    def key(self):
        return ("v", self.name)


class Op(Node):
    __slots__ = ("op", "children")

    def __init__(self, op: str, *children):
        operator = get_operator(op)
        if len(children) != operator.arity:
            raise ValueError(f"operator {op!r} takes {operator.arity} argument(s), got {len(children)}")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "children", tuple(as_node(c) for c in children))

    def __setattr__(self, *_):
        raise AttributeError("expression trees are immutable")

    def evaluate(self, env):
        args = [c.evaluate(env) for c in self.children]
        return OPERATORS[self.op].fn(*args)

    def key(self):
        return (self.op,) + tuple(c.key() for c in self.children)


def as_node(x) -> Node:
    if isinstance(x, Node):
        return x
    if isinstance(x, (int, float, np.floating, np.integer)):
        return Const(float(x))
    raise TypeError(f"cannot make an expression node from {type(x).__name__}")


def _n_samples(env):
    for v in env.values():
        a = np.asarray(v)
        if a.ndim >= 1:
            return a.shape[0] if a.ndim == 1 else a.shape
    return None


# helpers that read like the physics
def square(a) -> Op:
    return Op("square", as_node(a))


def sqrt(a) -> Op:
    return Op("sqrt", as_node(a))


def inv(a) -> Op:
    return Op("inv", as_node(a))


def power(base, p) -> Node:
    """``base ** p`` as a tree of the library's operators: p = 2, 3, 1/2, -1, -1/2, -2, 1, or a
    whole power up to 8 (repeated products). Other powers raise ValueError."""
    base = as_node(base)
    p = float(p)
    named = {2.0: lambda b: Op("square", b), 3.0: lambda b: Op("cube", b), 0.5: lambda b: Op("sqrt", b),
             -1.0: lambda b: Op("inv", b), -0.5: lambda b: Op("inv", Op("sqrt", b)),
             -2.0: lambda b: Op("inv", Op("square", b)), 1.0: lambda b: b,
             4.0: lambda b: Op("square", Op("square", b))}
    if p in named:
        return named[p](base)
    if p == int(p) and 1 < p <= 8:
        out = base
        for _ in range(int(p) - 1):
            out = Op("mul", out, base)
        return out
    raise ValueError(f"the power {p:g} is not supported (use 2, 3, 1/2, -1, -1/2, -2 or a whole power up to 8)")


def variables(*names) -> list:
    """``x, y = variables("x", "y")``."""
    return [Var(n) for n in names]


def evaluate(expr: Node, X, names) -> np.ndarray:
    """Evaluate ``expr`` on the columns of ``X`` (n_samples x n_vars) named ``names``."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must be (n_samples, {len(names)}) for variables {list(names)}, got shape {X.shape}")
    out = expr.evaluate({n: X[:, i] for i, n in enumerate(names)})
    return np.broadcast_to(out, (X.shape[0],)).astype(float)


# --------------------------------------------------------------------------- editing trees
def replace_at(expr: Node, index: int, new: Node) -> Node:
    """A copy of ``expr`` with its pre-order node number ``index`` replaced by ``new``."""
    if index == 0:
        return new
    if not isinstance(expr, Op):
        raise IndexError("node index out of range")
    index -= 1
    children = list(expr.children)
    for i, c in enumerate(children):
        size = c.complexity()
        if index < size:
            children[i] = replace_at(c, index, new)
            return Op(expr.op, *children)
        index -= size
    raise IndexError("node index out of range")


def constants(expr: Node) -> list:
    """The values of the constants in pre-order."""
    return [n.value for n in expr.nodes() if isinstance(n, Const)]


def with_constants(expr: Node, values) -> Node:
    """A copy of ``expr`` whose constants (pre-order) take ``values``."""
    values = list(values)
    it = iter(values)

    def rebuild(node):
        if isinstance(node, Const):
            return Const(next(it))
        if isinstance(node, Op):
            return Op(node.op, *(rebuild(c) for c in node.children))
        return node

    out = rebuild(expr)
    if next(it, None) is not None:
        raise ValueError("more values than constants in the expression")
    return out


# --------------------------------------------------------------------------- printing
def _fmt(v: float, digits: int = 4) -> str:
    s = f"{v:.{digits}g}"
    return s


def to_string(expr: Node, digits: int = 4) -> str:
    """Infix text with the fewest parentheses: ``0.5*(vx^2 + vy^2) + 9.81*y``."""
    return _str(expr, digits)[0]


def _str(node, digits):
    """(text, precedence)."""
    if isinstance(node, Const):
        s = _fmt(node.value, digits)
        return s, (9 if node.value >= 0 else 3)
    if isinstance(node, Var):
        return node.name, 9
    op = OPERATORS[node.op]
    if op.arity == 2:
        (a, pa), (b, pb) = (_str(c, digits) for c in node.children)
        p = op.precedence
        if pa < p:
            a = f"({a})"
        # right operand of - and / needs brackets at equal precedence
        if pb < p or (pb == p and node.op in ("sub", "div")):
            b = f"({b})"
        if node.op == "mul" and isinstance(node.children[0], Const) and float(_fmt(abs(node.children[0].value),
                                                                                    digits)) == 1.0:
            return ("-" if node.children[0].value < 0 else "") + b, (p if node.children[0].value > 0 else 3)
        if node.op == "add" and b.startswith("-"):
            return f"{a} - {b[1:]}", p
        if node.op == "sub" and b.startswith("-"):
            return f"{a} + {b[1:]}", p
        sep = f" {op.symbol} " if p == 1 else op.symbol
        return f"{a}{sep}{b}", p
    (a, pa), = (_str(c, digits) for c in node.children)
    if node.op == "neg":
        return f"-{a if pa >= 3 else '(' + a + ')'}", 3
    if node.op in ("square", "cube"):
        return f"{a if pa >= 9 else '(' + a + ')'}{op.symbol}", 4
    return f"{node.op}({a})", 9


def to_html(expr: Node, digits: int = 4) -> str:
    """HTML (with <sup> and the root sign) for the dashboard; no TeX engine needed."""
    return _html(expr, digits)[0]


def _html(node, digits):
    if isinstance(node, Const):
        return _fmt(node.value, digits), (9 if node.value >= 0 else 3)
    if isinstance(node, Var):
        return f"<i>{_escape(node.name)}</i>", 9
    op = OPERATORS[node.op]
    if op.arity == 2:
        (a, pa), (b, pb) = (_html(c, digits) for c in node.children)
        p = op.precedence
        if pa < p:
            a = f"({a})"
        if pb < p or (pb == p and node.op in ("sub", "div")):
            b = f"({b})"
        sym = {"add": " + ", "sub": " &minus; ", "mul": "&middot;", "div": "/"}[node.op]
        return f"{a}{sym}{b}", p
    (a, pa), = (_html(c, digits) for c in node.children)
    if node.op == "neg":
        return f"&minus;{a if pa >= 3 else '(' + a + ')'}", 3
    if node.op in ("square", "cube"):
        return f"{a if pa >= 9 else '(' + a + ')'}<sup>{2 if node.op == 'square' else 3}</sup>", 4
    if node.op == "sqrt":
        return f"&radic;({a})", 9
    if node.op == "inv":
        return f"1/{a if pa >= 9 else '(' + a + ')'}", 2
    return f"{node.op}({a})", 9


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- canonical form
class Polynomial(dict):
    """A canonical sum of monomials: {monomial: coefficient}.

    A monomial is a sorted tuple of (atom, power) pairs, power a Fraction. An
    atom is a variable name, or an opaque sub-expression (a sum under a square
    root, a function of a sum) written canonically, e.g. ``(x^2 + y^2)``.
    So ``0.5*vx*vx + 9.81*y`` is {(('vx', 2),): 0.5, (('y', 1),): 9.81} and
    ``-4/sqrt(x*x + y*y)`` is {((('(x^2 + y^2)'), -1/2),): -4.0}.
    """

    def terms_text(self, digits: int = 4) -> list:
        return [(monomial_text(m), c) for m, c in sorted(self.items())]

    def text(self, digits: int = 4) -> str:
        if not self:
            return "0"
        parts = []
        for m, c in sorted(self.items()):
            mono = monomial_text(m)
            if not mono:
                parts.append(_fmt(c, digits))
            elif c == 1.0 or c == -1.0:
                parts.append(("-" if c < 0 else "") + mono)
            else:
                parts.append(f"{_fmt(c, digits)}*{mono}")
        return " + ".join(parts).replace("+ -", "- ")


def monomial_text(m) -> str:
    out = []
    for atom, p in m:
        if p == 1:
            out.append(atom)
        else:
            out.append(f"{atom}^{p}" if p.denominator == 1 else f"{atom}^({p})")
    return "*".join(out)


def _poly_mul(a: Polynomial, b: Polynomial) -> Polynomial:
    out = Polynomial()
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = _mono_mul(ma, mb)
            out[m] = out.get(m, 0.0) + ca * cb
    return out


def _mono_mul(ma, mb, scale_b: Fraction = Fraction(1)):
    powers = dict(ma)
    for atom, p in mb:
        powers[atom] = powers.get(atom, Fraction(0)) + p * scale_b
    return tuple(sorted((a, p) for a, p in powers.items() if p != 0))


def _poly_add(a: Polynomial, b: Polynomial, sign: float = 1.0) -> Polynomial:
    out = Polynomial(a)
    for m, c in b.items():
        out[m] = out.get(m, 0.0) + sign * c
    return out


_ATOMS: dict = {}   # opaque atom name -> the polynomial under it (for sqrt(P)^2 = P)


def _atom(poly: Polynomial, power: Fraction, wrap: str = "") -> Polynomial:
    name = f"{wrap}({poly.text(10)})"
    if not wrap:
        _ATOMS[name] = Polynomial(poly)
    return Polynomial({((name, power),): 1.0})


def _resolve(p: Polynomial) -> Polynomial:
    """Expand an opaque sum raised to a whole positive power back into monomials."""
    out = Polynomial()
    for m, c in p.items():
        term = Polynomial({(): c})
        rest = []
        for atom, q in m:
            if atom in _ATOMS and q.denominator == 1 and q > 0:
                for _ in range(int(q)):
                    term = _poly_mul(term, _ATOMS[atom])
            else:
                rest.append((atom, q))
        term = _poly_mul(term, Polynomial({tuple(rest): 1.0}))
        out = _poly_add(out, term)
    return out


def expand(expr: Node) -> Polynomial:
    """The canonical sum-of-monomials form of ``expr`` (see :class:`Polynomial`)."""
    if isinstance(expr, Const):
        return Polynomial({(): expr.value})
    if isinstance(expr, Var):
        return Polynomial({((expr.name, Fraction(1)),): 1.0})
    kids = [expand(c) for c in expr.children]
    op = expr.op
    if op == "add":
        return _clean(_poly_add(kids[0], kids[1]))
    if op == "sub":
        return _clean(_poly_add(kids[0], kids[1], -1.0))
    if op == "neg":
        return Polynomial({m: -c for m, c in kids[0].items()})
    if op == "mul":
        return _clean(_poly_mul(kids[0], kids[1]))
    if op == "square":
        return _clean(_poly_mul(kids[0], kids[0]))
    if op == "cube":
        return _clean(_poly_mul(_poly_mul(kids[0], kids[0]), kids[0]))
    if op in ("div", "inv"):
        num, den = (kids[0], kids[1]) if op == "div" else (Polynomial({(): 1.0}), kids[0])
        return _clean(_poly_mul(num, _power(den, Fraction(-1))))
    if op == "sqrt":
        return _power(kids[0], Fraction(1, 2))
    return _atom(kids[0], Fraction(1), wrap=op)


def _power(p: Polynomial, power: Fraction) -> Polynomial:
    """p**power: exact for a single monomial, an opaque atom for a sum."""
    p = _clean(p)
    if len(p) == 1:
        (m, c), = p.items()
        # sqrt(x^2) is |x|, not x: a root that turns an even power odd stays opaque
        loses_sign = any(q.denominator == 1 and q % 2 == 0 and (q * power).denominator == 1
                         and (q * power) % 2 == 1 for _, q in m)
        if (c > 0 or power.denominator == 1) and not loses_sign:
            new_m = tuple(sorted((a, q * power) for a, q in m if q * power != 0))
            return Polynomial({new_m: float(c) ** float(power)})
    return _atom(p, power)


def _clean(p: Polynomial, rel: float = 1e-12) -> Polynomial:
    """Drop exact cancellations (terms far below the largest coefficient)."""
    if not p:
        return p
    if any(a in _ATOMS and q.denominator == 1 and q > 0 for m in p for a, q in m):
        p = _resolve(p)
    big = max(abs(c) for c in p.values())
    return Polynomial({m: c for m, c in p.items() if abs(c) > rel * big})
