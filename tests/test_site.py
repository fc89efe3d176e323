"""The course site: built into a temporary folder, then every page opened in a real headless Chromium.

The browser checks fail (not skip) where Chromium is missing, unless
NEUROPHYS_ALLOW_NO_BROWSER=1 (see tests/browser_fixture.py).
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from neurophys import course
from neurophys.site import build_site, exercises_for
from neurophys.site.mathtext import expr_to_latex, latex_to_mathml, looks_like_equation, plain_to_latex


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    index = build_site(out)
    return index.parent


def _pages(site):
    return [site / "index.html"] + sorted(site.glob("[0-9][0-9]_*.html"))


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("img", "script", "iframe", "video", "audio", "source") and a.get("src"):
            self.refs.append((tag, a["src"]))
        if tag == "link" and a.get("href"):
            self.refs.append((tag, a["href"]))
        if tag == "a" and a.get("href"):
            self.refs.append((tag, a["href"]))


def test_one_page_per_lesson_and_everything_local(site):
    files = course.lesson_files()
    assert (site / "index.html").is_file()
    for number, path in files.items():
        assert (site / f"{path.stem}.html").is_file(), f"no page for lesson {number}"
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        parser = _Refs()
        parser.feed(text)
        assert "<script" not in text, f"{page.name}: the site pages need no script"
        for tag, ref in parser.refs:
            if tag == "a" and (ref.startswith(("http://", "https://", "#", "mailto:"))):
                continue                          # a plain link a reader may follow; nothing is fetched
            assert not re.match(r"^[a-z]+://", ref), f"{page.name}: <{tag}> fetches {ref} from a network"
            if ref.startswith("data:"):
                continue
            assert (page.parent / ref.split("#")[0]).exists(), f"{page.name}: <{tag}> points to missing {ref}"


def test_index_has_lessons_times_results_and_verdicts(site):
    text = (site / "index.html").read_text(encoding="utf-8")
    for number, path in course.lesson_files().items():
        assert f'href="{path.stem}.html"' in text
    assert "What reproduced and what did not" in text
    assert "000 PhysNet" in text and "004 Equilibrium Propagation" in text    # the README's verdicts
    res = course.read_results(course.published_dir("06_eqprop_mnist", "default")) \
        if hasattr(course, "published_dir") else None
    if res:                                                                     # a measured time is shown
        from neurophys.course import format_duration as _duration
        secs = course.measured_times().get("06", {}).get("default", {}).get("seconds", res["seconds"]) \
            if hasattr(course, "measured_times") else res["seconds"]
        assert _duration(secs) in text


def test_lesson_page_has_text_code_figures_metrics_exercises(site):
    page = (site / "06_eqprop_mnist.html").read_text(encoding="utf-8")
    assert "<math" in page and 'class="highlight"' in page
    assert 'src="figures/06_eqprop_mnist/learning_curves.png"' in page
    assert "test_accuracy" in page and "full tier" in page
    assert 'id="exercises"' in page
    p03 = (site / "03_physnet_forgetting.html").read_text(encoding="utf-8")
    assert "the document claims" in p03                                      # document_claims beside metrics


def test_plain_text_equations_become_latex():
    assert looks_like_equation("    E(θ) = (1/N) Σ_n ½ ‖f(x_n; θ) − t_n‖²")
    assert not looks_like_equation("    python -m neurophys run 06 --quick")
    tex = plain_to_latex("ΔW₁ ∝ (1/β) [ρ(h^β)ᵀρ(y^β)]   (a weight sees only its two neurons).")
    assert r"W_{1}" in tex and r"\propto" in tex and r"h^{β}" in tex and r"\text{(a weight" in tex
    assert "<mfrac>" in latex_to_mathml(r"\frac{1}{2}")


def test_expression_printer_tidies_signs_and_unit_factors():
    from neurophys.symbolic.expr import Const, Op, Var, inv, sqrt, square
    x, y, vx, vy = Var("x"), Var("y"), Var("vx"), Var("vy")
    L = Op("add", Op("mul", Const(1.0), Op("mul", x, vy)), Op("mul", Const(-1.0), Op("mul", y, vx)))
    assert expr_to_latex(L) == r"x\,v_{y} - y\,v_{x}"
    E = Op("add", Op("mul", Const(0.5), Op("add", square(vx), square(vy))),
           Op("mul", Const(-3.98612), inv(sqrt(Op("add", square(x), square(y))))))
    tex = expr_to_latex(E)
    assert "+ -" not in tex and r"- \frac{3.986}{\sqrt{x^{2} + y^{2}}}" in tex


def test_exercises_are_listed_from_stubs_when_there(site):
    # whatever the exercises package holds, reading it never fails and never imports it
    for number, path in course.lesson_files().items():
        items = exercises_for(number)
        for e in items:
            assert e["name"] and isinstance(e["hint"], str)
        page = (site / f"{path.stem}.html").read_text(encoding="utf-8")
        for e in items:
            assert f"{e['name']}</h3>" in page


def test_site_command(tmp_path, capsys):
    from neurophys.cli import main
    assert main(["site", "--out", str(tmp_path / "s"), "--lessons", "02"]) == 0
    assert (tmp_path / "s" / "index.html").is_file()
    assert [p.name for p in (tmp_path / "s").glob("[0-9][0-9]_*.html")] == ["02_gpe_field.html"]
    assert "index.html" in capsys.readouterr().out


# --------------------------------------------------------------------------- in the browser
_PAGE_STATE = """
const vis = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
                    return r.width > 0 && r.height > 0 && s.display !== 'none' && s.visibility !== 'hidden'; };
const maths = Array.from(document.querySelectorAll('math'));
const imgs = Array.from(document.images);
return {
  maths: maths.length,
  mathml_elements: maths.filter(m => m instanceof MathMLElement).length,
  maths_visible: maths.filter(vis).length,
  maths_sized: maths.filter(m => m.getBoundingClientRect().height >= 8).length,
  fractions_stacked: Array.from(document.querySelectorAll('mfrac')).filter(f => {
      const [a, b] = f.children; if (!a || !b) return true;
      return a.getBoundingClientRect().bottom <= b.getBoundingClientRect().top + 2; }).length,
  fractions: document.querySelectorAll('mfrac').length,
  imgs: imgs.length,
  imgs_loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
  imgs_visible: imgs.filter(vis).length,
  broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  text: document.body.innerText.length,
};
"""


def _not_blank(pixels, what):
    gray = pixels.astype(float).mean(axis=2)
    assert gray.std() > 8.0, f"{what} looks blank (pixel std {gray.std():.2f})"
    return gray


def test_every_page_loads_in_chromium_with_equations_and_figures(site, browser):
    pages = _pages(site)
    total_maths = 0
    for page in pages:
        browser.load(page)
        errors = browser.console_errors()
        assert errors == [], f"{page.name}: console errors {errors}"
        st = browser.js(_PAGE_STATE)
        assert st["text"] > 500, f"{page.name}: almost no text rendered"
        n_math = page.read_text(encoding="utf-8").count("<math")
        assert st["maths"] == n_math
        # typeset: Chromium made MathML elements of them and gave each a box of its own
        assert st["mathml_elements"] == n_math, f"{page.name}: MathML not recognised"
        assert st["maths_visible"] == n_math and st["maths_sized"] == n_math, f"{page.name}: {st}"
        assert st["fractions_stacked"] == st["fractions"], f"{page.name}: fractions not laid out as fractions"
        total_maths += n_math
        # figures: every <img> decoded and laid out
        assert st["broken"] == [], f"{page.name}: images that did not load: {st['broken']}"
        assert st["imgs_loaded"] == st["imgs"] == st["imgs_visible"], f"{page.name}: {st}"
        _not_blank(browser.screenshot(), f"{page.name} (screenshot)")
        # the first figure and the first display equation, screenshot on their own: ink on them
        for selector in ("figure img", 'math[display="block"]'):
            els = browser.driver.find_elements("css selector", selector)
            if els:
                browser.js("arguments[0].scrollIntoView({block: 'center'})", els[0])
                gray = _not_blank(browser.element_screenshot(els[0]), f"{page.name}: {selector}")
                assert (gray < 128).mean() > 0.002, f"{page.name}: {selector} has no dark ink"
    # the lessons carry equations; the site must typeset a good number of them
    assert total_maths >= 15, f"only {total_maths} typeset equations on the whole site"


def test_a_gif_animation_is_shown(site, browser):
    gifs = sorted(site.glob("figures/*/*.gif"))
    assert gifs, "the committed figures include GIF animations; none was copied"
    page = site / f"{gifs[0].parent.name}.html"
    browser.load(page)
    n = browser.js("return Array.from(document.images).filter(i => i.src.endsWith('.gif') && i.naturalWidth > 0 "
                   "&& i.getBoundingClientRect().width > 0).length")
    assert n >= 1
