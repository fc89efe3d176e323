"""Document 003's experiment protocols, for the Dissipative Learning Machine and its comparison net.

The model is :class:`neurophys.models.dlm.DissipativeLearningMachine` (and
:func:`neurophys.models.dlm.standard_network`); this module holds what the document *does*
with it, number for number where it can be replayed:

- :func:`train_full_batch` — the schedule: full-batch epochs, each an optimizer step and a
  step of the DLM's weight dynamics;
- :func:`two_task_forgetting` — the forgetting test, forgetting = acc₁(after task 1) − acc₁(after task 2);
- :func:`free_run_activity`, :func:`original_fft_slope` — ``analyze_noise_spectrum``: the mean
  output on a fixed probe while the weights evolve, and the slope of its |FFT|² periodogram;
- :func:`training_activity` — the same probe during training (lesson 05's second protocol);
- :func:`doc003_tasks`, :func:`forgetting_trial`, :func:`replay_original_main` — the document's
  data, one paired trial, and its ``main()`` replayed on PyTorch's random stream
  (:class:`~neurophys.learning.torch_stream.TorchCPUStream`).
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import validate as V
from ..blocks import Adam, softmax_cross_entropy_grad
from ..models.dlm import DissipativeLearningMachine, standard_network
from .tasks import gaussian_clusters
from .torch_stream import TorchCPUStream


def train_full_batch(net, x, y, epochs: int, opt) -> dict:
    """Document 003's schedule: ``epochs`` calls of ``net.learn(x, y, opt)`` with the full batch,
    i.e. forward → ∂L/∂θ → optimizer step → ``after_update`` (the DLM's weight dynamics).
    Returns the loss (the model's objective) and the accuracy of each epoch's forward pass
    (as the original logs them). A diverging run raises :class:`~neurophys.validate.DivergenceError`."""
    log = {"loss": [], "acc": []}
    for e in range(V.positive_int("epochs", epochs)):
        info = net.learn(x, y, opt, where=f"epoch {e}")
        log["loss"].append(info["objective"])
        log["acc"].append(info["acc"])
    return log


def two_task_forgetting(net, task1, task2, epochs: int = 50, lr: float = 0.01) -> dict:
    """Document 003's forgetting test: Adam(lr) full batch, ``epochs`` on task 1, then on task 2
    (one optimizer for both), accuracy measured on the training data.

        forgetting = acc₁(after task 1) − acc₁(after task 2)
    """
    (x1, y1), (x2, y2) = task1, task2
    opt = Adam(lr=lr)
    train_full_batch(net, x1, y1, epochs, opt)
    acc1_before = float((net.forward(x1).argmax(axis=1) == y1).mean())
    train_full_batch(net, x2, y2, epochs, opt)
    acc1_after = float((net.forward(x1).argmax(axis=1) == y1).mean())
    acc2 = float((net.forward(x2).argmax(axis=1) == y2).mean())
    return {"task1_before": acc1_before, "task1_after": acc1_after, "task2": acc2,
            "forgetting": acc1_before - acc1_after}


# ------------------------------------------------------------------ the noise spectrum
def free_run_activity(dlm: DissipativeLearningMachine, x_probe, n_steps: int, dt: float = 0.01):
    """Document 003's ``analyze_noise_spectrum`` protocol: a fixed probe input, and per step
    the mean output a(t) = ⟨DLM(x_probe)⟩ followed by one step of the weight dynamics
    (with the gradient of the last training step still in place, as in the original).
    Returns a(t) as a NumPy vector."""
    a = numpy.empty(int(n_steps))
    for t in range(int(n_steps)):
        a[t] = float(dlm.forward(x_probe).mean())
        dlm.step_dynamics(dt)
    return a


def original_fft_slope(series) -> float:
    """The original's slope: |FFT|² periodogram, positive frequencies f_k = k/N, a straight
    line through log10 P vs log10 f over the positive-frequency entries 1..49 (k = 2..50)."""
    series = numpy.asarray(series, dtype=float)
    power = numpy.abs(numpy.fft.fft(series)) ** 2
    freqs = numpy.fft.fftfreq(len(series))
    pos = freqs > 0
    f, P = freqs[pos][1:50], power[pos][1:50]
    return float(numpy.polyfit(numpy.log10(f), numpy.log10(P + 1e-10), 1)[0])


# ------------------------------------------------------------------ the original run, replayed
DOC003_SIZES = (20, 64, 32, 5)
DOC003_DLM = dict(temperature=0.5, dissipation_rate=0.02, energy_injection_rate=0.05)


def doc003_tasks():
    """Document 003's two tasks exactly: ``torch.manual_seed(42)`` / ``(123)`` then its recipe,
    replayed on :class:`~neurophys.learning.torch_stream.TorchCPUStream`. Returns ((X1, y1), (X2, y2))."""
    out = []
    for seed in (42, 123):
        X, y = gaussian_clusters(300, 20, 5, rng=TorchCPUStream(seed))
        out.append((B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)))
    return tuple(out)


def forgetting_trial(seed: int, tasks=None, entropy_coupling: str = "detached", epochs: int = 50) -> dict:
    """One paired trial: a DLM and a standard net initialised from the PyTorch stream of ``seed``
    (as if ``torch.manual_seed(seed)`` preceded the original's experiment 2), trained on the same
    two tasks; the DLM's thermal kicks continue on that stream. Returns both results."""
    tasks = doc003_tasks() if tasks is None else tasks
    s = TorchCPUStream(seed)
    dlm = DissipativeLearningMachine(DOC003_SIZES, **DOC003_DLM, entropy_coupling=entropy_coupling, rng=s)
    std = standard_network(DOC003_SIZES, rng=s)
    return {"dlm": two_task_forgetting(dlm, *tasks, epochs=epochs),
            "std": two_task_forgetting(std, *tasks, epochs=epochs), "dlm_model": dlm}


def training_activity(net, x, y, x_probe, n_steps: int, lr: float = 0.01):
    """a(t) = mean output on a fixed probe, recorded after each of ``n_steps`` full-batch Adam steps
    on (x, y) (the DLM also runs its weight dynamics). The probe forward of a DLM leaves its
    currents alone but does draw fresh thermal weight noise. Returns a NumPy vector."""
    opt = Adam(lr=lr)
    is_dlm = isinstance(net, DissipativeLearningMachine)
    a = numpy.empty(int(n_steps))
    for t in range(int(n_steps)):
        z = net.forward(x)
        net.backward(softmax_cross_entropy_grad(z, y))
        opt.step(net.params, net.grads)
        if is_dlm:
            net.after_update()
            a[t] = float(net.forward(x_probe, track_currents=False).mean())
        else:
            a[t] = float(net.forward(x_probe).mean())
    return a


def replay_original_main(entropy_coupling: str = "detached", n_spectrum: int = 500,
                         exp1_seed: int = 67280421310721) -> dict:
    """Document 003's ``main()`` re-run number for number on PyTorch's random stream.

    The original draws everything from torch's global generator, so the run is
    fixed: experiment 1 (a DLM and a standard net, 500 samples of seed-42 data,
    100 full-batch epochs) → fresh nets for experiment 2 (initialised from the
    stream as experiment 1 left it) → task data re-seeded 42 and 123 → 50 + 50
    epochs → experiment 3 (the spectrum of experiment 1's DLM, 500 steps).
    :class:`~neurophys.learning.torch_stream.TorchCPUStream` replays that stream.

    One part is not fixed: experiment 1's two nets are built *before* the first
    ``manual_seed``, from whatever seed PyTorch started with (a fresh process
    draws it at random), and experiment 3 analyses that DLM. So experiments 1
    and 3 differ from run to run of the original; ``exp1_seed`` picks one
    (default: PyTorch's documented default seed). Experiment 2 — the forgetting
    numbers — does not depend on it.

    Returns the forgetting of both nets, their accuracies, experiment 1's final
    accuracies, the probe series of experiment 3 and its slope computed as in the
    original (:func:`original_fft_slope`).
    """

    def data(n, seed):
        s.manual_seed(seed)
        X, y = gaussian_clusters(n, 20, 5, rng=s)
        return B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)

    s = TorchCPUStream(int(exp1_seed) & 0xFFFFFFFF)
    kw = dict(DOC003_DLM, entropy_coupling=entropy_coupling, rng=s)
    dlm1 = DissipativeLearningMachine(DOC003_SIZES, **kw)              # experiment 1
    std1 = standard_network(DOC003_SIZES, rng=s)
    X, y = data(500, 42)
    opt_d, opt_s = Adam(lr=0.01), Adam(lr=0.01)
    log_d = train_full_batch(dlm1, X, y, 100, opt_d)
    log_s = train_full_batch(std1, X, y, 100, opt_s)
    exp1 = {"dlm_acc": log_d["acc"][-1], "std_acc": log_s["acc"][-1], "dlm_loss": log_d["loss"],
            "std_loss": log_s["loss"]}
    dlm2 = DissipativeLearningMachine(DOC003_SIZES, **kw)              # experiment 2
    std2 = standard_network(DOC003_SIZES, rng=s)
    t1, t2 = data(300, 42), data(300, 123)
    d = two_task_forgetting(dlm2, t1, t2)
    st = two_task_forgetting(std2, t1, t2)
    x_probe = B.asarray(s.randn((1, 20)), dtype=B.float_dtype())    # experiment 3
    series = free_run_activity(dlm1, x_probe, n_spectrum)
    return {"dlm": d, "std": st, "exp1": exp1, "series": series, "fft_slope": original_fft_slope(series)}
