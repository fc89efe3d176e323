"""The examples in the docstrings of the main public functions run, and print what they say.

A list of modules rather than ``--doctest-modules`` over the package: importing every module
would pull in optional dependencies (cupy through the kernels on a GPU machine, torch through
the benchmarks, pysr, gymnasium); the modules below import none of them.
"""
import doctest
import importlib
import os
import subprocess
import sys

import pytest

from neurophys import backend as B

MODULES = [
    "neurophys.backend",                 # set_backend, register_op / op
    "neurophys.physics.gpe",             # euler_step, splitstep_step, ground_state
    "neurophys.physics.mechanics",       # simulate, damped_spring
    "neurophys.models.eqprop",           # EqPropNet: relax, learn, predict
    "neurophys.models.mlp",              # MLP
    "neurophys.blocks.dense",            # Dense
    "neurophys.blocks.init",             # init_weights, uniform_fan_in
    "neurophys.blocks.sequential",       # Sequential, ReLU
    "neurophys.data.batches",            # minibatches, minibatch_indices
    "neurophys.data.augment",            # shift_images
    "neurophys.gradcheck",               # check_gradient
    "neurophys.learning.relaxation",     # relax
    "neurophys.symbolic.conserved",      # find_conserved
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    with B.using("numpy"), B.precision("float32"):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no >>> example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (run " \
                               f"`python -m doctest -v` on it to see which)"


def test_the_doctests_import_no_optional_dependency():
    code = ("import importlib, sys; [importlib.import_module(m) for m in %r]; "
            "print(sorted(m for m in ('cupy', 'torch', 'pysr', 'gymnasium') if m in sys.modules))" % MODULES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "NEUROPHYS_BACKEND"})
    assert out.stdout.strip() == "[]", out.stdout


def test_the_equation_index_names_functions_that_exist():
    """docs/equations.md: every `neurophys/x/y.py`: `name` (and P./M. shorthand) it cites resolves."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "equations.md").read_text()
    short = {"P": importlib.import_module("neurophys.physics.gpe"), "M": importlib.import_module("neurophys.physics.mechanics")}
    checked = 0
    for alias, name in re.findall(r"`([PM])\.(\w+)", text):
        assert hasattr(short[alias], name), f"{alias}.{name}"
        checked += 1
    for path, names in re.findall(r"`(neurophys/[\w/]+)\.py`: ((?:`[\w.]+`(?:, )?)+)", text):
        module = importlib.import_module(path.replace("/", "."))
        for dotted in re.findall(r"`([\w.]+)`", names):
            obj = module
            for part in dotted.split("."):
                obj = getattr(obj, part)
            checked += 1
    assert checked > 60
