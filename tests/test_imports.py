"""The import structure of neurophys, read from the source (AST) without importing it:

- no import circle between the package's modules;
- no import placed inside a function, except of an optional or slow-to-import dependency
  (cupy, gymnasium, pysr, matplotlib, torch, scipy submodules, PIL, tqdm) or of the standard
  library; in particular never of another neurophys module (the way circles are dodged);
- no module calls a private name (``_name``) of another neurophys module;
- physics, models, blocks and learning never import neurophys.kernels (the kernels plug in
  through neurophys.backend's table of named operations).

The one plug-in import the backend makes when cupy is selected goes through
``importlib.import_module`` on the names in ``backend.PLUGINS``; it is checked below too.
"""
from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path

import pytest

import neurophys

PACKAGE = Path(neurophys.__file__).resolve().parent
ROOT = "neurophys"

# top-level names a function may import lazily: optional, platform-specific, or slow to import and rarely needed
LAZY_OK = {"cupy", "gymnasium", "pysr", "matplotlib", "torch", "scipy", "PIL", "tqdm", "importlib", "sympy",
           "jupytext", "nbclient", "nbformat", "dask", "distributed", "latex2mathml", "markdown_it", "mdit_py_plugins",
           "selenium", "cloudpickle", "IPython", "ipywidgets", "pygments", "tkinter", "threadpoolctl",
           "fcntl", "msvcrt", "numba",
           # slow to import, and needed by one function each
           "scipy"}
# the standard library cannot close a circle through neurophys; importing a rarely needed part of it
# where it is used (concurrent.futures for a thread pool, tracemalloc in a check) is allowed
LAZY_OK |= set(sys.stdlib_module_names)

# Modules written this round whose owners still have to move function-level imports to the top
# (or name the optional dependency above). A module NOT listed here that gains one fails the test;
# a listed module that is clean again only warns, so that the list can shrink. Owner in the value.
KNOWN_LAZY = {
    "neurophys.exercises.checks": "E (each check imports the library module it switches off while "
                                  "the student's code runs)",
}
KNOWN_PRIVATE = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``from ... import`` names (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class _Imports(ast.NodeVisitor):
    """Every import of a module: (target module, line, inside a function?, imported names)."""

    def __init__(self, importer: str):
        self.importer, self.depth, self.found = importer, 0, []

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        for a in node.names:
            self.found.append((a.name, node.lineno, self.depth > 0, [], a.asname or a.name.split(".")[0]))

    def visit_ImportFrom(self, node):
        target = _resolve(self.importer, node)
        for a in node.names:
            sub = f"{target}.{a.name}"
            if sub in MODULES:  # `from pkg import submodule`
                self.found.append((sub, node.lineno, self.depth > 0, [], a.asname or a.name))
            else:
                self.found.append((target, node.lineno, self.depth > 0, [a.name], a.asname or a.name))


def _imports(name: str):
    v = _Imports(name)
    v.visit(ast.parse(MODULES[name].read_text(), filename=str(MODULES[name])))
    return v.found


def _internal(target: str) -> str | None:
    """The neurophys module a target refers to (the longest known prefix), or None."""
    parts = target.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in MODULES:
            return cand
        parts.pop()
    return None


def _graph():
    """Module-level import edges between neurophys modules; importing a.b.c also runs a.b's __init__."""
    edges = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _line, lazy, _names, _alias in _imports(m):
            t = _internal(target)
            if lazy or t is None or t == m:
                continue
            # the packages on the way to t are imported first (except m's own, already under way)
            parts = t.split(".")
            for k in range(1, len(parts) + 1):
                pkg = ".".join(parts[:k])
                if pkg in MODULES and pkg != m and not m.startswith(pkg + "."):
                    edges[m].add(pkg)
    return edges


def _cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_the_package():
    assert {"neurophys.backend", "neurophys.physics.gpe", "neurophys.kernels.dispatch",
            "neurophys.models.eqprop"} <= set(MODULES)
    assert "neurophys.backend" in _graph()["neurophys.physics.gpe"]


def test_no_import_circle():
    cycles = _cycles(_graph())
    assert not cycles, "import circles between neurophys modules: " + "; ".join(" <-> ".join(c) for c in cycles)


def _lazy_offences(m):
    return [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {target} inside a function"
            for target, line, lazy, _names, _alias in _imports(m)
            if lazy and (target.split(".")[0] not in LAZY_OK or target.startswith(ROOT))]


def _ratchet(offences: dict, known: dict, what: str):
    bad = [o for m, found in offences.items() if m not in known for o in found]
    stale = sorted(m for m in known if m in MODULES and not offences.get(m))
    if stale:
        warnings.warn(f"{what}: clean now, remove from the known list: {stale}")
    assert not bad, "\n".join(bad)


def test_no_function_level_import_except_optional_dependencies():
    _ratchet({m: _lazy_offences(m) for m in MODULES}, KNOWN_LAZY, "function-level imports")


def test_the_structural_modules_have_no_function_level_import_at_all():
    """backend, physics, models, blocks, kernels, data: nothing on the known list, ever."""
    for m in MODULES:
        if m.split(".")[1:2] in (["backend"], ["physics"], ["models"], ["blocks"], ["kernels"], ["data"]):
            assert m not in KNOWN_LAZY and not _lazy_offences(m), m


def _private_uses(m):
    """Private names of other neurophys modules this module imports or reads as attributes."""
    tree = ast.parse(MODULES[m].read_text())
    aliases = {}
    bad = []
    for target, line, _lazy, names, alias in _imports(m):
        t = _internal(target)
        if t is None or t == m:
            continue
        for n in names:
            if n.startswith("_") and not n.startswith("__"):
                bad.append(f"{m}:{line} imports {t}.{n}")
        if not names:  # a module bound to a name: watch attribute reads on it
            aliases[alias] = t
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                bad.append(f"{m}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return bad


def test_no_module_calls_a_private_name_of_another():
    _ratchet({m: _private_uses(m) for m in MODULES}, KNOWN_PRIVATE, "private names of other modules")


@pytest.mark.parametrize("pkg", ["physics", "models", "blocks", "learning", "data"])
def test_physics_and_models_do_not_import_the_kernels(pkg):
    bad = [f"{m}:{line}" for m in MODULES if m.startswith(f"{ROOT}.{pkg}")
           for target, line, *_ in _imports(m) if (_internal(target) or "").startswith(f"{ROOT}.kernels")]
    assert not bad, f"{pkg} imports neurophys.kernels (register a named op instead): {bad}"


def test_the_backend_plugins_are_modules_of_the_package():
    from neurophys import backend as B
    for names in B.PLUGINS.values():
        for name in names:
            assert name in MODULES, name
