"""Read a formula typed by a user into an expression tree, safely: no eval, no exec.

    parse_expression("0.5*omega^2 - 9.81*cos(theta)", names=["theta", "omega"])

A small recursive-descent parser over this grammar (``^`` and ``**`` are powers)::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := atom (("^" | "**") unary)?
    atom    := number | name | function "(" sum ")" | "(" sum ")"

Names must be state variables (``names``) or ``pi``; functions are the
one-argument operators of :mod:`.expr` (sin, cos, exp, log, sqrt, abs, inv,
square, cube). Powers must be numbers: 2 and 3 become square and cube, 1/2
sqrt, −1 inv, other whole positive powers products. Anything else is a
``ValueError`` that says where the text went wrong; nothing typed is ever run.
"""
from __future__ import annotations

import math
import re

from .expr import OPERATORS, Const, Node, Op, Var, power

_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
                    r"|(?P<op>\*\*|[-+*/^(),]))")
FUNCTIONS = tuple(name for name, op in OPERATORS.items() if op.arity == 1 and name != "neg")
CONSTANTS = {"pi": math.pi}


def parse_expression(text: str, names) -> Node:
    """The tree of ``text`` over the variables ``names`` (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected a formula such as 'x*vy - y*vx', got {text!r}")
    if len(text) > 2000 or text.count("(") > 100:
        raise ValueError(f"the formula is too long ({len(text)} characters, {text.count('(')} brackets); "
                         "at most 2000 characters and 100 brackets")
    parser = _Parser(text, list(names))
    tree = parser.sum()
    if parser.peek() is not None:
        parser.fail("unexpected text")
    return tree


class _Parser:
    def __init__(self, text, names):
        self.text, self.names = text, names
        self.tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ValueError(f"cannot read {text!r} at position {pos}: {text[pos:pos + 10]!r}; allowed are numbers, "
                                 "variable names, + - * / ^ ** ( ) and functions " + ", ".join(FUNCTIONS))
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        tok = self.peek()
        if tok is None:
            self.fail("the formula ends too early")
        self.i += 1
        return tok

    def fail(self, why):
        tok = self.peek()
        where = f"at position {tok[2]} ({tok[1]!r})" if tok else "at the end"
        raise ValueError(f"cannot parse {self.text!r} {where}: {why}")

    def expect(self, value):
        tok = self.peek()
        if tok is None or tok[1] != value:
            self.fail(f"expected {value!r}")
        self.i += 1

    def sum(self):
        out = self.product()
        while self.peek() and self.peek()[1] in "+-" and self.peek()[0] == "op":
            op = self.take()[1]
            out = Op("add" if op == "+" else "sub", out, self.product())
        return out

    def product(self):
        out = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            out = Op("mul" if op == "*" else "div", out, self.unary())
        return out

    def unary(self):
        tok = self.peek()
        if tok and tok[1] in ("-", "+"):
            self.take()
            inner = self.unary()
            if tok[1] == "+":
                return inner
            return Const(-inner.value) if isinstance(inner, Const) else Op("neg", inner)
        return self.power()

    def power(self):
        base = self.atom()
        tok = self.peek()
        if tok and tok[1] in ("^", "**"):
            self.take()
            exponent = self.unary()
            if not isinstance(exponent, Const):
                self.fail("powers must be numbers (write exp(a*log(x)) for a variable power)")
            return _power(base, exponent.value, self)
        return base

    def atom(self):
        kind, value, _ = self.take()
        if kind == "num":
            return Const(float(value))
        if kind == "name":
            nxt = self.peek()
            if nxt and nxt[1] == "(":
                if value not in FUNCTIONS:
                    self.i -= 1
                    self.fail(f"unknown function {value!r}; functions are: {', '.join(FUNCTIONS)}")
                self.take()
                arg = self.sum()
                self.expect(")")
                return Op(value, arg)
            if value in self.names:
                return Var(value)
            if value in CONSTANTS:
                return Const(CONSTANTS[value])
            self.i -= 1
            self.fail(f"unknown name {value!r}; variables are: {', '.join(self.names)} (and pi)")
        if value == "(":
            inner = self.sum()
            self.expect(")")
            return inner
        self.i -= 1
        self.fail("expected a number, a variable, a function or '('")


def _power(base, p, parser):
    try:
        return power(base, p)
    except ValueError as err:
        parser.fail(str(err))
