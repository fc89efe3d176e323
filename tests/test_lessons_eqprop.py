"""Quick-tier runs of the EqProp lessons 06-08: they finish, write results.json, and learn."""
import json

import pytest

from neurophys import backend as B
from neurophys import course


@pytest.fixture(autouse=True)
def _numpy():
    with B.using("numpy"):
        yield


def test_lesson_06_quick(tmp_path):
    res = course.run_lesson("06", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert m["test_accuracy"] > 0.75  # 3k images, 2 epochs, 100 hidden units
    assert m["seconds_per_epoch"] > 0 and m["epochs"] == 2
    assert m["free_energy_monotone"]
    assert 0 <= m["document_config_1epoch_test_accuracy"] <= 1
    assert (tmp_path / "learning_curves.png").exists() and (tmp_path / "relaxation_energy.png").exists()
    assert json.loads((tmp_path / "results.json").read_text())["lesson"] == "06"


def test_lesson_07_quick(tmp_path):
    res = course.run_lesson("07", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert 0 <= m["dream_recognised"] <= 1
    assert m["dream_recognised"] > m["dream_recognised_classifier_only"]  # training both ways makes dreams digits
    assert m["forgetting_no_replay"] > 0.2  # single head, 0-4 then 5-9: a lot is forgotten
    assert m["forgetting_dream_replay"] < m["forgetting_no_replay"]
    assert (tmp_path / "dreams_both_directions.png").exists()


def test_lesson_08_quick(tmp_path):
    res = course.run_lesson("08", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert m["ungated_test_accuracy"] > 0.75 and m["gated_test_accuracy"] > 0.7
    assert 0.2 < m["updates_skipped"] < 1  # the gate really closes for a good part of the examples
    assert m["surprise_correlation_beta_0.05"] > 0.95  # energy jump / β → C(s⁰) as β → 0
    assert m["surprise_correlation_beta_0.05"] >= m["surprise_correlation_beta_0.5"] - 0.01
    assert (tmp_path / "gated_vs_ungated.png").exists()


def test_surprise_gate_errors_and_masks():
    from neurophys.learning.surprise import SurpriseGate
    with pytest.raises(ValueError, match="threshold"):
        SurpriseGate(-1.0)
    with pytest.raises(ValueError, match="boost"):
        SurpriseGate(0.1, boost=0)
    s = B.xp().asarray([0.0, 0.05, 0.5])
    assert list(B.to_host(SurpriseGate(0.1).surprising(s))) == [False, False, True]
    assert all(B.to_host(SurpriseGate(None).surprising(s)))
