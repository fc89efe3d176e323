"""Lessons 04 and 05 run end to end in their quick tier and report what the issue asks for."""
import math

from neurophys import course

METHODS = ("finetune", "ewc", "si", "replay", "joint")


def test_lesson_04_quick(tmp_path):
    res = course.run_lesson("04", tier="quick", out=tmp_path)
    m = res["metrics"]
    for name in METHODS:
        for key in ("acc10", "bwt10", "acc2", "forgetting2"):
            assert math.isfinite(m[f"{key}_{name}"]) and f"{key}_{name}_std" in m
    assert m["acc2_joint"] > 0.5                    # learning happened (chance is 0.1)
    assert m["acc10_joint"] > m["acc10_finetune"]   # the upper bound is above fine-tuning
    assert (tmp_path / "accuracy_matrices_10.png").exists() and (tmp_path / "results.json").exists()
    assert res["settings"]["seeds"] == [0]
    # one file per (method, seed) unit, written as each finished (neurophys.sweep)
    assert sorted(p.name for p in (tmp_path / "units").glob("*.json")) == sorted(f"method={m},seed=0.json"
                                                                                 for m in METHODS)


def test_lesson_05_quick(tmp_path):
    res = course.run_lesson("05", tier="quick", out=tmp_path)
    m = res["metrics"]
    # the replay of the original run reproduces its printed numbers in every tier
    assert abs(m["dlm_forgetting_seed0"] - 0.2467) < 1e-3 and abs(m["std_forgetting_seed0"] - 0.5933) < 1e-3
    for key in ("dlm_forgetting_mean", "dlm_forgetting_std", "std_forgetting_mean", "std_forgetting_std",
                "dlm_better_fraction", "paired_p_value", "dlm_psd_slope", "std_psd_slope", "dlm_acc10"):
        assert math.isfinite(m[key]), key
    assert 0 <= m["dlm_better_fraction"] <= 1 and 0 <= m["paired_p_value"] <= 1
    assert m["dlm_psd_slope"] < 0                   # a red spectrum, whatever its exponent
    assert m["dlm_mean_diagonal10"] > 0.12          # the DLM learns something on permuted MNIST (chance 0.1)
    assert (tmp_path / "noise_spectra.png").exists()
    assert len(list((tmp_path / "forgetting").glob("*.json"))) == 3 * len(res["settings"]["forgetting_seeds"])
    assert len(list((tmp_path / "spectra").glob("*.json"))) == len(res["settings"]["spectrum_seeds"])
    assert m["dlm_forgetting_std"] > 0 and m["paired_t_p_value"] <= 1      # sample std over >= 2 seeds
