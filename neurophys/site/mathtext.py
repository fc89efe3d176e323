"""Equations for the course site and the dashboard, typeset offline as MathML.

Three entry points, all ending in :func:`latex_to_mathml` (latex2mathml, from PyPI;
Chromium and Firefox draw MathML natively, so no script and no CDN is needed):

* :func:`latex_to_mathml` — a LaTeX formula (the ``$...$`` of a text cell);
* :func:`plain_to_latex` — the lessons' plain-text equations, written with Unicode
  (``E(s) = ½‖h‖² − x W₀ ρ(h)``), turned into LaTeX: superscript and subscript
  digits, ``_x`` and ``^β``, ½, √(…), ‖, ←, ∝, Σ, ∂, ∇, hats, words set upright,
  and trailing prose (after two or more spaces) set as text;
* :func:`expr_to_latex` — an expression tree of :mod:`neurophys.symbolic` printed
  the way a person writes it: ``x v_y − y v_x`` rather than ``1·x·vy + -1·y·vx``,
  ``− 3.986/√(x² + y²)`` rather than ``+ -3.986·1/√(…)``.
"""
from __future__ import annotations

import html
import math
import re
from ..symbolic.expr import Const, Var

__all__ = ["latex_to_mathml", "plain_to_latex", "plain_to_mathml", "expr_to_latex", "expr_to_mathml",
           "looks_like_equation"]


def latex_to_mathml(latex: str, display: bool = False) -> str:
    """MathML for a LaTeX formula; raises ValueError (naming the formula) if it cannot be read."""
    from latex2mathml.converter import convert
    try:
        out = convert(latex, display="block" if display else "inline")
    except Exception as err:  # latex2mathml raises its own exception types
        raise ValueError(f"cannot typeset {latex!r}: {type(err).__name__}: {err}") from err
    # HTML needs no namespace on <math> (and the files then name no http:// address at all)
    out = out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    # keep the source for copy/paste and screen readers
    annotation = f'<annotation encoding="application/x-tex">{html.escape(latex, quote=False)}</annotation>'
    out = re.sub(r"^(<math[^>]*>)(.*)(</math>)$", lambda m: f"{m.group(1)}<semantics>{m.group(2)}{annotation}"
                 f"</semantics>{m.group(3)}", out, flags=re.S)
    return out


# --------------------------------------------------------------------- plain text -> LaTeX
_SUP = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ᵀⁿ", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "-", r"\mathsf{T}", "n"]))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋", "0123456789+-"))
_SYMBOLS = {
    "−": "-", "←": r"\leftarrow ", "→": r"\rightarrow ", "∝": r"\propto ", "∇": r"\nabla ", "∂": r"\partial ",
    "Σ": r"\sum ", "⊗": r"\otimes ", "·": r"\cdot ", "∈": r"\in ", "±": r"\pm ", "≈": r"\approx ", "≤": r"\le ",
    "≥": r"\ge ", "×": r"\times ", "∞": r"\infty ", "‖": r"\| ", "½": r"\tfrac{1}{2}", "¼": r"\tfrac{1}{4}",
    "≠": r"\ne ", "⟨": r"\langle ", "⟩": r"\rangle ", "…": r"\dots ",
    "%": r"\%", "#": r"\#", "&": r"\&", "$": r"\$", "~": r"\sim ",
}
_HAT = {"Ê": "E", "Ô": "O", "Â": "A", "Î": "I", "Û": "U", "ê": "e", "ô": "o", "â": "a", "î": "i", "û": "u"}
_PROSE = {"since", "at", "and", "for", "with", "where", "if", "as", "it", "is", "of", "the", "or", "when", "input",
          "target", "then", "else", "on", "to", "per", "each", "every"}
_EQUATION_MARK = re.compile(r"[=←∝∈≈≤≥]")
_CODE_MARK = re.compile(r"^\s*(>>>|import |from |def |class |for |if |print\(|\$ |python )|\bnp\.|\bB\.|ctx\.")


def looks_like_equation(block: str) -> bool:
    """True for an indented text block made of equations (not of Python code or a shell line)."""
    lines = [ln for ln in block.splitlines() if ln.strip()]
    return bool(lines) and all(_EQUATION_MARK.search(ln) and not _CODE_MARK.search(ln) for ln in lines)


def _is_prose(part: str) -> bool:
    """A remark in words beside an equation: 'energy injection', '(particle number, "norm")', 'input'."""
    if _EQUATION_MARK.search(part) or re.search(r"[_^·‖√⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉]", part):
        return False
    words = re.findall(r"[A-Za-z]{2,}", part)
    if re.search(r"[A-Za-z]{2,}[\s,]+\W?[A-Za-z]{2,}", part):
        return True
    return len(words) == 1 and (words[0].lower() in _PROSE or len(words[0]) >= 4) and len(part) <= len(words[0]) + 2


def _take_group(s: str, i: int):
    """The argument starting at s[i] for _ or ^: a {...} group, an ASCII word/number, or one char."""
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth, j = 0, i
        while j < len(s):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                break
            j += 1
        return _math(s[i + 1:j]), j + 1
    m = re.match(r"[A-Za-z0-9]+", s[i:])
    if m:
        word = m.group(0)
        inner = rf"\mathrm{{{word}}}" if len(word) > 1 and word.isalpha() else word
        return inner, i + len(word)
    return _math(s[i]), i + 1


def _math(s: str) -> str:
    """LaTeX for one stretch of plain-text mathematics."""
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch in _SUP:
            j = i
            while j < len(s) and s[j] in _SUP:
                j += 1
            out.append("^{" + "".join(_SUP[c] for c in s[i:j]) + "}")
            i = j
        elif ch in _SUB:
            j = i
            while j < len(s) and s[j] in _SUB:
                j += 1
            out.append("_{" + "".join(_SUB[c] for c in s[i:j]) + "}")
            i = j
        elif ch in "_^" and i + 1 < len(s):
            arg, i = _take_group(s, i + 1)
            out.append(f"{ch}{{{arg}}}")
        elif ch == "√":
            if i + 1 < len(s) and s[i + 1] == "(":
                depth, j = 0, i + 1
                while j < len(s):
                    depth += {"(": 1, ")": -1}.get(s[j], 0)
                    if depth == 0:
                        break
                    j += 1
                out.append(r"\sqrt{" + _math(s[i + 2:j]) + "}")
                i = j + 1
            else:
                out.append(r"\sqrt ")
                i += 1
        elif ch in _HAT:
            out.append(rf"\hat{{{_HAT[ch]}}}")
            i += 1
        elif i + 1 < len(s) and s[i + 1] == "\u0302":         # combining circumflex: x̂
            out.append(rf"\hat{{{_math(ch)}}}")
            i += 2
        elif i + 1 < len(s) and s[i + 1] == "\u0307":         # combining dot: ẋ
            out.append(rf"\dot{{{_math(ch)}}}")
            i += 2
        elif ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
            i += 1
        elif ch.isascii() and ch.isalpha():
            m = re.match(r"[A-Za-z]+", s[i:])
            word = m.group(0)
            if len(word) == 1:
                out.append(word)
            elif word.lower() in _PROSE:
                out.append(rf"\text{{ {word} }}")
            else:
                out.append(rf"\operatorname{{{word}}}")
            i += len(word)
        elif ch == "\\":
            out.append(r"\backslash ")
            i += 1
        elif ch == " ":
            if out and not out[-1].endswith(" "):
                out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _text(part: str) -> str:
    safe = part.replace("\\", "/").replace("{", "(").replace("}", ")")
    return r"\text{" + safe + "}"


def plain_to_latex(line: str) -> str:
    """LaTeX for one line of a lesson's plain-text equation (Unicode maths, prose after 2+ spaces)."""
    parts = [p for p in re.split(r"\s{2,}", line.strip()) if p]
    pieces, prev_prose, prev = [], False, ""
    for part in parts:
        prose = _is_prose(part)
        if pieces:
            pieces.append(r"\qquad " if prose or prev_prose or prev.endswith(",") else " ")
        prev_prose, prev = prose, part
        if prose:
            pieces.append(_text(part))
            continue
        # a trailing "(words ...)" remark inside a maths part
        m = re.match(r"^(.*?)\s*(\((?=[^)]*[A-Za-z]{4,})[^()=]*\)\.?)$", part)
        if m and m.group(1):
            pieces.append(_math(m.group(1)) + r"\quad " + _text(m.group(2)))
        else:
            pieces.append(_math(part))
    return "".join(pieces)


def plain_to_mathml(line: str, display: bool = True) -> str:
    return latex_to_mathml(plain_to_latex(line), display=display)


# --------------------------------------------------------------------- expression trees -> LaTeX
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "omega", "phi", "psi", "rho",
          "sigma", "tau", "kappa", "eta", "xi", "nu", "chi", "zeta", "pi"}


def var_latex(name: str) -> str:
    """``vx`` -> v_{x}, ``x1`` -> x_{1}, ``theta`` -> \\theta, ``omega_dot`` -> \\omega_{\\mathrm{dot}}."""
    m = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", name)
    if m and (len(m.group(1)) == 1 or m.group(1) in _GREEK):
        base = "\\" + m.group(1) if m.group(1) in _GREEK else m.group(1)
        return f"{base}_{{{m.group(2)}}}"
    if name in _GREEK:
        return "\\" + name
    m = re.fullmatch(r"([A-Za-z])([a-z])", name)          # vx, vy, px: a vector component
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    if "_" in name:
        head, tail = name.split("_", 1)
        return f"{var_latex(head)}_{{\\mathrm{{{tail}}}}}"
    if len(name) == 1:
        return name
    return rf"\mathrm{{{name}}}"


def number_latex(v: float, digits: int = 4) -> str:
    if not math.isfinite(v):
        return r"\mathrm{nan}" if math.isnan(v) else (r"\infty" if v > 0 else r"-\infty")
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    s = f"{v:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant}\times 10^{{{int(exp)}}}"
    return s


# precedence: sum 1, product 2, unary minus 3, power 4, atom 9
def _tex(node, digits):
    """(latex, precedence, negative) with the sign pulled out: negative means the text is '-' + latex."""
    if isinstance(node, Const):
        v = float(node.value)
        return number_latex(abs(v), digits), 9, v < 0
    if isinstance(node, Var):
        return var_latex(node.name), 9, False
    op, ch = node.op, node.children
    if op in ("add", "sub"):
        a, pa, na = _tex(ch[0], digits)
        b, pb, nb = _tex(ch[1], digits)
        if op == "sub":
            nb = not nb
        left = ("-" if na else "") + a
        return f"{left} {'-' if nb else '+'} {b}", 1, False
    if op == "mul":
        a, pa, na = _tex(ch[0], digits)
        b, pb, nb = _tex(ch[1], digits)
        neg = na != nb
        if isinstance(ch[0], Const) and abs(float(ch[0].value)) == 1.0:
            return b, pb, neg
        if isinstance(ch[1], Const) and abs(float(ch[1].value)) == 1.0:
            return a, pa, neg
        # c * (1/u) and c / u print as a fraction
        if ch[1].__class__.__name__ == "Op" and ch[1].op == "inv":
            u, _, nu = _tex(ch[1].children[0], digits)
            num = a if pa >= 1 else rf"\left({a}\right)"
            return rf"\frac{{{num}}}{{{('-' if nu else '') + u}}}", 9, neg
        if pa < 2:
            a = rf"\left({a}\right)"
        if pb < 2:
            b = rf"\left({b}\right)"
        sep = r" \cdot " if re.match(r"[\d.]", b) else r"\,"
        return f"{a}{sep}{b}", 2, neg
    if op == "div":
        a, _, na = _tex(ch[0], digits)
        b, _, nb = _tex(ch[1], digits)
        return rf"\frac{{{a}}}{{{b}}}", 9, na != nb
    if op == "neg":
        a, pa, na = _tex(ch[0], digits)
        return a if pa >= 2 else rf"\left({a}\right)", max(pa, 2) if pa >= 2 else 9, not na
    if op in ("square", "cube"):
        a, pa, na = _tex(ch[0], digits)
        if pa < 9 or na:
            a = rf"\left({('-' if na else '') + a}\right)"
        return f"{a}^{{{2 if op == 'square' else 3}}}", 4, False
    if op == "sqrt":
        a, _, na = _tex(ch[0], digits)
        return rf"\sqrt{{{('-' if na else '') + a}}}", 9, False
    if op == "inv":
        a, _, na = _tex(ch[0], digits)
        return rf"\frac{{1}}{{{a}}}", 9, na
    if op == "abs":
        a, _, na = _tex(ch[0], digits)
        return rf"\left|{('-' if na else '') + a}\right|", 9, False
    a, _, na = _tex(ch[0], digits)
    name = {"sin": r"\sin", "cos": r"\cos", "exp": r"\exp", "log": r"\log"}.get(op, rf"\operatorname{{{op}}}")
    return rf"{name}\left({('-' if na else '') + a}\right)", 9, False


def expr_to_latex(expr, digits: int = 4) -> str:
    """LaTeX for a :mod:`neurophys.symbolic` expression tree, signs and unit factors tidied."""
    text, _, neg = _tex(expr, digits)
    return ("-" if neg else "") + text


def expr_to_mathml(expr, digits: int = 4, display: bool = False) -> str:
    return latex_to_mathml(expr_to_latex(expr, digits), display=display)
