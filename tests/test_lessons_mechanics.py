"""Lessons 10 and 11 at the quick tier: they run, write their files, and measure what they claim."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurophys import course
from neurophys.physics import mechanics as M

REPO = Path(__file__).resolve().parents[1]


def test_lesson10_quick(tmp_path):
    res = course.run_lesson("10", tier="quick", out=tmp_path)
    m = res["metrics"]
    for system in M.SYSTEMS:
        for key in ("rk45_energy_drift", "verlet_energy_drift", "dataset_energy_drift"):
            assert np.isfinite(m[f"{key}_{system}"]), f"{key}_{system}"
        assert m[f"dataset_energy_drift_{system}"] < 1e-6, "the training data conserves energy"
        data = M.load_dataset(tmp_path / f"{system}_trajectories.npz")
        assert data["states"].shape == (res["settings"]["n_dataset"], M.DEFAULT_N_STEPS, M.state_dim(system))
    # symplectic vs not: Verlet conserves L to round-off; loose RK45 drifts in energy on the orbit
    assert m["verlet_L_drift_orbit"] < 1e-10
    assert m["rk45_default_tol_energy_drift_orbit"] > 10 * m["verlet_energy_drift_orbit"]
    for name in ("trajectories.png", "invariants.png", "energy_drift.png", "results.json"):
        assert (tmp_path / name).exists()


def test_lesson11_quick(tmp_path):
    res = course.run_lesson("11", tier="quick", out=tmp_path)
    m = res["metrics"]
    for system in M.SYSTEMS:
        for key in ("drift_standard", "drift_physics", "recon_mse", "latent_energy_r2"):
            assert np.isfinite(m[f"{key}_{system}"]), f"{key}_{system}"
    # learning happened: standardised data has variance 1, so predicting the mean scores ~1
    assert m["recon_mse_spring"] < 0.3 and m["recon_mse_projectile"] < 0.3
    # the energy term did shrink the head's variation
    assert m["head_energy_std_physics_spring"] < m["head_energy_std_standard_spring"]
    assert m["head_drift_physics_spring"] < m["head_drift_standard_spring"]
    for dim in res["settings"]["ablation_latent_dims"]:
        assert np.isfinite(m[f"ablation_latent{dim}_recon_mse"])
    with np.load(tmp_path / "dashboard_orbit.npz", allow_pickle=False) as f:
        T = len(f["t"])
        assert f["states_true"].shape == f["states_recon"].shape == (6, T, 4)
        assert f["energy_true"].shape == f["energy_pred"].shape == (6, T)
        assert f["pca_latents"].shape[1] == 2 and f["pca_latents"].shape[0] == f["pca_energy"].shape[0]
        assert str(f["system"]) == "orbit" and "angular_momentum_true" in f.files
    assert "12.4" in (tmp_path / "tables.md").read_text()


def test_lesson11_command_line_options(tmp_path):
    """The document's options reach the lesson when it runs as a script."""
    cmd = [sys.executable, str(REPO / "lessons" / "11_gru_energy_encoder.py"), "--quick", "--out", str(tmp_path),
           "--system", "spring", "--lambda-e", "0.2", "--epochs", "1", "--batch-size", "32",
           "--latent-dim", "8", "--tag", "cli"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, timeout=600)
    res = json.loads((tmp_path / "run_cli" / "results.json").read_text())
    s = res["settings"]
    assert s["systems"] == ["spring"] and s["lambda_e_physics"] == 0.2 and s["epochs"] == 1
    assert s["batch_size"] == 32 and s["latent_dim"] == 8 and s["tag"] == "cli"
    assert "drift_physics_spring" in res["metrics"] and "drift_physics_orbit" not in res["metrics"]


def test_lesson11_rejects_unknown_system(tmp_path):
    cmd = [sys.executable, str(REPO / "lessons" / "11_gru_energy_encoder.py"), "--quick", "--out", str(tmp_path),
           "--system", "pendulum"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode != 0 and "invalid choice: 'pendulum'" in out.stderr


@pytest.mark.slow
def test_lesson11_default_tier_learns(tmp_path):
    """The classroom run: every system reconstructs better than the mean predictor by 10x."""
    res = course.run_lesson("11", tier="default", out=tmp_path)
    for system in M.SYSTEMS:
        assert res["metrics"][f"recon_mse_{system}"] < 0.1


def test_energy_calibration_of_a_collapsed_head_is_the_mean_energy():
    """Lesson 11's full tier met it: the standard model's head (never trained, λ_E = 0) collapsed to
    one value, and the straight-line fit divided 0 by 0. A head that says nothing gets a = 0,
    b = mean E; a working head gets the least-squares line; a non-finite head is a divergence."""
    from neurophys.learning.gru_protocol import affine_calibration
    from neurophys.validate import DivergenceError
    E = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert affine_calibration(np.zeros((2, 2)), E) == (0.0, 2.5)
    a, b = affine_calibration(2 * E - 1, E)
    assert abs(a - 0.5) < 1e-12 and abs(b - 0.5) < 1e-12
    with pytest.raises(DivergenceError, match="not finite"):
        affine_calibration(np.array([np.nan, 1.0]), E[0])
