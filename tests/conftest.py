import os

import numpy
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from neurophys import backend as B  # noqa: E402
from browser_fixture import browser  # noqa: E402,F401  (headless Chromium for the site and dashboard tests)


@pytest.fixture
def f64():
    """Run a test on NumPy in float64 (gradient checks)."""
    with B.using("numpy"), B.precision("float64"):
        yield numpy.random.default_rng(0)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked gpu where no GPU answers."""
    if B.gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU with cupy here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
