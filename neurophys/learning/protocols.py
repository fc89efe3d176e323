"""The repeated experiments of the continual-learning lessons, one *unit* each.

Each function here runs one unit of a sweep (:func:`neurophys.sweep.run_units`):
a method or variant on one seed, from nothing but its arguments, and returns a
dict of JSON-able measurements. Everything random in a unit is derived from its
``seed`` (initialisation, pixel permutations, minibatch order, the strategies'
own draws), so a unit gives the same numbers whether it runs alone, in a pool of
processes or on a Dask worker. A lesson binds its tier's settings with
``functools.partial`` (JSON-able keyword arguments) and passes the partial to
``ctx.sweep``; the functions are module-level, so they pickle by reference.

- :func:`continual_unit` — lesson 04 (and 05's permuted-MNIST bench): one
  strategy on a sequence of permuted-MNIST tasks, the accuracy matrix R.
- :func:`dlm_forgetting_unit` — lesson 05: document 003's two-task forgetting
  test for the DLM, the standard net and the two controls, on one seed.
- :func:`dlm_spectrum_unit` — lesson 05: the noise-spectrum slopes of one seed.
"""
from __future__ import annotations

import time

import numpy

from .. import backend as B
from ..blocks import Adam
from ..models.dlm import DissipativeLearningMachine, standard_network
from ..models.mlp import MLP
from .continual import get_strategy, train_sequence
from .doc003 import (DOC003_DLM, DOC003_SIZES, doc003_tasks, forgetting_trial, free_run_activity,
                     original_fft_slope, train_full_batch, training_activity, two_task_forgetting)
from .spectrum import psd_slope
from .tasks import gaussian_clusters, permuted_mnist
from .torch_stream import TorchCPUStream


# ------------------------------------------------------------------ lesson 04: strategies on permuted MNIST
def strategy_kwargs(method: str, seed: int, method_kwargs: dict | None = None) -> dict:
    """The strategy's keyword arguments with its own random draws tied to the unit's seed
    (EWC's Fisher sample, the replay reservoir, joint training's subsets)."""
    kw = dict((method_kwargs or {}).get(method, {}))
    if method in ("ewc", "replay", "joint"):
        kw.setdefault("seed", int(seed))
    return kw


def continual_unit(method: str, seed: int, *, n_tasks: int = 10, n_train: int = 2000, n_test: int = 1000,
                   hidden: int = 256, epochs: int = 5, lr: float = 1e-3, batch_size: int = 64,
                   model: str = "mlp", method_kwargs: dict | None = None) -> dict:
    """One continual-learning run: ``method`` on ``n_tasks`` permuted-MNIST tasks, seed ``seed``.

    Seed s draws the task permutations, the initialisation of a 784-h-h-10 ReLU MLP (or, with
    ``model="dlm"``, document 003's DLM with the entropy term coupled), the minibatch order and
    the strategy's own draws. One Adam for the whole sequence (as document 000).
    Returns {"R": the T x T accuracy matrix (list of lists), "cpu_seconds"}.
    """
    c0 = time.process_time()
    tasks = permuted_mnist(int(n_tasks), n_train=n_train, n_test=n_test, seed=int(seed))
    sizes = [784, int(hidden), int(hidden), 10]
    if model == "mlp":
        net = MLP(sizes, activation="relu", rng=B.rng(seed))
    elif model == "dlm":
        net = DissipativeLearningMachine(sizes, **DOC003_DLM, entropy_coupling="coupled", rng=B.rng(seed))
    else:
        raise ValueError(f"model must be 'mlp' or 'dlm', got {model!r}")
    strategy = get_strategy(method, **strategy_kwargs(method, seed, method_kwargs))
    result = train_sequence(net, tasks, strategy, epochs=int(epochs), batch_size=int(batch_size),
                            optimizer="adam", lr=float(lr), rng=int(seed), reset_optimizer=False)
    return {"R": numpy.asarray(result.R).tolist(), "cpu_seconds": round(time.process_time() - c0, 2)}


# ------------------------------------------------------------------ lesson 05: document 003's forgetting test
DLM_FORGETTING_VARIANTS = ("paired", "coupled", "controls")


def dlm_forgetting_unit(variant: str, seed: int, epochs: int = 50) -> dict:
    """Document 003's two-task forgetting test on seed ``seed`` (TorchCPUStream(seed) replays
    ``torch.manual_seed(seed)``), same two tasks for every seed.

    variant "paired": the DLM (entropy term detached, as the original) and the standard net,
      both initialised from the one stream, in the original's order → dlm, std.
    variant "coupled": the same DLM with the entropy term coupled → dlm_coupled.
    variant "controls": the standard net with the DLM's N(0, 0.01²) initialisation, and the DLM
      with its dynamics off (T = ε = κ = 0) → std_smallinit, dlm_nodynamics.
    Returns {name: forgetting} (acc₁ after task 1 − acc₁ after task 2) and each net's accuracies.
    """
    tasks = doc003_tasks()
    out = {}
    if variant == "paired":
        r = forgetting_trial(int(seed), tasks, entropy_coupling="detached", epochs=epochs)
        runs = {"dlm": r["dlm"], "std": r["std"]}
    elif variant == "coupled":
        runs = {"dlm_coupled": forgetting_trial(int(seed), tasks, entropy_coupling="coupled", epochs=epochs)["dlm"]}
    elif variant == "controls":
        net = standard_network(DOC003_SIZES, rng=TorchCPUStream(int(seed)), init_std=0.01)
        still = DissipativeLearningMachine(DOC003_SIZES, temperature=0.0, energy_injection_rate=0.0,
                                           current_strength=0.0, dissipation_rate=0.02, entropy_coupling="detached",
                                           rng=TorchCPUStream(int(seed)))
        runs = {"std_smallinit": two_task_forgetting(net, *tasks, epochs=epochs),
                "dlm_nodynamics": two_task_forgetting(still, *tasks, epochs=epochs)}
    else:
        raise ValueError(f"variant must be one of {DLM_FORGETTING_VARIANTS}, got {variant!r}")
    for name, res in runs.items():
        out[name] = res["forgetting"]
        out[f"{name}_task1_before"], out[f"{name}_task1_after"] = res["task1_before"], res["task1_after"]
        out[f"{name}_task2"] = res["task2"]
    return out


def dlm_spectrum_unit(seed: int, n_steps: int = 2048, n_exp1: int = 100, band=(0.008, 0.1),
                      nperseg: int = 256) -> dict:
    """The noise spectrum of seed ``seed`` in lesson 05's two protocols.

    Data: 500 samples of document 003's seed-42 recipe. Stream TorchCPUStream(1000 + seed) draws
    the probe input and every net. Free run (the document's protocol): a DLM trained ``n_exp1``
    full-batch epochs, then its mean output on the probe over ``n_steps`` steps of its weight
    dynamics; the standard net trained the same way has a constant output (its std over 50 probe
    forwards is reported). During training: a fresh DLM and a fresh standard net, the probe's
    output after each of ``n_steps`` full-batch Adam steps. Slopes from Welch spectra over ``band``;
    ``curves`` holds the three spectra (f, P, slope) for a figure.
    """
    X, y = gaussian_clusters(500, 20, 5, rng=TorchCPUStream(42))
    X, y = B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)
    s = TorchCPUStream(1000 + int(seed))
    probe = B.asarray(s.randn((1, 20)), dtype=B.float_dtype())
    d = DissipativeLearningMachine(DOC003_SIZES, **DOC003_DLM, entropy_coupling="detached", rng=s)
    train_full_batch(d, X, y, n_exp1, Adam(lr=0.01))
    a_free = free_run_activity(d, probe, n_steps)
    free_fft = original_fft_slope(a_free[:500])
    sl, f, P = psd_slope(a_free, tuple(band), nperseg)
    sn = standard_network(DOC003_SIZES, rng=s)
    train_full_batch(sn, X, y, n_exp1, Adam(lr=0.01))
    std_free_sd = float(numpy.std([float(sn.forward(probe).mean()) for _ in range(50)]))
    d2 = DissipativeLearningMachine(DOC003_SIZES, **DOC003_DLM, entropy_coupling="detached", rng=s)
    sl2, f2, P2 = psd_slope(training_activity(d2, X, y, probe, n_steps), tuple(band), nperseg)
    sn2 = standard_network(DOC003_SIZES, rng=s)
    sl3, f3, P3 = psd_slope(training_activity(sn2, X, y, probe, n_steps), tuple(band), nperseg)
    return {"dlm_free": sl, "dlm_free_fft_original": free_fft, "dlm_training": sl2, "std_training": sl3,
            "std_free_output_std": std_free_sd,
            "curves": {"DLM, free run": [f, P, sl], "DLM, during training": [f2, P2, sl2],
                       "standard, during training": [f3, P3, sl3]}}
