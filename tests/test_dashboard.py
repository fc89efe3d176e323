"""The offline dashboard: one self-contained HTML file, opened in a real headless Chromium.

The browser tests use the shared ``browser`` fixture (tests/browser_fixture.py): they
fail where Chromium is missing, unless NEUROPHYS_ALLOW_NO_BROWSER=1.
"""
import json
import re

import numpy as np
import pytest

from neurophys.plots.dashboard import VIEWS, split_diagnostics, write_dashboard
from neurophys.symbolic.expr import Const, Op, Var, inv, sqrt, square

x, y, vx, vy = Var("x"), Var("y"), Var("vx"), Var("vy")
# the printer's old output: "1·x·vy + -1·y·vx" and "... + -3.986·1/√(...)"
L_TREE = Op("add", Op("mul", Const(1.0), Op("mul", x, vy)), Op("mul", Const(-1.0), Op("mul", y, vx)))
E_TREE = Op("add", Op("mul", Const(0.5), Op("add", square(vx), square(vy))),
            Op("mul", Const(-3.98612), inv(sqrt(Op("add", square(x), square(y))))))
PYSR_NOTE = ("Search: built-in genetic engine (PySR unavailable: pysr is not usable here (ModuleNotFoundError: No "
             "module named 'pysr'); install it with `pip install neurophys[pysr]`).")


def _sample(with_model=True):
    t = np.linspace(0, 6, 40)
    th = t[None] * np.array([1.0, 1.4])[:, None]
    S = np.stack([np.cos(th), np.sin(th), -np.sin(th), np.cos(th)], -1)
    E = np.full((2, 40), -1.5)
    orbit = {"state_names": ["x", "y", "vx", "vy"], "t": t, "states_true": S,
             "states_pred": S * 1.01 if with_model else None, "energy_true": E,
             "energy_pred": E + 0.01 * np.sin(th) if with_model else None,
             "pca": np.random.default_rng(0).normal(size=(50, 2)) if with_model else None,
             "pca_energy": np.linspace(-2, -1, 50), "pca_explained": [0.7, 0.2],
             "equations": [{"quantity": "total", "law": E_TREE, "r2": 1.0,
                            "coef_error": 1e-6, "complexity": 9, "claimed": "doc"},
                           {"quantity": "old style", "law_html": "0.5&middot;<i>v</i><sup>2</sup>", "r2": 0.9,
                            "coef_error": None, "complexity": 3, "claimed": ""}],
             "conserved": [{"law": L_TREE, "drift": 1e-7}, {"law": E_TREE, "drift": 2e-7}],
             "notes": ["a note with </script> inside", PYSR_NOTE]}
    spring = {"state_names": ["x", "v"], "t": t, "states_true": S[..., :2], "states_pred": None,
              "energy_true": E, "energy_pred": None, "pca": None}
    return {"orbit": orbit, "spring": spring}


def test_dashboard_file_is_self_contained(tmp_path):
    path = write_dashboard(tmp_path / "d.html", _sample(), title="T <b>")
    html = path.read_text()
    assert "http://" not in html and "https://" not in html        # no CDN, nothing fetched
    assert "<script src" not in html and not re.findall(r'<link[^>]*href="(?!data:)', html)
    m = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    data = json.loads(m.group(1))                                   # "</" was escaped, JSON intact
    assert set(data["systems"]) == {"orbit", "spring"}
    for view in VIEWS:
        assert f'id="view-{view}"' in html


def test_dashboard_bad_input(tmp_path):
    d = _sample()
    with pytest.raises(ValueError, match="at least one system"):
        write_dashboard(tmp_path / "x.html", {})
    d["orbit"]["energy_true"] = np.ones((3, 3))
    with pytest.raises(ValueError, match="energy_true"):
        write_dashboard(tmp_path / "x.html", d)
    d = _sample()
    d["orbit"]["states_true"] = d["orbit"]["states_true"][..., :3]
    with pytest.raises(ValueError, match="states_true"):
        write_dashboard(tmp_path / "x.html", d)



def test_notes_lose_python_exceptions_to_the_hidden_diagnostics():
    text, found = split_diagnostics(PYSR_NOTE)
    assert "ModuleNotFoundError" not in text and "PySR unavailable" in text and "pip install" in text
    assert found and "ModuleNotFoundError" in found[0]


def test_laws_are_typeset_as_mathml_in_the_file(tmp_path):
    html = write_dashboard(tmp_path / "d.html", _sample()).read_text()
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1).replace("<\\/", "</"))
    law = data["systems"]["orbit"]["equations"][0]["law_mathml"]
    assert law.startswith("<math") and "<msqrt>" in law and "<mfrac>" in law
    assert data["systems"]["orbit"]["equations"][0]["law_latex"].count("+ -") == 0
    assert data["systems"]["orbit"]["conserved"][0]["latex"] == r"x\,v_{y} - y\,v_{x}"
    assert "ModuleNotFoundError" not in "".join(data["systems"]["orbit"]["notes"])


_STATE = """
const vis = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.display !== 'none' && s.visibility !== 'hidden' && el.offsetParent !== null; };
const maths = Array.from(document.querySelectorAll('#equations math'));
return {
  rendered: Array.from(document.querySelectorAll('section[data-view]')).map(s => [s.dataset.view, s.dataset.rendered]),
  errors: document.getElementById('errors').textContent,
  log: document.getElementById('render-log').textContent,
  diagnostics_visible: vis(document.getElementById('diagnostics')) || vis(document.getElementById('render-log')),
  page_text: document.body.innerText,
  maths: maths.length,
  maths_sized: maths.filter(m => m instanceof MathMLElement && vis(m) && m.getBoundingClientRect().height >= 10).length,
  sqrt: document.querySelectorAll('#equations msqrt').length,
  layout: window.DASHBOARD_LAYOUT,
};
"""


def _overlap(a, b):
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def _check_layout(layout, canvas_w=640, canvas_h=380):
    for cid, L in layout.items():
        labels = [L["xlabel"], L["ylabel"]]
        for lab in labels:
            assert lab["x"] >= 0 and lab["y"] >= 0 and lab["x"] + lab["w"] <= canvas_w and lab["y"] + lab["h"] <= canvas_h
            for t in L["ticks"]:
                assert not _overlap(lab, t), f"{cid}: axis label {lab} collides with tick label {t}"
        assert not _overlap(L["xlabel"], L["ylabel"])
        ticks = L["ticks"]
        for i in range(len(ticks)):
            for j in range(i + 1, len(ticks)):
                assert not _overlap(ticks[i], ticks[j]), f"{cid}: tick labels collide"


def test_dashboard_in_chromium_typeset_laid_out_quiet_and_hoverable(tmp_path, browser):
    path = write_dashboard(tmp_path / "d.html", _sample())
    browser.load(path, wait_for="return document.getElementById('view-equations').dataset.rendered === 'yes'")
    st = browser.js(_STATE)
    assert st["errors"] == "" and browser.console_errors() == []
    assert all(r == "yes" for _, r in st["rendered"]), st["rendered"]
    assert all(f"rendered {v}" in st["log"] for v in VIEWS)        # the log is kept, hidden
    assert not st["diagnostics_visible"]
    text = st["page_text"]
    for leak in ("rendered trajectory", "ModuleNotFoundError", "+ -", "1·x", "·1/"):
        assert leak not in text, f"{leak!r} is visible on the page"
    assert st["maths"] == 3 and st["maths_sized"] == 3 and st["sqrt"] >= 1      # 1 table law + 2 invariants
    assert set(st["layout"]) == {"c-traj", "c-energy", "c-latent"}
    _check_layout(st["layout"])
    # hover read-outs: the pointer over a data point shows its values
    from selenium.webdriver.common.action_chains import ActionChains
    for view, cid in (("energy", "c-energy"), ("latent", "c-latent")):
        canvas = browser.driver.find_element("id", cid)
        browser.js("arguments[0].scrollIntoView({block: 'center'})", canvas)
        p = browser.js("const L = window.DASHBOARD_LAYOUT[arguments[0]].plot, c = document.getElementById(arguments[0]),"
                       " r = c.getBoundingClientRect(), s = r.width / c.width;"
                       " return [(L.x + L.w / 2) * s - r.width / 2, (L.y + L.h / 2) * s - r.height / 2];", cid)
        readout = browser.driver.find_element("id", f"r-{view}")
        shown = ""
        for dx in range(0, 300, 12):          # sweep along the middle of the plot until a point is near
            ActionChains(browser.driver).move_to_element_with_offset(canvas, int(p[0]) - 150 + dx, int(p[1])).perform()
            if readout.is_displayed():
                shown = readout.text
                break
        assert shown, f"no hover read-out on {cid}"
        assert ("energy" in shown or "E =" in shown) and re.search(r"\d", shown)
    # the page is drawn: a screenshot of each plot has ink on it
    for cid in ("c-traj", "c-energy", "c-latent"):
        px = browser.element_screenshot(browser.driver.find_element("id", cid)).astype(float).mean(axis=2)
        assert px.std() > 8 and (px < 128).mean() > 0.002, f"{cid} looks blank"


def test_dashboard_without_model_data_still_renders_and_says_why(tmp_path, browser):
    data = _sample(with_model=False)
    path = write_dashboard(tmp_path / "d.html", {"orbit": data["orbit"]})
    browser.load(path, wait_for="return document.getElementById('view-equations').dataset.rendered === 'yes'")
    st = browser.js(_STATE)
    assert all(r == "yes" for _, r in st["rendered"]) and st["errors"] == ""
    assert "run lesson 11 first" in st["page_text"]
    assert browser.console_errors() == []
