"""Build the course site: static HTML that opens offline, from the lessons and the committed results.

    from neurophys.site import build_site
    build_site("/tmp/site")          # -> /tmp/site/index.html and one page per lesson

``index.html`` says what the course is, lists the lessons in order with their measured
times, shows the table of measured results (``figures/*/results.json``) and the
verdict per research document (the README's "What reproduced and what did not").
Each lesson page is the lesson script ``lessons/NN_slug.py`` read as cells (jupytext):
text cells in Markdown with their equations typeset as MathML (``$...$`` and the
lessons' plain-text equation lines, see :mod:`neurophys.site.mathtext`), code cells
highlighted (Pygments), the committed figures and animations next to the code that
draws them, the measured metrics (default and full tier) beside the document's claims,
and the lesson's coding exercises (from the stubs of :mod:`neurophys.exercises`, when
that package is there). Nothing is fetched from a network: the pages have no scripts,
the CSS sits in ``assets/``, the figures are copied beside the pages.
"""
from __future__ import annotations

import ast
import html
import json
import math
import re
import shutil
from pathlib import Path

from .. import course
from .mathtext import latex_to_mathml, looks_like_equation, plain_to_mathml

IMAGE_EXT = (".png", ".gif", ".svg", ".jpg", ".jpeg", ".webp")
_FIG_NAME = re.compile(r"""f?["']([\w\-./{}\[\]'" ]*?\.(?:png|gif|svg|jpe?g|webp))["']""")


class SiteError(RuntimeError):
    """The site cannot be built as asked; the message says what is missing."""


# ----------------------------------------------------------------------------- where things are
def _figures_dir() -> Path:
    """The committed figures: engineer A's helper when it exists, else the repository's figures/."""
    for name in ("figures_dir", "published_dir"):
        fn = getattr(course, name, None)
        if callable(fn):
            try:
                return Path(fn())
            except Exception:
                pass
    return Path(getattr(course, "FIGURES_DIR", course.REPO_ROOT / "figures"))


def _lesson_results_dir(stem: str, tier: str) -> Path:
    fn = getattr(course, "published_dir", None)
    if callable(fn):
        return Path(fn(stem, tier))
    base = _figures_dir() / stem
    return base / "full" if tier == "full" else base


def _readme() -> str:
    root = Path(getattr(course, "COURSE_ROOT", course.REPO_ROOT))
    for cand in (root / "README.md", course.REPO_ROOT / "README.md", Path(course.__file__).parent / "README.md"):
        if cand.is_file():
            return cand.read_text(encoding="utf-8")
    return ""


def _read_results(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------- markdown
def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    def math_renderer(content, options):
        display = bool(options.get("display_mode"))
        try:
            out = latex_to_mathml(content, display=display)
        except ValueError:
            return f"<code>{html.escape(content)}</code>"
        return f'<div class="equation">{out}</div>' if display else out

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.use(dollarmath_plugin, allow_digits=False, renderer=math_renderer)

    def code_block(self, tokens, idx, options, env):
        text = tokens[idx].content
        if looks_like_equation(text):
            rows = []
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    rows.append(f'<div class="equation" title="{html.escape(line.strip())}">'
                                f"{plain_to_mathml(line, display=True)}</div>")
                except ValueError:
                    rows.append(f"<pre>{html.escape(line)}</pre>")
            return "".join(rows) + "\n"
        return f"<pre><code>{html.escape(text)}</code></pre>\n"

    md.add_render_rule("code_block", code_block)
    return md


def _highlight(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f'<pre class="code"><code>{html.escape(code)}</code></pre>'
    return highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def _pygments_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter
        return HtmlFormatter(style="friendly").get_style_defs(".highlight")
    except ImportError:
        return ""


# ----------------------------------------------------------------------------- values
def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ") if abs(v) >= 10000 else str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        text = f"{v:.4g}"
        if text in ("1", "-1") and abs(v) != 1.0:      # an R² of 0.99999 is not 1
            text = f"{v:.7g}"
        return text
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


# ----------------------------------------------------------------------------- claims
def _claims(source: str, results: dict | None) -> dict:
    """{metric or key: claim text} — the document's numbers as the lesson states them.

    From ``settings["document_claims"]`` (any settings key ending in ``claims``) in
    results.json, and from top-level literal dicts named DOC, CLAIMS or DOCUMENT_CLAIMS in
    the lesson script ({metric: number} or {(system, quantity): (law, R², complexity)}).
    """
    found = {}
    if results:
        for key, value in (results.get("settings") or {}).items():
            if key.lower().endswith("claims") and isinstance(value, dict):
                for k, v in value.items():
                    found[str(k)] = _fmt(v)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("DOC", "CLAIMS", "DOCUMENT_CLAIMS"):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if not isinstance(value, dict):
                continue
            for k, v in value.items():
                key = "_".join(map(str, k)) if isinstance(k, tuple) else str(k)
                if isinstance(v, tuple):
                    text = str(v[0])
                    if len(v) > 1:
                        text += f" (R² {_fmt(v[1])}" + (f", complexity {v[2]})" if len(v) > 2 else ")")
                    v = text
                found.setdefault(key, _fmt(v))
    return found


def _claim_for(metric: str, claims: dict):
    if metric in claims:
        return claims[metric]
    for key, text in claims.items():
        if metric == f"{key}_r2":
            return text
    return None


# ----------------------------------------------------------------------------- exercises
def exercises_for(number: str) -> list:
    """[{name, hint, doc, file}] for lesson ``number``, read from the stubs of neurophys.exercises.

    Read with ``ast`` (nothing is imported or run): every function or method whose body
    raises NotImplementedError is an exercise; its hint is the NotImplementedError message,
    its text the docstring. Returns [] when the package or the lesson's stubs are absent.
    """
    root = Path(__file__).resolve().parents[1] / "exercises"
    if not root.is_dir():
        return []
    pattern = re.compile(rf"(^|[^0-9]){number}([^0-9]|$)")
    files = [p for p in sorted(root.rglob("*.py"))
             if "solution" not in str(p.relative_to(root)).lower() and pattern.search(str(p.relative_to(root)))]
    out = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            hint = None
            for sub in ast.walk(node):
                if isinstance(sub, ast.Raise) and sub.exc is not None:
                    exc = sub.exc
                    name = exc.func if isinstance(exc, ast.Call) else exc
                    if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                        hint = ""
                        if isinstance(exc, ast.Call) and exc.args:
                            try:
                                hint = str(ast.literal_eval(exc.args[0]))
                            except ValueError:
                                hint = ast.unparse(exc.args[0])
                        break
            if hint is None:
                continue
            out.append({"name": node.name, "hint": hint, "doc": ast.get_docstring(node) or "",
                        "file": str(path.relative_to(root.parent.parent)),
                        "module_doc": ast.get_docstring(tree) or ""})
    return out


# ----------------------------------------------------------------------------- pages
_STYLE = """
:root{--ink:#1d2330;--muted:#5b6473;--line:#e3e6eb;--accent:#1c5fb8;--bg:#fbfbfc}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);
     line-height:1.55;font-size:16px}
header.top{background:var(--ink);color:#fff;padding:10px 24px;display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}
header.top a{color:#c9dcff;text-decoration:none} header.top strong{font-size:17px}
main{max-width:62rem;margin:0 auto;padding:12px 24px 60px}
h1{font-size:1.8rem;line-height:1.25} h2{margin-top:2.2rem;border-bottom:1px solid var(--line);padding-bottom:4px}
a{color:var(--accent)}
.cell-md{margin:0.6rem 0}
.cell-code{margin:0.8rem 0}
.highlight,pre{background:#f3f5f8;border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto;
     font-size:13.5px;line-height:1.45}
.highlight pre{margin:0;padding:0;border:0;background:transparent}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:0.92em}
.equation{margin:0.7rem 0;overflow-x:auto;padding:2px 0}
math[display="block"]{font-size:1.12em}
figure{margin:1rem 0;text-align:center}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
figcaption{font-size:13px;color:var(--muted)}
table{border-collapse:collapse;margin:0.8rem 0;font-size:14px;width:100%}
table.lessons td:nth-child(2){min-width:16rem}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5} td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
tr.headline td:first-child{font-weight:600}
.muted{color:var(--muted);font-size:14px}
.pager{display:flex;justify-content:space-between;margin-top:2.5rem}
.exercise{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:8px 12px;
          margin:0.7rem 0;background:#fff}
.exercise h3{margin:0 0 4px;font-size:1rem;font-family:ui-monospace,Menlo,Consolas,monospace}
.verdicts li{margin-bottom:0.6rem}
details summary{cursor:pointer;color:var(--accent)}
"""


def _page(title: str, body: str, nav: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/style.css">
<link rel="stylesheet" href="assets/pygments.css">
</head><body>
<header class="top"><strong><a href="index.html">neurophys — the course</a></strong>{nav}</header>
<main>
{body}
</main>
</body></html>
"""


def _copy_figure(src: Path, fig_root: Path, out: Path) -> str:
    """Copy a committed figure into the site; returns its relative URL."""
    try:
        rel = src.relative_to(fig_root)
    except ValueError:
        rel = Path(src.parent.name) / src.name
    dest = out / "figures" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dest)
    return "figures/" + rel.as_posix()


def _figure_html(url: str, caption: str) -> str:
    return (f'<figure><img src="{_esc(url)}" alt="{_esc(caption)}" loading="eager" decoding="sync">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _names_in(code: str) -> list:
    """Figure file names a code cell writes; f-string fields become wildcards."""
    pats = []
    for m in _FIG_NAME.finditer(code):
        name = m.group(1).split("/")[-1].strip()
        pats.append(re.compile("^" + re.sub(r"\\\{.*?\\\}", ".*", re.escape(name)) + "$"))
    return pats


def _metrics_table(number: str, default: dict | None, full: dict | None, claims: dict) -> str:
    if not default and not full:
        return '<p class="muted">No committed results for this lesson yet (run it with <code>--publish</code>).</p>'
    md, mf = (default or {}).get("metrics", {}), (full or {}).get("metrics", {})
    headlines = [k for k in course.HEADLINES.get(number, []) if k in md or k in mf]
    keys = headlines + [k for k in list(md) + [k for k in mf if k not in md] if k not in headlines]
    any_claim = any(_claim_for(k, claims) for k in keys)
    head = "<tr><th>metric</th><th>default tier</th><th>full tier</th>" + \
           ("<th>the document claims</th>" if any_claim else "") + "</tr>"

    def row(k, cls=""):
        c = _claim_for(k, claims)
        return (f'<tr class="{cls}"><td>{_esc(k)}</td><td class="num">{_esc(_fmt(md.get(k)))}</td>'
                f'<td class="num">{_esc(_fmt(mf.get(k)))}</td>'
                + (f"<td>{_esc(c) if c else ''}</td>" if any_claim else "") + "</tr>")

    first = [k for k in keys if k in headlines or _claim_for(k, claims)]
    rest = [k for k in keys if k not in first]
    times = []
    for label, res in (("default", default), ("full", full)):
        if res:
            times.append(f"{label} tier: {_fmt(res.get('seconds'))} s (seed {res.get('seed')}, {res.get('backend')})")
    out = [f'<p class="muted">Measured by the lesson itself (<code>results.json</code>); '
           f'{"; ".join(_esc(t) for t in times)}.</p>',
           f'<table class="metrics">{head}{"".join(row(k, "headline") for k in first)}</table>']
    if rest:
        out.append(f"<details><summary>all {len(keys)} metrics</summary><table class=\"metrics\">{head}"
                   f"{''.join(row(k) for k in rest)}</table></details>")
    unclaimed = [k for k in claims if not any(_claim_for(m, {k: claims[k]}) for m in keys)]
    if unclaimed:
        out.append("<p class=\"muted\">The document's other claims: " +
                   "; ".join(f"{_esc(k)}: {_esc(claims[k])}" for k in unclaimed) + "</p>")
    return "\n".join(out)


def _lesson_page(number: str, path: Path, fig_root: Path, out: Path, md, prev_next) -> dict:
    import jupytext

    source = path.read_text(encoding="utf-8")
    nb = jupytext.reads(source, fmt="py:percent")
    lesson_figs = _lesson_results_dir(path.stem, "default")
    full_dir = _lesson_results_dir(path.stem, "full")
    default = _read_results(lesson_figs / "results.json")
    full = _read_results(full_dir / "results.json")
    images = sorted(p for p in lesson_figs.glob("*") if p.suffix.lower() in IMAGE_EXT) if lesson_figs.is_dir() else []
    full_images = sorted(p for p in full_dir.glob("*") if p.suffix.lower() in IMAGE_EXT) \
        if full_dir.is_dir() else []
    placed = set()
    parts, title = [], f"Lesson {number} — {course.COURSE.get(number, path.stem)}"
    for i, cell in enumerate(nb.cells):
        text = cell.source
        if not text.strip():
            continue
        if cell.cell_type == "markdown":
            if i == 0:
                m = re.match(r"\s*#\s+(.+)", text)
                if m:
                    title = m.group(1).strip()
            parts.append(f'<div class="cell-md">{md.render(_local_links(text, path.parent, out, fig_root))}</div>')
        else:
            parts.append(f'<div class="cell-code">{_highlight(text)}</div>')
            for pat in _names_in(text):
                for img in images:
                    if img not in placed and pat.match(img.name):
                        placed.add(img)
                        parts.append(_figure_html(_copy_figure(img, fig_root, out), f"{img.name} (default tier)"))
    rest = [p for p in images if p not in placed]
    if rest:
        parts.append("<h2>More figures from this lesson</h2>")
        parts += [_figure_html(_copy_figure(p, fig_root, out), f"{p.name} (default tier)") for p in rest]
    if full_images:
        parts.append("<h2>Figures from the full tier</h2>")
        parts += [_figure_html(_copy_figure(p, fig_root, out), f"{p.name} (full tier)") for p in full_images]
    extras = []
    if lesson_figs.is_dir():
        for p in sorted(lesson_figs.glob("*.html")):
            extras.append(f'<li><a href="{_esc(_copy_figure(p, fig_root, out))}">{_esc(p.name)}</a> '
                          "(self-contained, opens offline)</li>")
        for p in sorted(lesson_figs.glob("*.md")):
            extras.append(f"<li><details><summary>{_esc(p.name)}</summary>{md.render(p.read_text(encoding='utf-8'))}"
                          "</details></li>")
    parts.append("<h2 id=\"results\">Measured results</h2>")
    parts.append(_metrics_table(number, default, full, _claims(source, default)))
    if extras:
        parts.append("<h3>Other files the lesson wrote</h3><ul>" + "".join(extras) + "</ul>")
    parts.append(_exercises_html(number, md))
    prev, nxt = prev_next
    pager = '<nav class="pager">' + (f'<a href="{prev[1]}">← {_esc(prev[0])}</a>' if prev else "<span></span>") + \
            (f'<a href="{nxt[1]}">{_esc(nxt[0])} →</a>' if nxt else "<span></span>") + "</nav>"
    parts.append(pager)
    page = path.stem + ".html"
    (out / page).write_text(_page(title, "\n".join(parts), f'<span>Lesson {number}</span>'), encoding="utf-8")
    return {"number": number, "page": page, "title": title, "default": default, "full": full,
            "n_figures": len(images) + len(full_images)}


_HINT = re.compile(r"^hint:\s*", re.I)


def _exercises_html(number: str, md) -> str:
    items = exercises_for(number)
    cmd = (f"<p>Put the stubs in your workspace with <code>python -m neurophys exercises {number}</code>, "
           f"fill them in, and check them with <code>python -m neurophys check {number}</code> "
           f"(one verdict per exercise; <code>--exercise K</code> for one).</p>")
    if not items:
        return ('<h2 id="exercises">Coding exercises</h2><p class="muted">The coding exercises of this lesson are '
                "not in this copy of neurophys yet; the exercises in prose are at the end of the lesson above.</p>")
    intro = ""
    module_doc = items[0].get("module_doc", "")
    if module_doc:
        paras = module_doc.split("\n\n")
        intro = md.render("\n\n".join(paras[1:] if len(paras) > 1 else paras))
    body = intro + "".join(
        f'<div class="exercise"><h3>{k}. {_esc(e["name"])}</h3>'
        + (md.render(e["doc"]) if e["doc"] else "")
        + (f'<p class="muted"><strong>Hint:</strong> {_esc(_HINT.sub("", e["hint"]))}</p>' if e["hint"] else "")
        + f'<p class="muted">stub: <code>{_esc(e["file"])}</code></p></div>'
        for k, e in enumerate(items, 1))
    return f'<h2 id="exercises">Coding exercises</h2>{cmd}{body}'


_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)(\s+\"[^\"]*\")?\)")


def _local_links(text: str, base: Path, out: Path, fig_root: Path) -> str:
    """Markdown links to repository files made to work in the site, or reduced to their text.

    A link to a lesson script goes to its page; a link to a committed figure is copied
    into the site; a link to any other file of the repository (docs/, the README, a
    module) is not carried by the site, so only its text is kept. Web links stay.
    """
    files = {p.resolve(): p for p in course.lesson_files().values()}

    def fix(m):
        bang, label, target = m.group(1), m.group(2), m.group(3)
        if re.match(r"^([a-z]+:|#)", target):
            return m.group(0)
        path = (base / target.split("#")[0]).resolve()
        if path in files:
            return f"{bang}[{label}]({files[path].stem}.html)"
        if path.is_file() and path.suffix.lower() in IMAGE_EXT + (".html",):
            try:
                path.relative_to(fig_root.resolve())
            except ValueError:
                return label
            return f"{bang}[{label}]({_copy_figure(path, fig_root.resolve(), out)})"
        return label

    return _MD_LINK.sub(fix, text)


def _readme_sections(readme: str) -> tuple:
    """(intro markdown, verdicts markdown) from the README."""
    intro = ""
    m = re.search(r"^# .*?\n(.*?)(?=^## )", readme, re.S | re.M)
    if m:
        intro = m.group(1).strip()
    verdicts = ""
    m = re.search(r"^#{2,4} +What reproduced[^\n]*\n(.*?)(?=^#{1,2} |\Z)", readme, re.S | re.M) or re.search(r"^What reproduced and what did not[^\n]*(?:\n[^\n]+)*\n\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if m:
        verdicts = m.group(1).strip()
    return intro, verdicts


def _dashboard_link(out: Path, fig_root: Path) -> str:
    """A line pointing to lesson 12's dashboard when the site carries it."""
    found = sorted(out.glob("figures/12_*/dashboard.html"))
    if not found:
        return ""
    rel = found[0].relative_to(out).as_posix()
    return (f'<p>Lesson 12 also writes an interactive <a href="{_esc(rel)}">dashboard</a> (trajectories, energy, '
            "latent space and the discovered laws; one self-contained file that opens offline).</p>")


def _index(pages: list, out: Path, md, fig_root: Path) -> None:
    intro, verdicts = _readme_sections(_readme())
    root = Path(getattr(course, "COURSE_ROOT", course.REPO_ROOT))
    intro, verdicts = (_local_links(t, root, out, fig_root) for t in (intro, verdicts))
    try:
        times = course.measured_times() if hasattr(course, "measured_times") else {}
    except Exception:   # a corrupt benchmark file must not stop the site
        times = {}

    def when(p, tier, res):
        t = times.get(p["number"], {}).get(tier) or ({"seconds": res.get("seconds")} if res else None)
        if not t or not isinstance(t.get("seconds"), (int, float)):
            return "–"
        out = course.format_duration(t["seconds"])
        if isinstance(t.get("cpu_seconds"), (int, float)):
            out += f" ({course.format_duration(t['cpu_seconds'])} CPU)"
        return out

    rows = []
    for p in pages:
        d, f = p["default"], p["full"]
        keys = course.HEADLINES.get(p["number"], [])
        shown = ", ".join(f"{k} = {_fmt(d['metrics'][k])}" for k in keys if d and k in d.get("metrics", {}))
        rows.append(f'<tr><td>{p["number"]}</td><td><a href="{p["page"]}">{_esc(course.COURSE.get(p["number"], p["title"]))}'
                    f'</a></td><td class="num">{_esc(when(p, "default", d))}</td>'
                    f'<td class="num">{_esc(when(p, "full", f))}</td>'
                    f'<td class="muted">{_esc(shown) if shown else "not run"}</td></tr>')
    written = {p["number"] for p in pages}
    for number, title in course.COURSE.items():
        if number not in written:
            rows.append(f"<tr><td>{number}</td><td>{_esc(title)}</td><td>–</td><td>–</td>"
                        "<td class=\"muted\">not written yet</td></tr>")
    rows.sort(key=lambda r: r[8:10])
    body = ["<h1>neurophys — physics-inspired neural networks, a course</h1>",
            md.render(intro) if intro else "",
            "<p>Each lesson below is rendered from its script: its text with the equations, its code, the figures "
            "and animations it drew, its measured results beside what the research document claimed, and its "
            "coding exercises. Run a lesson yourself with <code>python -m neurophys run NN</code>.</p>",
            "<h2>The lessons, in order</h2>",
            "<p class=\"muted\">Time: the measured wall time (and CPU time where it was recorded) of each tier "
            "(seed 0, NumPy backend, on the CPU).</p>",
            "<table class=\"lessons\"><tr><th>#</th><th>lesson</th><th>default tier</th><th>full tier</th>"
            "<th>headline metrics (default tier)</th></tr>" + "".join(rows) + "</table>",
            _dashboard_link(out, fig_root),
            "<h2>What reproduced and what did not</h2>",
            f'<div class="verdicts">{md.render(verdicts)}</div>' if verdicts else
            '<p class="muted">The README has no verdict section in this copy.</p>']
    (out / "index.html").write_text(_page("neurophys — the course", "\n".join(body)), encoding="utf-8")


def build_site(out_dir, lessons=None) -> Path:
    """Write the offline site into ``out_dir`` and return the path of its ``index.html``.

    ``lessons``: lesson numbers to render (default: every lesson that exists).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = course.lesson_files()
    if not files:
        raise SiteError(f"no lessons found in {course.lessons_dir()}; build the site from a clone of the "
                        "repository or set NEUROPHYS_LESSONS")
    numbers = [course.normalise_number(n) for n in lessons] if lessons else list(files)
    numbers = [n for n in course.COURSE if n in numbers and n in files]
    (out / "assets").mkdir(exist_ok=True)
    (out / "assets" / "style.css").write_text(_STYLE, encoding="utf-8")
    (out / "assets" / "pygments.css").write_text(_pygments_css(), encoding="utf-8")
    md = _markdown()
    fig_root = _figures_dir()
    pages = []
    titles = [(n, f"Lesson {n}", files[n].stem + ".html") for n in numbers]
    for i, n in enumerate(numbers):
        prev = titles[i - 1][1:] if i > 0 else None
        nxt = titles[i + 1][1:] if i + 1 < len(titles) else None
        pages.append(_lesson_page(n, files[n], fig_root, out, md, (prev, nxt)))
    _index(pages, out, md, fig_root)
    return out / "index.html"
