"""Lesson 13 — Kernels: exercises.

A CUDA kernel reads each number once and writes each result once. Its NumPy twin can come
close: preallocated buffers, ``out=`` arguments, slices instead of copies.

Fill in each function, then check your work with ``python -m neurophys check 13``.
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
    raise NotImplementedError('hint: view each field as one flat row (psi.reshape(batch, Ny*Nx)): neighbours are then shifted slices; fix the wrapped edges after')


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
    raise NotImplementedError('hint: read = buf_a, write = buf_b; per layer compute into write[l] with out= arguments; then swap them')
