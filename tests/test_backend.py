import numpy
import pytest

from neurophys import backend as B


def test_numpy_is_default_and_float32():
    with B.using("numpy") as xp:
        assert xp is numpy
        assert B.zeros((2, 3)).dtype == numpy.float32
        with B.precision("float64"):
            assert B.ones(3).dtype == numpy.float64
        assert B.asarray([1, 2]).dtype == numpy.float32


def test_unknown_backend_lists_valid_names():
    with pytest.raises(B.BackendError, match="valid names are: numpy, cupy"):
        B.set_backend("torch")


def test_cupy_missing_or_no_gpu_is_one_clear_error():
    if B.gpu_available():
        pytest.skip("a GPU answers here")
    with pytest.raises(B.BackendError, match="cupy"):
        B.set_backend("cupy")
    assert B.name() in B.BACKENDS  # the failed switch left a working backend


def test_env_var_selects_backend(monkeypatch):
    monkeypatch.setenv(B.ENV_VAR, "numpy")
    B._state["name"], B._state["xp"] = None, None
    assert B.name() == "numpy"


def test_rng_is_seeded_and_to_host():
    with B.using("numpy"):
        a = B.rng(3).standard_normal(5)
        b = B.rng(3).standard_normal(5)
        assert numpy.array_equal(B.to_host(a), B.to_host(b))
        assert isinstance(B.to_host(numpy.float32(2.0)), float)


def test_check_finite_names_the_input():
    with pytest.raises(ValueError, match="weights contains NaN"):
        B.check_finite("weights", numpy.array([1.0, numpy.nan]))
