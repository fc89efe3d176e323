"""Lessons 02 and 03 at the quick tier: they run, write results.json, and their physics/learning claims hold."""
import pytest

from neurophys import course


def test_lesson_02_quick(tmp_path):
    res = course.run_lesson("02", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert (tmp_path / "results.json").exists() and (tmp_path / "vortex.png").exists()
    assert abs(m["splitstep_norm_drift"]) < 1e-5            # norm kept to round-off in float32
    assert abs(m["splitstep_norm_drift_float32"]) < 1e-5
    assert abs(m["splitstep_norm_drift_float64"]) < 1e-12
    assert m["euler_norm_drift"] > 100 * abs(m["splitstep_norm_drift"])   # Euler gains norm
    assert 0.8 < m["euler_norm_slope_vs_dt"] < 1.2          # first order
    assert 1.6 < m["splitstep_energy_slope_vs_dt"] < 2.4    # second order
    assert m["ground_state_energy_error_g0"] < 1e-4
    assert m["euler_unstable_dt_refused"] is True
