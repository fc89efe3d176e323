# %% [markdown]
# # Lesson 13 — The physics on a GPU: kernels and speed
#
# **Question.** Two loops dominate the time of this course: the Gross–Pitaevskii step
# (lessons 02–03) and the Equilibrium-Propagation relaxation (lessons 06–09). Can we write
# them as hand-made CUDA kernels that compute *exactly* what the NumPy code computes, and
# how does neurophys compare with the engine its users would otherwise pick, PyTorch?
#
# **Physics of a time step, seen as data movement.** One forward-Euler step
#
#     ψ' = ψ − i dt [−½∇²ψ + (V + g|ψ|²)ψ]
#
# does about 30 floating-point operations per grid point but must read ψ and write ψ'
# (16 bytes per point in complex64). On any modern processor that is *memory-bound*: the
# time is set by bytes moved, not by arithmetic. NumPy evaluates the expression one
# operator at a time, and each operator (each `roll`, `+`, `*`) is a full pass over the
# field with a temporary array. A **fused kernel** does the whole right-hand side in one
# pass: each point is read once and written once. When the field is small (document 000's
# 32×32), a block of GPU threads can keep the whole field in on-chip *shared memory* and
# take **many steps per launch**, touching global memory only at the start and the end.
#
# The EqProp relaxation is the same story at a different scale: 30 synchronous steps
#
#     s_l ← clip(s_l − ε [s_l − ρ'(s_l)(ρ(s_{l−1})W_{l−1} + b + ρ(s_{l+1})W_lᵀ) + β(s_l − t)], 0, 1)
#
# on layers of 500 and 10 units. In PyTorch (document 004's own code) each step is a
# handful of tiny kernel launches; at batch ≤ 128 the GPU sits idle between them. The fused
# kernel gives each block a tile of examples, keeps their states in shared memory (two
# copies, for the synchronous update) and runs all steps in one launch.
#
# What is in `neurophys/kernels/`:
#
# | kernel | what it fuses |
# |---|---|
# | `gpe_euler_step` | Laplacian + nonlinearity + update, one launch per step, any grid |
# | `gpe_euler_multistep` | n Euler steps per launch, field in shared memory (fields ≤ 48 KiB) |
# | `gpe_euler_adjoint_(multi)step` | the hand-written adjoint (∂L/∂ψ, ∂L/∂V, ∂L/∂g, ∂L/∂dt) |
# | `gpe_potential_step` / `_adjoint` | the split-step's real-space half step (the FFTs are cuFFT's) |
# | `eqprop_relax` | n synchronous relaxation steps per launch, a tile of examples per block |
# | `eqprop_weight_grad` | ρ, the nudged-minus-free outer products and the scaling in one pass |
#
# Selection: physics and models call named operations (`B.op("gpe.evolve")`,
# `B.op("eqprop.relax_steps")`, ...) and never import the kernels; selecting the cupy backend
# imports `neurophys.kernels`, which registers the kernels (`neurophys.kernels.dispatch`) as the
# cupy implementations; on numpy the reference runs. A case a kernel does not cover falls back
# with a warning that says why, and a kernel asked for on the numpy backend fails with a message
# saying so. `B.registered_ops()` lists the operations and the backends that implement them.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy

from neurophys import backend as B
from neurophys import course, files
from neurophys.kernels import dispatch as D
from neurophys.kernels import eqprop as KE
from neurophys.kernels import gpe as KG
from neurophys.kernels import loader
from neurophys.kernels.emulate import find_compiler
from neurophys.models import eqprop as M
from neurophys.physics import gpe as P

ctx = course.start("13")
metrics, settings = {}, {}

# %% [markdown]
# ## 1. How many times does NumPy sweep the field per Euler step?
# We time one NumPy Euler step on document 000's block (128 fields of 32×32) and compare it
# with the time to copy the field once (one read + one write: the least any step can cost).
# The ratio is the number of "field copies" the operator-by-operator evaluation costs; a
# fused kernel costs one.

# %%
def best_time(fn, repeat=15):
    """The fastest of ``repeat`` runs: the one least disturbed by other programs on the machine."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        B.synchronize()
        times.append(time.perf_counter() - t0)
    return float(numpy.min(times))


prm = P.document_params()  # V = −a, g = 2b with a = b = 0.15
rng = numpy.random.default_rng(ctx.seed)
batch = ctx.pick(quick=16, default=128, full=128)
with B.using("numpy"):
    psi = (rng.normal(size=(batch, 32, 32)) + 1j * rng.normal(size=(batch, 32, 32))).astype(numpy.complex64)
    t_step = best_time(lambda: P.euler_step(psi, 0.01, prm["V"], prm["g"], check=False))
    t_copy = best_time(lambda: psi.copy())
metrics["numpy_euler_step_in_field_copies"] = t_step / t_copy
settings["euler_block"] = f"{batch}x32x32 complex64, dt 0.01, V={prm['V']}, g={prm['g']}"
ctx.log(f"NumPy Euler step: {1e3 * t_step:.3f} ms = {t_step / t_copy:.1f} field copies "
        f"(copy {1e3 * t_copy:.3f} ms)")

# %% [markdown]
# ## 2. Proving the kernels right without a GPU
# CI machines have no GPU, so the *same* kernel source is also compiled for the CPU with g++
# through `host_emulation.h`, which stands in for `threadIdx`, `blockIdx`, shared memory and
# `__syncthreads()` (each CUDA thread becomes a coroutine; a barrier really waits for every
# thread of the block). The Python launch code — grid sizes, argument order, shared-memory
# sizes — is the one that runs on the GPU. We compare, in float64, with the NumPy reference.

# %%
errors = {}
have_cxx = find_compiler() is not None
if have_cxx:
    with B.using("numpy"), B.precision("float64"), loader.host_emulation():
        r = numpy.random.default_rng(1)
        psi64 = (r.normal(size=(4, 32, 32)) + 1j * r.normal(size=(4, 32, 32))) * 0.5
        G64 = r.normal(size=psi64.shape) + 1j * r.normal(size=psi64.shape)
        for scheme in ("euler", "splitstep"):
            ref, tape = P.evolve(psi64, 5, 0.01, prm["V"], prm["g"], scheme=scheme)
            G_ref, g_ref = P.evolve_backward(tape, G64)
            out, ktape = D.gpe_evolve(psi64, 5, 0.01, prm["V"], prm["g"], scheme=scheme)
            G, g = D.gpe_evolve_backward(ktape, G64)
            errors[f"{scheme}_forward"] = float(numpy.abs(out - ref).max())
            errors[f"{scheme}_adjoint"] = float(numpy.abs(G - G_ref).max())
            errors[f"{scheme}_dL_dg"] = abs(g["g"] - g_ref["g"]) / abs(g_ref["g"])
            if scheme == "euler":
                field_ref, field_kernel = ref, out
        net = M.EqPropNet([784, 64, 10], energy="raw", eps=0.5, beta=1.0, nudging="one-sided", rng=B.rng(0))
        x = r.random((16, 784))
        t = numpy.eye(10)[r.integers(0, 10, 16)]
        s = net.init_states(x)
        free, (lo, hi) = [False, True, True], net.box()
        const = [None, net.b[0] + x @ net.W[0], None]
        ref_s = list(s)
        for _ in range(30):
            ref_s = M.relax_step(ref_s, net.W, net.b, free, net.rho, net.drho, 0.5, 0.0, None, -1, const, lo, hi)
        k_s = D.eqprop_relax_steps(s, net.W, net.b, free, net.rho, net.drho, 0.5, 0.0, None, -1, const, lo, hi,
                                   n_steps=30)
        errors["eqprop_relax"] = float(max(numpy.abs(k_s[l] - ref_s[l]).max() for l in (1, 2)))
        s_free = net.free_phase(x)
        g_ref, s_plus = net.eqprop_gradient(s_free, t)
        g_k = D.eqprop_weight_grads(net, s_plus, s_free, net.beta * len(x))
        errors["eqprop_weight_grad"] = float(max(numpy.abs(g_k[k] - g_ref[k]).max() for k in g_ref))
    for k, v in errors.items():
        ctx.log(f"host-emulated kernel vs NumPy, {k}: {v:.2e}")
        metrics[f"emulated_{k}_error"] = v
else:
    ctx.log("no host C++ compiler: the emulated parity check is skipped")

# %% [markdown]
# The errors are at the level of float64 round-off (1e-16 .. 1e-14), often exactly zero: the
# host build computes the same numbers as the library, operation for operation (it rounds
# each `*` and `+` separately, as NumPy does — bit for bit, even in float32). A GPU build
# rounds differently: nvcc contracts `a*b + c` into one fused multiply-add. The emulation can
# do the same (`host_emulation(fma=True)`), so we let a vortex in a harmonic trap turn for
# 200 Euler steps in complex64 through the fused kernel (all 200 steps in one launch, the
# field in shared memory) rounding like a GPU, and through NumPy, and map where and how much
# they differ. This is the size of difference the float32 GPU parity tests must tolerate.

# %%
if have_cxx:
    n_vortex = ctx.pick(quick=40, default=200, full=200)
    with B.using("numpy"), B.precision("float32"):
        X, Y = P.grid(32)
        V_trap = P.harmonic_trap(X, Y, omega=0.15)
        psi_v = P.normalise(P.imprint_vortex(P.gaussian(X, Y, width=5.0), X, Y, core=1.5), N=40.0)
        ref_v, _ = P.evolve(psi_v, n_vortex, 0.02, V_trap, 0.5, scheme="euler")
        with loader.host_emulation(fma=True):  # round as a GPU does: a*b + c fused
            ker_v, _ = KG.euler_steps(psi_v[None], 0.02, n_vortex, V_trap, 0.5)
        ker_v = ker_v[0]
    rel32 = float(numpy.abs(ker_v - ref_v).max() / numpy.abs(ref_v).max())
    metrics["emulated_euler_float32_vortex_rel_error"] = rel32
    ctx.log(f"float32 vortex, {n_vortex} fused Euler steps: max |kernel - NumPy| / max|psi| = {rel32:.2e}")
    fig, ax = plt.subplots(1, 3, figsize=(11.5, 3.4))
    im = ax[0].imshow(numpy.abs(ker_v) ** 2, cmap="magma")
    ax[0].set_title(f"|ψ|², kernel, {n_vortex} steps (float32)")
    fig.colorbar(im, ax=ax[0], shrink=0.8)
    im = ax[1].imshow(numpy.angle(ker_v), cmap="twilight")
    ax[1].set_title("phase arg ψ (the vortex)")
    fig.colorbar(im, ax=ax[1], shrink=0.8)
    im = ax[2].imshow(numpy.log10(numpy.abs(ker_v - ref_v) + 1e-12), cmap="viridis")
    ax[2].set_title("log10 |ψ_kernel − ψ_NumPy|")
    fig.colorbar(im, ax=ax[2], shrink=0.8)
    for a in ax:
        a.set_xticks([]), a.set_yticks([])
    fig.suptitle(f"float64, NumPy-like rounding: max difference {errors['euler_forward']:.1e} (5 steps); "
                 f"float32, GPU-like FMA rounding: {rel32:.1e} of max|ψ| after {n_vortex} steps", fontsize=9)
    ctx.savefig(fig, "parity.png")

# %% [markdown]
# ## 3. neurophys against PyTorch on this CPU
# The benchmark suite (`python -m benchmarks.run`) times the same computations in neurophys
# and in PyTorch (`benchmarks/torch_ref.py`) side by side, with the same number of threads.
# Here we run it at this tier's size. *speedup* = PyTorch time / neurophys time; ≥ 1 means
# neurophys is at least as fast. (Epoch rows time a few batches and scale to 60,000 images.)

# %%
from benchmarks import run as bench  # noqa: E402  (PyTorch lives in benchmarks/, the peer we measure against)

torch = bench.load_torch()  # the `bench` extra: not installed everywhere
if torch is None:
    bench = None
    ctx.log("PyTorch not available; install the bench extra (pip install -e '.[bench]') for the comparison")

cpu_rows = []
if bench is not None:
    torch.set_num_threads(1)  # NumPy's BLAS runs as the runner sets it; one thread each is the fair default
    settings["torch"] = torch.__version__
    settings["cpu"] = bench.cpu_name()
    reps = ctx.pick(quick=2, default=5, full=7)
    rows_to_run = [lambda: bench.bench_gpe_layer(torch, "cpu", "euler", batch=batch, repeat=reps),
                   lambda: bench.bench_gpe_layer(torch, "cpu", "splitstep", batch=batch, repeat=reps),
                   lambda: bench.bench_eqprop_relax(torch, "cpu", batch=ctx.pick(quick=32, default=128), repeat=reps)]
    if not ctx.quick:
        rows_to_run += [lambda: bench.bench_physnet_epoch(torch, "cpu", n_batches=ctx.pick(default=4, full=0)),
                        lambda: bench.bench_eqprop_epoch(torch, "cpu", n_batches=ctx.pick(default=20, full=0))]
    with B.using("numpy"):
        for run_row in ctx.progress(rows_to_run, desc="CPU benchmarks", unit="row"):
            cpu_rows.append(run_row())
    print(bench.format_table(cpu_rows))
    keys = ["gpe_layer_euler", "gpe_layer_splitstep", "eqprop_relax", "lesson03_epoch", "lesson06_epoch"]
    for key, r in zip(keys, cpu_rows):
        metrics[f"cpu_speedup_{key}"] = r["speedup"]
    # the CPU bar: neurophys at least as fast as PyTorch CPU on each benchmark
    metrics["cpu_bar_met"] = bool(all(r["speedup"] >= 1.0 for r in cpu_rows))
    metrics["cpu_benchmarks_at_least_as_fast"] = int(sum(r["speedup"] >= 1.0 for r in cpu_rows))
    metrics["cpu_benchmarks"] = len(cpu_rows)
    import os  # noqa: E402
    settings["load_average_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    files.write_json(ctx.out / "benchmark_cpu.json", {"rows": cpu_rows, "settings": settings})

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * len(cpu_rows)))
    names = [r["name"] for r in cpu_rows]
    speed = [r["speedup"] for r in cpu_rows]
    ax.barh(range(len(speed)), speed, color=["tab:green" if v >= 1 else "tab:red" for v in speed])
    ax.axvline(1.0, color="k", lw=1)
    for i, v in enumerate(speed):
        ax.text(v, i, f" {v:.2f}×", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlim(0, max(1.5, 1.25 * max(speed)))
    ax.set_xlabel("PyTorch time / neurophys time  (> 1: neurophys faster)")
    ax.set_title(f"CPU, 1 thread each: {settings['cpu']}")
    ax.invert_yaxis()
    ctx.savefig(fig, "cpu_speedups.png")

# %% [markdown]
# ## 4. On a GPU
# Where a GPU answers (`--backend cupy`, or any run on a machine with cupy and a GPU), the
# same script checks the real kernels against NumPy in float32 and runs the GPU suite:
# the fused kernels against PyTorch CUDA eager, the EqProp relaxation's speedup at batch 32
# and 128 (the bar: ≥ 10×), and the fraction of the GPU's memory bandwidth that the
# one-step Euler kernel reaches (bar: ≥ 60 %). Where none answers, nothing is measured and
# the live metrics say so (None); the last GPU run committed to the repository
# (`benchmarks/results/gpu.json`, written by `benchmarks/gpu_session.sh` on a GPU machine) is
# shown instead and recorded under `stored_*`, with its date and card. No GPU number in this
# course is written by hand.

# %%
def gpu_summary(rows, meta) -> dict:
    """The GPU bars from the GPU suite's rows: EqProp relaxation speedup at each batch
    (bar: >= 10x PyTorch CUDA eager) and the Euler step's fraction of nominal memory bandwidth (bar: >= 60 %)."""
    out = {"gpu": meta.get("gpu"), "gpu_date": meta.get("date")}
    for r_ in rows:
        if "Euler step kernel" in r_["name"]:
            out["gpu_euler_bandwidth_fraction"] = r_.get("fraction_of_nominal_bandwidth")
            out["gpu_euler_fraction_of_copy"] = r_.get("fraction_of_copy_bandwidth")
        if "EqProp relaxation" in r_["name"]:
            out[f"gpu_relax_speedup_batch{r_['name'].split('batch ')[1].split(',')[0]}"] = r_["speedup"]
        if r_["name"].startswith("Lesson 03 epoch"):
            out["gpu_speedup_lesson03_epoch"] = r_["speedup"]
        if r_["name"].startswith("Lesson 06 epoch"):
            out["gpu_speedup_lesson06_epoch"] = r_["speedup"]
    relax = [v for k, v in out.items() if k.startswith("gpu_relax_speedup_batch")]
    out["gpu_bar_relax_10x_met"] = bool(min(relax) >= 10.0) if relax and None not in relax else None
    frac = out.get("gpu_euler_bandwidth_fraction")
    out["gpu_bar_euler_60pct_bandwidth_met"] = None if frac is None else bool(frac >= 0.6)
    return out


metrics["gpu"] = None
metrics["gpu_bar_relax_10x_met"] = None      # set only where a GPU ran (section 4)
metrics["gpu_bar_euler_60pct_bandwidth_met"] = None
if B.gpu_available():
    with B.using("cupy") as cp:
        r = numpy.random.default_rng(2)
        psi_h = ((r.normal(size=(8, 32, 32)) + 1j * r.normal(size=(8, 32, 32))) * 0.5).astype(numpy.complex64)
        G_h = (r.normal(size=psi_h.shape) + 1j * r.normal(size=psi_h.shape)).astype(numpy.complex64)
        with B.using("numpy"):
            ref, tape = P.evolve(psi_h, 5, 0.01, prm["V"], prm["g"], scheme="euler")
            G_ref, _ = P.evolve_backward(tape, G_h)
        out, ktape = D.gpe_evolve(cp.asarray(psi_h), 5, 0.01, prm["V"], prm["g"], scheme="euler", use_kernels=True)
        G, _ = D.gpe_evolve_backward(ktape, cp.asarray(G_h))
        metrics["gpu_euler_forward_error"] = float(numpy.abs(B.to_host(out) - ref).max())
        metrics["gpu_euler_adjoint_error"] = float(numpy.abs(B.to_host(G) - G_ref).max())
    if bench is not None:
        gpu_rows, meta = bench.run_gpu(quick=ctx.quick, batches=ctx.pick(quick=2, default=4, full=0),
                                       repeat=ctx.pick(quick=2, default=5, full=7))
        print(bench.format_table(gpu_rows))
        metrics.update(gpu_summary(gpu_rows, meta))
        files.write_json(ctx.out / "benchmark_gpu.json", {"rows": gpu_rows, "meta": meta})
else:
    ctx.log("no GPU answers here: the GPU parity check and the GPU benchmarks were not run")
    stored = course.REPO_ROOT / "benchmarks" / "results" / "gpu.json"
    if stored.exists():
        old = files.read_json(stored)
        ctx.log(f"stored GPU results from {old['meta'].get('date')} on {old['meta'].get('gpu')} "
                "(not re-measured in this run; recorded under stored_*):")
        if bench is not None:
            print(bench.format_table(old["rows"]))
        metrics.update({f"stored_{k}": v for k, v in gpu_summary(old["rows"], old["meta"]).items()})

# %% [markdown]
# ## What it means
# * The kernels are **right**: on the CPU their arithmetic matches the library to float64
#   round-off, forward and backward, through the same launch code that runs on a GPU; the
#   adjoints pass central differences (tests/test_kernels.py); `nvcc` compiles every source.
# * On the **CPU**, NumPy cannot fuse: written with whole arrays, a step costs many sweeps of
#   the field (section 1), as it does in PyTorch eager. The library therefore runs its hot
#   element-wise loops (this Euler step and its adjoint, the pooling, the convolution's patch
#   sums, Adam) as compiled sweeps (`neurophys/cpu/`, numba), each doing the NumPy
#   reference's operations in the same order, so the numbers are the same bit for bit. The
#   issue's CPU bar — neurophys at least as fast as PyTorch on *every* row — is recorded in
#   `cpu_bar_met` for this run. The EqProp relaxation leads since each step works in place in
#   one buffer per layer (no ρ' = 1 multiply for raw states), the split-step layer since its
#   FFTs go through `scipy.fft` on a whole batch at once and its backward reuses the forward's
#   inner fields. PhysNet's epoch was the close call:
#   PyTorch has oneDNN convolutions against our im2col + matrix product; that row measured
#   0.86–1.01× in earlier rounds and 1.30× (one thread) and 1.24× (two: `PhysNet.cores = 2`)
#   before the compiled loops, and 1.56–1.67× and 1.44–1.65× in six idle runs after them
#   (`benchmarks/results/cpu_repeats/`) — so do not read one run's `cpu_bar_met = true` as
#   settled. The ratios move by tens of percent from run to run on a shared 2-core machine
#   (the load average is in `settings`).
# * On a **GPU** the fused kernels remove exactly the costs that dominate these two loops:
#   the sweeps (GPE) and the launches (EqProp). On the one GPU this course has run on (an
#   NVIDIA H200; `stored_*` in this folder's results.json) they fall short of both bars. The
#   30-step relaxation runs 6.2–7.1× faster than PyTorch's CUDA loop, not 10×, and nowhere
#   near document 004's "100×": at batch ≤ 128 a step is a few small matrix products, and what
#   a fused kernel can save is the loop's launches, about 3 ms of them. The one-step Euler
#   kernel moves 1.9 TB/s, 39 % of the card's nominal 4.8 TB/s, where a plain copy reaches
#   4.2 TB/s (`benchmarks/gpu_bandwidth.py`). Whole training epochs are no faster than
#   PyTorch on that GPU (lesson 03: 0.57×; lesson 06: 0.78–1.15× over three runs): the kernels
#   cover the physics, but convolutions, pooling and the optimiser run as many small cupy
#   launches, and batches of 32 or 128 MNIST images leave the card idle between them. A GPU
#   pays here only with larger batches or more of the loop fused.
#
# ## Exercises
# 1. Section 1 counts field copies per NumPy Euler step. Write the step with `out=` arguments
#    and preallocated buffers; how close to 1 copy can NumPy get?
# 2. `gpe_euler_multistep` needs 2·Ny·Nx complex numbers of shared memory. What is the largest
#    complex64 field it can take in 48 KiB? What would you change to go beyond?
# 3. Delete one of the `__syncthreads()` calls in `eqprop_relax` (neurophys/kernels/eqprop.cu) and
#    run `pytest tests/test_kernels.py -k relaxation`. Which tests fail? Why does the host emulation
#    (every thread a coroutine, run one after another until it reaches a barrier) expose a race
#    that a GPU might hide on a lucky day?
# 4. The EqProp kernel gives each block a *tile* of examples. Argue from weight reuse why a
#    larger tile helps a 500×500 hidden-to-hidden layer and hurts at batch 32.
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 13` writes
# `neurophys-exercises/ex13.py`; fill in its functions, then run `python -m neurophys check 13`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `euler_step_out`: the NumPy twin of the fused Euler kernel: one step in preallocated
#   buffers, with no field-sized temporaries.
# - `relax_twin`: the NumPy twin of the relaxation kernel: synchronous steps ping-ponging
#   between two buffers.

# %%
settings.update(tier=ctx.tier, threads=1, euler_steps=5, eqprop_emulated_net="784-64-10 raw, 30 steps")
ctx.finish(metrics=metrics, settings=settings)
