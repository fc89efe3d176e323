"""Lesson 09 runs end to end (quick tier) and its numbers show learning; the default tier's bars (slow)."""
import pytest

from neurophys import course

KEYS = ("cartpole_mean_return", "cartpole_learning_steps", "random_mean_return", "heuristic_mean_return",
        "prediction_mse_model", "prediction_mse_linear", "prediction_mse_static", "pendulum_mean_return")


def test_lesson_09_quick(tmp_path):
    res = course.run_lesson("09", tier="quick", out=tmp_path)
    m = res["metrics"]
    assert all(k in m for k in KEYS)
    assert m["prediction_mse_model"] < 0.1 * m["prediction_mse_static"]     # the model learned the physics
    assert m["prediction_mse_linear"] < m["prediction_mse_static"]
    assert m["heuristic_mean_return"] > m["heuristic_original_sign_mean_return"]  # the sign correction
    assert m["cartpole_mean_return"] > m["random_mean_return"]              # planning beats chance
    assert m["cartpole_learning_steps"] <= 10_000
    for name in ("cartpole_prediction_error.png", "cartpole_returns.png", "pendulum_prediction_error.png",
                 "results.json"):
        assert (tmp_path / name).exists()
    # an evaluation episode as a GIF (gymnasium draws it with pygame, installed with gymnasium[classic-control])
    from PIL import Image
    assert m["gif_written"] is True
    with Image.open(tmp_path / "cartpole_episode.gif") as gif:
        assert gif.n_frames > 10 and gif.size[0] > 100


@pytest.mark.slow
def test_lesson_09_default_meets_the_bars(tmp_path):
    m = course.run_lesson("09", tier="default", out=tmp_path)["metrics"]
    assert m["cartpole_mean_return"] >= 475 and m["cartpole_learning_steps"] <= 10_000
    assert m["prediction_mse_model"] < m["prediction_mse_static"]
