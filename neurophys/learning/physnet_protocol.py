"""Lesson 03's repeated experiment, one *unit* per (variant, seed): document 000's two-task test.

A unit trains one network on MNIST (task 1), then on a pixel-permuted MNIST (task 2),
with one Adam for both tasks (as the document), and returns the 2×2 accuracy matrix

    R[i, j] = test accuracy on task j after training task i      (R[0, 1] is not measured: NaN)

plus timings and, on request, what the field looks like. Everything random comes from
``seed`` (initialisation and minibatch order); the permutation is one fixed draw
(``perm_seed``) shared by every unit, so the variants see the same two tasks. The
function is module-level: :func:`neurophys.sweep.run_units` (``ctx.sweep``) can run it in
this process, in a pool of processes or on Dask workers, and a resumed sweep skips the
finished units.

Variants (:data:`VARIANTS`): ``faithful`` (the document's PhysNet: 5 forward-Euler steps,
dt 0.01, no stability refusal, as its code), ``control`` (the same network with the physics
replaced by the identity), ``splitstep`` (split-step Fourier for the same time),
``moresteps`` (split-step for t = 2), ``fieldonly`` (the field as the only hidden layer, the
document's unchecked Euler), ``fieldonly_control`` and ``fieldonly_splitstep`` (the field-only
net with a stable integrator).
"""
from __future__ import annotations

import multiprocessing
import sys
import time

import numpy
from tqdm import tqdm

from .. import backend as B
from ..blocks import get_optimizer, softmax_cross_entropy_grad
from ..data import minibatch_indices
from ..models.physnet import FieldOnlyNet, PhysNet
from ..physics import gpe
from ..plots.gpe import per_class_fields
from ..validate import DivergenceError, check_finite
from .continual import evaluate
from .tasks import permuted_mnist

VARIANTS = {
    "faithful": "PhysNet, 5 forward-Euler steps, dt 0.01, a = b = 0.15 (V = -a, g = 2b), no stability refusal",
    "control": "same network, physics replaced by the identity",
    "splitstep": "split-step Fourier, 5 steps of 0.01 (same time as the document)",
    "fieldonly": "784 -> Linear -> 32x32 field -> 5 Euler steps -> |psi|^2 -> Linear -> 10",
    "moresteps": "split-step Fourier, 10 steps of 0.2 (t = 2)",
    "fieldonly_control": "the same without the physics (identity)",
    "fieldonly_splitstep": "the field-only net with split-step Fourier for the same time (stable at any field size)",
}


def build(variant: str, rng):
    """The network of ``variant`` (see :data:`VARIANTS`), initialised from ``rng``."""
    if variant == "faithful":
        return PhysNet(physics="euler", n_steps=5, dt=0.01, rng=rng, check_stability=False)
    if variant == "control":
        return PhysNet(physics="identity", rng=rng)
    if variant == "splitstep":
        return PhysNet(physics="splitstep", n_steps=5, dt=0.01, rng=rng)
    if variant == "moresteps":
        return PhysNet(physics="splitstep", n_steps=10, dt=0.2, rng=rng)
    if variant == "fieldonly":
        return FieldOnlyNet(physics="euler", n_steps=5, dt=0.01, rng=rng, check_stability=False)
    if variant == "fieldonly_control":
        return FieldOnlyNet(physics="identity", rng=rng)
    if variant == "fieldonly_splitstep":
        return FieldOnlyNet(physics="splitstep", n_steps=5, dt=0.01, rng=rng)
    raise ValueError(f"unknown variant {variant!r}; valid names are: {', '.join(VARIANTS)}")


def field_change(net, x):
    """(‖ψ_T − ψ₀‖ / ‖ψ₀‖, ‖ψ_T‖²/‖ψ₀‖² − 1, rms |ψ₀|) over a batch of images (a PhysNet)."""
    psi0, psi = net.fields(x)
    change = float(numpy.linalg.norm(B.to_host(psi - psi0)) / numpy.linalg.norm(B.to_host(psi0)))
    growth = float(B.to_host(gpe.norm(psi).sum() / gpe.norm(psi0).sum())) - 1
    rms = float(numpy.sqrt(numpy.mean(B.to_host(gpe.density(psi0)))))
    return change, growth, rms


def _bar(total, desc, show):
    """A batch counter with rate and ETA on stderr: silent when stderr is not a terminal, and in
    worker processes (units run side by side with ``--jobs``: their bars would overwrite each
    other; the sweep's own bar counts the finished units there)."""
    show = show and multiprocessing.current_process().name == "MainProcess"
    return tqdm(total=total, desc=desc, unit="batch", leave=False, file=sys.stderr,
                disable=None if show else True, dynamic_ncols=True)


def two_task_unit(variant: str, seed: int, *, n_train: int | None = None, n_test: int | None = None,
                  epochs: int = 5, batch_size: int = 128, lr: float = 1e-3, perm_seed: int = 1234,
                  field_images: int = 0, progress: bool = True) -> dict:
    """Train ``variant`` on task 1 then task 2 (``epochs`` each, Adam ``lr``, ``batch_size``), seed ``seed``.

    n_train / n_test: the first n MNIST images of each split (None: all 60 000 / 10 000).
    The initialisation draws from ``B.rng(1000 * seed)``, the minibatch order from
    ``numpy.random.default_rng(seed)``. ``field_images`` > 0 (PhysNet variants): also return
    the per-digit mean evolved field after each task on that many task-1 test images, and
    how much the trained net's field block moves its field.

    A unit whose logits turn NaN or inf stops there (checked every batch) and returns
    ``"diverged": {"task", "epoch", "batch", "message"}`` with the accuracies it never measured
    as None: a diverging network is a result of the experiment, recorded rather than trained on.

    Returns {"R": 2x2 list (R[0][1] None), "forgetting", "seconds_per_epoch" (list, wall),
    "steps_per_task", "cpu_seconds", "diverged" (None, or where it happened),
    "euler_max_dt_omega" (the unchecked Euler variants; None otherwise), and with
    ``field_images``: "field_change_trained", "field_norm_growth_trained", "field_rms_trained",
    "field_density" / "field_phase" ([task][digit] 32x32 lists)}.
    """
    c0 = time.process_time()
    tasks = permuted_mnist(n_tasks=2, n_train=n_train, n_test=n_test, seed=int(perm_seed), normalise="standard")
    net = build(variant, B.rng(1000 * int(seed)))
    opt = get_optimizer("adam", lr=float(lr))          # one optimizer for both tasks (as the document)
    shuffle = numpy.random.default_rng(int(seed))
    n = len(tasks[0].y_train)
    per_epoch = -(-n // int(batch_size))
    R = numpy.full((2, 2), numpy.nan)
    epoch_seconds, dens, phase, diverged = [], [], [], None
    probe_n = min(int(field_images), len(tasks[0].y_test))
    with _bar(2 * int(epochs) * per_epoch, f"{variant} seed {seed}", progress) as bar:
        for i, task in enumerate(tasks):
            for epoch in range(int(epochs)):
                t0 = time.perf_counter()
                for b, idx in enumerate(minibatch_indices(n, int(batch_size), rng=shuffle)):
                    try:
                        z = net.forward(task.x_train[idx])      # the GPE step refuses a NaN field itself
                        check_finite("logits", z.max(), where=f"{variant} seed {seed}, task {i + 1}, "
                                     f"epoch {epoch + 1}, batch {b + 1}", fix="lower lr or use a stable integrator")
                    except DivergenceError as err:
                        diverged = {"task": i + 1, "epoch": epoch + 1, "batch": b + 1, "message": str(err)}
                        break
                    net.backward(softmax_cross_entropy_grad(z, task.y_train[idx]))
                    opt.step(net.params, net.grads)
                    bar.update(1)
                epoch_seconds.append(time.perf_counter() - t0)
                if diverged:
                    break
            if diverged:
                break
            R[i, i] = evaluate(net, task.x_test, task.y_test)
            if i == 1:
                R[1, 0] = evaluate(net, tasks[0].x_test, tasks[0].y_test)
            if probe_n and isinstance(net, PhysNet):
                d, p = per_class_fields(net.fields(tasks[0].x_test[:probe_n])[1], tasks[0].y_test[:probe_n])
                dens.append(numpy.round(d, 6).tolist())
                phase.append(numpy.round(p, 5).tolist())
    def measured(v):
        return None if numpy.isnan(v) else float(v)

    out = {"R": [[measured(R[0, 0]), None], [measured(R[1, 0]), measured(R[1, 1])]],
           "forgetting": measured(R[0, 0] - R[1, 0]), "diverged": diverged,
           "seconds_per_epoch": [round(s, 3) for s in epoch_seconds], "steps_per_task": int(epochs) * per_epoch,
           "n_train": n, "n_test": len(tasks[0].y_test),
           "euler_max_dt_omega": (float(net["gpe"].max_dt_omega) if variant in ("faithful", "fieldonly")
                                  else None)}
    if probe_n and isinstance(net, PhysNet) and not diverged:
        change, growth, rms = field_change(net, tasks[0].x_test[:min(256, probe_n)])
        out.update(field_change_trained=change, field_norm_growth_trained=growth, field_rms_trained=rms,
                   field_density=dens, field_phase=phase)
    out["cpu_seconds"] = round(time.process_time() - c0, 2)
    return out
