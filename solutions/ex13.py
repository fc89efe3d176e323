"""Lesson 13 — Kernels: reference solutions (for teachers, not shipped to students).

A CUDA kernel reads each number once and writes each result once. Its NumPy twin can come
close: preallocated buffers, ``out=`` arguments, slices instead of copies.

Check with ``python -m neurophys check 13 --path solutions``.
"""
import numpy as np


def euler_step_out(psi, dt, V, g, out, work):
    """The NumPy twin of the fused Euler kernel: one real-time GPE step written into ``out``,

        ψ' = ψ − i dt [−½∇²ψ + (V + g|ψ|²) ψ],   5-point periodic Laplacian (spacing 1)

    using ``work`` as the ONLY scratch array: no field-sized temporaries (no numpy.roll, no
    ``a + b`` that makes a new array; use slices and ``numpy.add(..., out=...)``). Beware: NumPy
    quietly copies strided 3-D slices such as ``psi[..., 2:]`` inside a ufunc; slices of each
    field's flattened rows (``psi.reshape(batch, Ny * Nx)``, a view) are not copied. The check
    measures the peak of temporary memory during your call (tracemalloc): below one field.
    psi: complex (batch, Ny, Nx), unchanged; V, g, dt: numbers; out, work: complex arrays of
    psi's shape and dtype. Return ``out``.
    """
    # hint: view each field as one flat row (psi.reshape(batch, Ny*Nx)): neighbours are then shifted slices; fix the wrapped edges after
    b, ny, nx = psi.shape
    flat, fo, fw = psi.reshape(b, ny * nx), out.reshape(b, ny * nx), work.reshape(b, ny * nx)
    np.add(flat[:, 2:], flat[:, :-2], out=fo[:, 1:-1])             # ψ[i+1] + ψ[i−1] (wrong at row ends)
    np.add(psi[..., 1], psi[..., -1], out=out[..., 0])             # the periodic ends of each row
    np.add(psi[..., 0], psi[..., -2], out=out[..., -1])
    np.add(flat[:, 2 * nx:], flat[:, :-2 * nx], out=fw[:, nx:-nx])  # ψ[j+1] + ψ[j−1]
    np.add(psi[..., 1, :], psi[..., -1, :], out=work[..., 0, :])
    np.add(psi[..., 0, :], psi[..., -2, :], out=work[..., -1, :])
    out += work                                   # Σ neighbours
    np.conjugate(psi, out=work)
    work *= psi                                   # |ψ|² (as a complex number)
    work *= g
    work += 2.0 + V                               # the −½·(−4ψ) of the Laplacian, + V + g|ψ|²
    work *= psi
    out *= -0.5
    out += work                                   # H ψ = −½ Σ + (2 + V + g|ψ|²) ψ
    out *= -1j * dt
    out += psi
    return out


def relax_twin(x, W, b, eps, n_steps, buf_a, buf_b):
    """The NumPy twin of the fused relaxation kernel: n_steps SYNCHRONOUS (Jacobi) steps of the
    clamped-input relaxation, ρ(s) = s in the box [0, 1], ping-ponging between two buffers
    (the kernel keeps two copies of the states in shared memory):

        s_l ← clip(s_l − ε [s_l − (s_{l−1} W_{l−1} + b_{l−1} + s_{l+1} W_lᵀ)], 0, 1),  l = 1..L
        (every layer reads the OLD states; the last layer has no s_{l+1} term)

    x: the clamped input (N, n_0); W[l]: (n_l, n_{l+1}); b[l]: (n_{l+1},).
    buf_a, buf_b: lists of L arrays (N, n_l) for l = 1..L; buf_a holds the starting states.
    Steps alternate writing into buf_b and buf_a. Return the list (buf_a or buf_b) that holds
    the final states; every array you return must be one of the buffers.
    """
    # hint: read = buf_a, write = buf_b; per layer compute into write[l] with out= arguments; then swap them
    src, dst = buf_a, buf_b
    L = len(W)
    for _ in range(n_steps):
        for l in range(L):
            prev = x if l == 0 else src[l - 1]
            d = dst[l]
            np.matmul(prev, W[l], out=d)
            d += b[l]
            if l + 1 < L:
                d += src[l + 1] @ W[l + 1].T
            # s − ε (s − drive) = (1 − ε) s + ε drive
            d *= eps
            d += (1 - eps) * src[l]
            np.clip(d, 0.0, 1.0, out=d)
        src, dst = dst, src
    return src
