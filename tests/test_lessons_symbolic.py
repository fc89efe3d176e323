"""Lesson 12 runs end to end: the nine equations, the label-free invariants, the dashboard."""
import math

import pytest

from neurophys import course

EQUATIONS = [("projectile", "total"), ("projectile", "kinetic"), ("projectile", "potential"),
             ("spring", "total"), ("spring", "kinetic"), ("spring", "potential"),
             ("orbit", "total"), ("orbit", "kinetic"), ("orbit", "angular_momentum")]


def _meets_bar(m, system, quantity):
    err = m[f"{system}_{quantity}_coef_error"]
    return m[f"{system}_{quantity}_r2"] >= 0.999 and not math.isnan(err) and err <= 0.02


def test_lesson12_quick(tmp_path, monkeypatch):
    # no lesson-11 files where the lesson looks: it must train its small stand-in GRU and still
    # write a full dashboard (the default tier reads lesson 11's files)
    monkeypatch.setattr(course, "FIGURES_DIR", tmp_path / "no-figures")
    res = course.run_lesson("12", tier="quick", out=tmp_path)
    m = res["metrics"]
    for system, quantity in EQUATIONS:
        assert f"{system}_{quantity}_coef_error" in m and f"{system}_{quantity}_r2" in m
    # a tiny search budget: most laws, not necessarily all (the default tier must find all 9)
    assert sum(_meets_bar(m, s, q) for s, q in EQUATIONS) >= 7
    assert m["equations_meeting_bar"] == sum(_meets_bar(m, s, q) for s, q in EQUATIONS)
    # sparse regression on the same library is exact on noise-free labels
    assert all(m[f"{s}_{q}_sparse_r2"] > 0.9999 for s, q in EQUATIONS)
    # no labels: energy for each system and L for the orbit, and nothing for a damped spring
    assert m["unlabelled_found"] == 4
    assert m["damped_spring_n_conserved"] == 0
    # measurement noise: both orbit invariants up to 1e-3 of each variable's spread, never a damped one
    assert m["noise_highest_level_both_found"] >= 1e-3
    assert m["noise_1e-03_orbit_n_found"] == 2 and m["noise_1e-03_orbit_energy_coef_error"] < 0.01
    assert m["noise_1e-01_orbit_n_found"] == 0
    assert m["noise_damped_found_any_level"] == 0
    html = (tmp_path / "dashboard.html").read_text()
    assert "https://" not in html and "http://" not in html
    for view in ("trajectory", "energy", "latent", "equations"):
        assert f'id="view-{view}"' in html
    assert "Stand-in" in html
    for name in ("results.json", "equations.md", "pareto_fronts.png", "drift_spectra.png", "noise_sweep.png"):
        assert (tmp_path / name).exists()
    assert res["settings"]["dashboard_sources"] == {s: "stand-in" for s in ("projectile", "spring", "orbit")}


@pytest.mark.slow
def test_lesson12_default_meets_the_bars(tmp_path):
    m = course.run_lesson("12", tier="default", out=tmp_path)["metrics"]
    assert all(_meets_bar(m, s, q) for s, q in EQUATIONS), {k: v for k, v in m.items() if "coef_error" in k}
    assert m["unlabelled_found"] == 4
