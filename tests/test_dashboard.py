"""The offline dashboard: one self-contained HTML file, opened in a real headless browser."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from neurophys.plots.dashboard import VIEWS, write_dashboard


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


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
             "equations": [{"quantity": "total", "law_html": "0.5&middot;<i>v</i><sup>2</sup>", "r2": 1.0,
                            "coef_error": 1e-6, "complexity": 9, "claimed": "doc"}],
             "conserved": [{"html": "<i>x</i>&middot;<i>vy</i>", "drift": 1e-7}],
             "notes": ["a note with </script> inside"]}
    spring = {"state_names": ["x", "v"], "t": t, "states_true": S[..., :2], "states_pred": None,
              "energy_true": E, "energy_pred": None, "pca": None}
    return {"orbit": orbit, "spring": spring}


def test_dashboard_file_is_self_contained(tmp_path):
    path = write_dashboard(tmp_path / "d.html", _sample(), title="T <b>")
    html = path.read_text()
    assert "http://" not in html and "https://" not in html        # no CDN, nothing fetched
    assert "<script src" not in html and "<link" not in html
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


def render_dom(path, tmp_path):
    """The DOM after the page's scripts ran, from headless chromium (None if it is absent)."""
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium here (Debian: `apt-get install -y chromium`); the browser check is skipped")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--virtual-time-budget=3000",
           "--dump-dom", path.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_dashboard_renders_all_four_views_in_headless_chromium(tmp_path):
    path = write_dashboard(tmp_path / "d.html", _sample())
    dom = render_dom(path, tmp_path)
    for view in VIEWS:
        assert re.search(rf'id="view-{view}"[^>]*data-rendered="yes"', dom), f"view {view} did not render"
        assert f"rendered {view}" in dom
    errors = re.search(r'<div id="errors">(.*?)</div>', dom, re.S).group(1)
    assert errors.strip() == "", errors


def test_dashboard_without_model_data_still_renders_and_says_why(tmp_path):
    data = _sample(with_model=False)
    path = write_dashboard(tmp_path / "d.html", {"orbit": data["orbit"]})
    dom = render_dom(path, tmp_path)
    for view in VIEWS:
        assert re.search(rf'id="view-{view}"[^>]*data-rendered="yes"', dom)
    assert "run lesson 11 first" in dom
