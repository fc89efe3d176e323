"""The CUDA kernels: they compile (nvcc -> PTX), their arithmetic matches the NumPy
reference on the CPU (host emulation), their adjoints pass central differences, bad
requests fail clearly, and — where a GPU answers — the real kernels match NumPy."""
import json
import shutil
import subprocess
import warnings

import numpy
import pytest

from neurophys import backend as B
from neurophys.gradcheck import check_gradient, cosine_similarity
from neurophys.kernels import dispatch as D
from neurophys.kernels import eqprop as KE
from neurophys.kernels import gpe as KG
from neurophys.kernels import loader
from neurophys.kernels.emulate import EmulationError, find_compiler, host_module, kernel_names
from neurophys.models import eqprop as M
from neurophys.physics import gpe as P

NVCC = shutil.which("nvcc")
needs_cxx = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (g++/clang++) for the emulation")


def _field(rng, shape, dtype=numpy.complex128, scale=0.4):
    return ((rng.normal(size=shape) + 1j * rng.normal(size=shape)) * scale).astype(dtype)


# ------------------------------------------------------------------ compile
@pytest.mark.parametrize("name", loader.SOURCES)
@pytest.mark.skipif(NVCC is None, reason="nvcc not on PATH: the PTX compile check runs where the CUDA toolkit is")
def test_every_kernel_compiles_to_ptx(name, tmp_path):
    src = loader.source_path(name)
    out = tmp_path / f"{name}.ptx"
    proc = subprocess.run([NVCC, "-ptx", "-std=c++14", f"-I{loader.KERNEL_DIR}", "-o", str(out), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ptx = out.read_text()
    for kernel in kernel_names(src.read_text()):
        assert f".entry {kernel}(" in ptx, f"{kernel} missing from the PTX"


@pytest.mark.skipif(NVCC is None, reason="nvcc not on PATH")
def test_nvrtc_source_is_self_contained(tmp_path):
    """What cupy.RawModule compiles (header pasted in) also compiles without -I."""
    for name in loader.SOURCES:
        src = tmp_path / f"{name}_inline.cu"
        src.write_text(loader.cuda_source(name))
        proc = subprocess.run([NVCC, "-ptx", "-std=c++14", "-o", str(tmp_path / "x.ptx"), str(src)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def _find_nvrtc():
    """libnvrtc (what cupy.RawModule compiles with), from the nvidia-cuda-nvrtc wheel or the system."""
    import ctypes
    import ctypes.util
    import glob
    import os
    paths = []
    try:
        import nvidia
        for root in nvidia.__path__:
            paths += sorted(glob.glob(os.path.join(root, "**", "libnvrtc.so*"), recursive=True))
    except ImportError:
        pass
    found = ctypes.util.find_library("nvrtc")
    paths += [found] if found else []
    for path in paths:
        if "builtins" in os.path.basename(path):
            continue
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


@pytest.mark.parametrize("name", loader.SOURCES)
def test_nvrtc_compiles_what_cupy_would(name):
    """The exact compile cupy.RawModule does (NVRTC, header pasted in, -std=c++14), without a GPU."""
    import ctypes
    lib = _find_nvrtc()
    if lib is None:
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc, or a CUDA toolkit with NVRTC)")
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), loader.cuda_source(name).encode(), f"{name}.cu".encode(),
                                  0, None, None) == 0
    opts = [b"-std=c++14", b"--gpu-architecture=compute_80"]
    rc = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    assert rc == 0, log.value.decode()
    lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetPTX(prog, ptx)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    for kernel in kernel_names(loader.source_path(name).read_text()):
        assert f".entry {kernel}(" in ptx.value.decode(), f"{kernel} missing from the NVRTC PTX"


# ------------------------------------------------------------------ GPE, host emulation
@needs_cxx
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("imaginary", [False, True])
def test_euler_kernel_matches_numpy(f64, fused, imaginary):
    psi = _field(f64, (2, 9, 12))
    V = f64.normal(size=(9, 12)) * 0.2
    ref = psi
    for _ in range(4):
        ref = P.euler_step(ref, 0.05, V, 0.3, dx=1.0, dy=1.2, imaginary=imaginary)
    out, traj = KG.euler_steps(psi, 0.05, 4, V, 0.3, 1.0, 1.2, imaginary, store_trajectory=True, fused=fused,
                               device="host")
    numpy.testing.assert_allclose(out, ref, rtol=0, atol=1e-13)
    numpy.testing.assert_array_equal(traj[0], psi)


@needs_cxx
def test_euler_kernel_float32_document_setting():
    """Document 000's block: 5 steps, dt 0.01, V = -a, g = 2b, on a 32x32 complex64 field."""
    rng = numpy.random.default_rng(0)
    psi = _field(rng, (3, 32, 32), numpy.complex64, scale=1.0)
    prm = P.document_params(0.15, 0.15)
    with B.using("numpy"):
        ref, _ = P.evolve(psi, 5, 0.01, prm["V"], prm["g"], scheme="euler")
    out, _ = KG.euler_steps(psi, 0.01, 5, prm["V"], prm["g"], device="host")
    assert out.dtype == numpy.complex64
    numpy.testing.assert_allclose(out, ref, rtol=0, atol=2e-6)


@needs_cxx
def test_gpu_like_fma_rounding_stays_within_float32_tolerance():
    """Rounding like a GPU (fused multiply-adds) moves float32 results by ~1e-7, not more."""
    rng = numpy.random.default_rng(4)
    psi = _field(rng, (2, 16, 16), numpy.complex64, scale=1.0)
    with B.using("numpy"):
        ref, _ = P.evolve(psi, 20, 0.01, -0.15, 0.3, scheme="euler")
    with loader.host_emulation(fma=True):
        out, _ = KG.euler_steps(psi, 0.01, 20, -0.15, 0.3)
    err = numpy.abs(out - ref).max() / numpy.abs(ref).max()
    assert 0 < err < 1e-5  # different rounding (so the FMA build really differs), same physics


@needs_cxx
@pytest.mark.parametrize("scheme", ["euler", "splitstep"])
@pytest.mark.parametrize("V_kind", ["scalar", "map"])
def test_gpe_dispatch_forward_backward_match_reference(f64, scheme, V_kind):
    psi = _field(f64, (2, 8, 10))
    V = -0.15 if V_kind == "scalar" else f64.normal(size=(8, 10)) * 0.2
    G_out = _field(f64, psi.shape, scale=1.0)
    ref, tape = P.evolve(psi, 3, 0.05, V, 0.3, scheme=scheme, dy=1.3)
    G_ref, g_ref = P.evolve_backward(tape, G_out)
    with loader.host_emulation():
        out, ktape = D.gpe_evolve(psi, 3, 0.05, V, 0.3, scheme=scheme, dy=1.3)
        G, grads = D.gpe_evolve_backward(ktape, G_out)
    assert isinstance(ktape, D.KernelTape)
    numpy.testing.assert_allclose(out, ref, atol=1e-12)
    numpy.testing.assert_allclose(G, G_ref, atol=1e-12)
    numpy.testing.assert_allclose(grads["V"], g_ref["V"], atol=1e-12)
    assert grads["g"] == pytest.approx(g_ref["g"], abs=1e-10)
    assert grads["dt"] == pytest.approx(g_ref["dt"], rel=1e-10, abs=1e-10)


@needs_cxx
@pytest.mark.parametrize("fused", [True, False])
def test_euler_kernel_adjoint_gradient_check(f64, fused):
    """The kernel adjoint against central differences of the kernel forward itself."""
    u, v = f64.normal(size=(1, 6, 7)) * 0.5, f64.normal(size=(1, 6, 7)) * 0.5
    V = f64.normal(size=(6, 7)) * 0.3
    W = _field(f64, (1, 6, 7), scale=1.0)
    g = numpy.array([0.4])

    def loss():
        out, _ = KG.euler_steps(u + 1j * v, 0.05, 3, V, float(g[0]), fused=fused, device="host")
        return float(numpy.sum((W.conj() * out).real))

    _, traj = KG.euler_steps(u + 1j * v, 0.05, 3, V, 0.4, store_trajectory=True, fused=fused, device="host")
    G, grads = KG.euler_steps_adjoint(traj, W, 0.05, V, 0.4, fused=fused, device="host")
    assert check_gradient(loss, u, G.real, max_entries=15) < 1e-6
    assert check_gradient(loss, v, G.imag, max_entries=15) < 1e-6
    assert check_gradient(loss, V, grads["V"], max_entries=10) < 1e-6
    assert check_gradient(loss, g, numpy.asarray(grads["g"]).reshape(1)) < 1e-6


@needs_cxx
@pytest.mark.parametrize("imaginary", [False, True])
def test_potential_kernel_adjoint_gradient_check(f64, imaginary):
    u, v = f64.normal(size=(2, 5, 6)) * 0.6, f64.normal(size=(2, 5, 6)) * 0.6
    V = f64.normal(size=(5, 6)) * 0.3
    W = _field(f64, (2, 5, 6), scale=1.0)

    def loss():
        out = KG.potential_step(u + 1j * v, 0.1, V, 0.5, imaginary, device="host")
        return float(numpy.sum((W.conj() * out).real))

    G, gV, _ = KG.potential_step_adjoint(u + 1j * v, W, 0.1, V, 0.5, imaginary, device="host")
    assert check_gradient(loss, u, G.real) < 1e-6
    assert check_gradient(loss, v, G.imag) < 1e-6
    assert check_gradient(loss, V, gV.sum(axis=0)) < 1e-6


@needs_cxx
def test_splitstep_kernel_conserves_norm_float32():
    rng = numpy.random.default_rng(3)
    psi = _field(rng, (1, 16, 16), numpy.complex64, scale=1.0)
    out = KG.split_steps(psi, 0.05, 50, -0.15, 0.3, device="host")
    n0, n1 = float(numpy.sum(numpy.abs(psi) ** 2)), float(numpy.sum(numpy.abs(out.astype(complex)) ** 2))
    assert abs(n1 - n0) / n0 < 1e-5


# ------------------------------------------------------------------ EqProp, host emulation
def _net(sizes, energy="scellier", clip=(0.0, 1.0), seed=0):
    return M.EqPropNet(sizes, energy=energy, clip=clip, eps=0.4, n_free=6, n_nudged=3, beta=0.5,
                       nudging="one-sided", rng=B.rng(seed))


@needs_cxx
@pytest.mark.parametrize("order", ["alternating", "synchronous"])
@pytest.mark.parametrize("case", ["raw_boxed", "hard_sigmoid_unboxed", "two_hidden", "three_hidden"])
def test_relaxation_kernel_matches_relax_step(f64, case, order):
    if case == "raw_boxed":
        net, scale = _net([11, 9, 4], energy="raw"), 1.0
    elif case == "hard_sigmoid_unboxed":
        net, scale = _net([11, 9, 4], clip=None), 1.6
    elif case == "two_hidden":
        net, scale = _net([11, 13, 7, 4]), 1.0
    else:
        net, scale = _net([11, 13, 7, 9, 4]), 1.0
    batch = 21
    s = [f64.random((batch, n)) * scale - 0.3 * (scale > 1) for n in net.sizes]
    const = [None, net.b[0] + s[0] @ net.W[0]] + [None] * (net.L - 1)
    target = f64.random((batch, net.sizes[-1]))
    lo, hi = net.box()
    free = [False] + [True] * net.L
    ref = list(s)
    for _ in range(5):
        ref = M.relax_step(ref, net.W, net.b, free, net.rho, net.drho, 0.4, 0.7, target, -1, const, lo, hi, order)
    with loader.host_emulation(), warnings.catch_warnings():
        warnings.simplefilter("error", D.KernelFallbackWarning)  # must not fall back here
        out = D.eqprop_relax_steps(s, net.W, net.b, free, net.rho, net.drho, 0.4, 0.7, target, -1, const, lo, hi,
                                   order=order, n_steps=5)
    for l in range(1, net.L + 1):
        numpy.testing.assert_allclose(out[l], ref[l], atol=1e-12)


@needs_cxx
def test_relaxation_kernel_tiles_and_float32_agree():
    rng = numpy.random.default_rng(1)
    sizes = [30, 40, 10]
    s = [rng.random((37, n)).astype(numpy.float32) for n in sizes]
    W = [rng.normal(size=(sizes[l], sizes[l + 1])).astype(numpy.float32) * 0.2 for l in range(2)]
    const = [None, s[0] @ W[0], numpy.zeros(10, numpy.float32)]
    lo, hi = [None, 0.0, 0.0], [None, 1.0, 1.0]
    outs = [KE.relax(s, W, const, [0, 0, 0], lo, hi, 0.5, 10, order=o, tile=t, device="host")
            for o in ("synchronous", "alternating") for t in (1, 4, 8)]
    for group in (outs[:3], outs[3:]):  # tiles agree within an order
        for o in group[1:]:
            numpy.testing.assert_allclose(o[1], group[0][1], atol=1e-6)
            numpy.testing.assert_allclose(o[2], group[0][2], atol=1e-6)


@needs_cxx
def test_weight_update_kernel_is_the_eqprop_gradient(f64):
    """Kernel relaxation + kernel reduction reproduce EqPropNet.eqprop_gradient, and the hallmark
    (cosine with the true gradient at small beta) follows from that."""
    net = _net([8, 7, 3], clip=None)
    x = f64.random((5, 8))
    y = numpy.array([0, 2, 1, 1, 0])
    t = net.as_target(y, 5)
    s_free = net.free_phase(x)
    grads_ref, s_plus = net.eqprop_gradient(s_free, t)
    with loader.host_emulation():
        g = D.eqprop_weight_grads(net, s_plus, s_free, net.beta * len(x))
    for k in grads_ref:
        numpy.testing.assert_allclose(g[k], grads_ref[k], atol=1e-12)
        assert cosine_similarity(g[k], grads_ref[k]) > 0.999999


# ------------------------------------------------------------------ bad input and fallbacks
def test_kernel_on_numpy_backend_says_which():
    psi = numpy.zeros((1, 4, 4), numpy.complex64)
    with B.using("numpy"):
        with pytest.raises(loader.KernelError, match="numpy"):
            KG.euler_steps(psi, 0.01, 2)
        with pytest.raises(loader.KernelError, match="backend is .numpy"):
            D.gpe_evolve(psi, 2, 0.01, use_kernels=True)


def test_kernel_rejects_unsupported_dtype_and_shape():
    with pytest.raises(loader.KernelError, match="complex64 or complex128"):
        KG.euler_steps(numpy.zeros((1, 4, 4), numpy.float32), 0.01, device="host")
    with pytest.raises(loader.KernelError, match="batch, Ny, Nx"):
        KG.euler_steps(numpy.zeros((4, 4), numpy.complex64), 0.01, device="host")
    with pytest.raises(loader.KernelError, match="float16"):
        loader.real_suffix(numpy.float16, "test")
    with pytest.raises(loader.KernelError, match="shared memory"):
        KG.euler_steps(numpy.zeros((1, 128, 128), numpy.complex64), 0.01, 3, fused=True, device="host")
    with pytest.raises(loader.KernelError, match="too many"):
        KE.relax_tile([784, 20000, 10], 8, 4)


@needs_cxx
def test_unsupported_case_falls_back_with_a_warning(f64):
    """A smooth rho has no kernel: the reference runs and a warning says why (never wrong numbers)."""
    net = M.EqPropNet([6, 5, 3], rho="sigmoid", clip=None, rng=B.rng(0))
    s = [f64.random((4, n)) for n in net.sizes]
    free = [False, True, True]
    ref = M.relax_step(s, net.W, net.b, free, net.rho, net.drho, 0.3)
    with loader.host_emulation(), pytest.warns(D.KernelFallbackWarning, match="rho"):
        out = D.eqprop_relax_steps(s, net.W, net.b, free, net.rho, net.drho, 0.3, n_steps=1)
    numpy.testing.assert_allclose(out[1], ref[1])


def test_dispatch_on_numpy_is_the_reference(f64):
    psi = _field(f64, (1, 6, 6))
    a, _ = D.gpe_evolve(psi, 2, 0.01, -0.1, 0.2, scheme="euler")
    b, _ = P.evolve(psi, 2, 0.01, -0.1, 0.2, scheme="euler")
    numpy.testing.assert_array_equal(a, b)


@needs_cxx
def test_emulation_enforces_cuda_launch_limits():
    k = host_module("gpe").get_function("gpe_potential_step_f32")
    psi = numpy.zeros((1, 4, 4), numpy.complex64)
    args = [psi, psi.copy(), numpy.uint64(0), numpy.float32(0), numpy.int64(0), numpy.float32(0),
            numpy.float32(0.1), numpy.float32(0), numpy.float32(-1), numpy.int32(1), numpy.int32(4), numpy.int32(4)]
    with pytest.raises(EmulationError, match="1024"):
        k((1,), (2048,), args)
    with pytest.raises(EmulationError, match="48 KiB"):
        k((1,), (32,), args, shared_mem=64 * 1024)
    with pytest.raises(EmulationError, match="NumPy scalar"):
        k((1,), (32,), args[:3] + [0.0] + args[4:])


# ------------------------------------------------------------------ on a GPU
@pytest.mark.gpu
@pytest.mark.parametrize("scheme", ["euler", "splitstep"])
def test_gpu_gpe_parity_float32(scheme):
    rng = numpy.random.default_rng(0)
    psi_h = _field(rng, (8, 32, 32), numpy.complex64, scale=1.0)
    G_h = _field(rng, psi_h.shape, numpy.complex64, scale=1.0)
    prm = P.document_params()
    with B.using("numpy"):
        ref, tape = P.evolve(psi_h, 5, 0.01, prm["V"], prm["g"], scheme=scheme)
        G_ref, g_ref = P.evolve_backward(tape, G_h)
    with B.using("cupy") as cp:
        out, ktape = D.gpe_evolve(cp.asarray(psi_h), 5, 0.01, prm["V"], prm["g"], scheme=scheme, use_kernels=True)
        G, grads = D.gpe_evolve_backward(ktape, cp.asarray(G_h))
        out, G = B.to_host(out), B.to_host(G)
    numpy.testing.assert_allclose(out, ref, atol=2e-5)
    numpy.testing.assert_allclose(G, G_ref, atol=2e-4)
    assert grads["g"] == pytest.approx(g_ref["g"], rel=1e-3)


@pytest.mark.gpu
def test_gpu_eqprop_parity_float32():
    rng = numpy.random.default_rng(0)
    with B.using("numpy"):
        net = M.EqPropNet([784, 500, 10], energy="raw", eps=0.5, beta=1.0, rng=B.rng(0))
        W, b = [w.copy() for w in net.W], [v.copy() for v in net.b]
    x = rng.random((128, 784)).astype(numpy.float32)
    t = numpy.eye(10, dtype=numpy.float32)[rng.integers(0, 10, 128)]
    s = [x, numpy.zeros((128, 500), numpy.float32), numpy.zeros((128, 10), numpy.float32)]
    free, lo, hi = [False, True, True], [None, 0.0, 0.0], [None, 1.0, 1.0]
    const = [None, b[0] + x @ W[0], None]
    ref = list(s)
    for _ in range(30):
        ref = M.relax_step(ref, W, b, free, net.rho, net.drho, 0.5, 1.0, t, -1, const, lo, hi, "synchronous")
    with B.using("cupy") as cp:
        dev = lambda a: None if a is None else cp.asarray(a)
        out = D.eqprop_relax_steps([dev(a) for a in s], [dev(w) for w in W], [dev(v) for v in b], free, net.rho,
                                   net.drho, 0.5, 1.0, dev(t), -1, [dev(c) for c in const], lo, hi,
                                   order="synchronous", n_steps=30, use_kernels=True)
        out = [B.to_host(a) for a in out]
    numpy.testing.assert_allclose(out[1], ref[1], atol=1e-4)
    numpy.testing.assert_allclose(out[2], ref[2], atol=1e-4)


# ------------------------------------------------------------------ lesson 13
@needs_cxx
def test_lesson13_quick(tmp_path):
    from neurophys import course
    res = course.run_lesson("13", tier="quick", out=tmp_path)
    m = res["metrics"]
    for key in ("euler_forward", "euler_adjoint", "splitstep_forward", "splitstep_adjoint", "eqprop_relax",
                "eqprop_weight_grad"):
        assert m[f"emulated_{key}_error"] < 1e-10, key
    assert 0 < m["emulated_euler_float32_vortex_rel_error"] < 1e-5
    assert m["numpy_euler_step_in_field_copies"] > 1  # an unfused step costs more than one sweep
    assert (tmp_path / "parity.png").exists()
    if m.get("cpu_speedup_eqprop_relax") is not None:  # torch installed: the comparison ran
        assert m["cpu_speedup_eqprop_relax"] > 0
    if not B.gpu_available():
        assert m["gpu"] is None  # nothing is claimed about a GPU that did not run
        stored = json.loads((course.REPO_ROOT / "benchmarks" / "results" / "gpu.json").read_text())
        relax128 = next(r["speedup"] for r in stored["rows"] if r["name"].startswith("EqProp relaxation")
                        and "batch 128" in r["name"])
        assert m["stored_gpu"] == stored["meta"]["gpu"]  # the committed GPU run, labelled as stored
        assert m["stored_gpu_relax_speedup_batch128"] == relax128
        assert m["stored_gpu_bar_relax_10x_met"] is (min(v for k, v in m.items()
                                                         if k.startswith("stored_gpu_relax_speedup")) >= 10)
