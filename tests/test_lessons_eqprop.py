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
