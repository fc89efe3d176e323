"""Write the student stubs (neurophys/exercises/stubs/exNN.py) from these reference solutions.

Each public function keeps its signature and docstring; its body becomes
``raise NotImplementedError("hint: ...")`` with the hint taken from the ``# hint:`` comment
that opens the solution's body. Run from the repository root after editing a solution:

    python solutions/make_stubs.py
"""
import ast
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = HERE.parent / "neurophys" / "exercises" / "stubs"


def stub_source(text: str) -> str:
    tree = ast.parse(text)
    lines = text.splitlines()
    doc = ast.get_docstring(tree, clean=False) or ""
    doc = doc.replace("reference solutions (for teachers, not shipped to students)", "exercises")
    doc = doc.replace("reference solutions (for teachers, not shipped)", "exercises")
    doc = re.sub(r"Check with ``python -m neurophys check (\d+) --path solutions``\.",
                 r"Fill in each function, then check your work with ``python -m neurophys check \1``.", doc)
    out = ['"""' + doc + '"""']
    imports = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    out += imports
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        body_start = node.body[1].lineno if len(node.body) > 1 else node.body[0].end_lineno + 1
        header = lines[node.lineno - 1:node.body[0].end_lineno]          # def line(s) + docstring
        hint_lines = [ln.strip() for ln in lines[node.body[0].end_lineno:body_start + 1] if ln.strip().startswith("# hint:")]
        if not hint_lines:
            sys.exit(f"{node.name}: the solution needs a '# hint: ...' comment right after its docstring")
        hint = hint_lines[0][len("# hint:"):].strip()
        out += ["", ""] + header + [f"    raise NotImplementedError({('hint: ' + hint)!r})"]
    return "\n".join(out) + "\n"


def main():
    STUBS.mkdir(parents=True, exist_ok=True)
    (STUBS / "__init__.py").write_text('"""The student stubs, one file per lesson (copied out by `python -m neurophys '
                                       'exercises NN`)."""\n')
    for src in sorted(HERE.glob("ex[0-9][0-9].py")):
        (STUBS / src.name).write_text(stub_source(src.read_text()))
        print(f"wrote {STUBS / src.name}")


if __name__ == "__main__":
    main()
