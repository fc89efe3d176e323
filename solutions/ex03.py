"""Lesson 03 — PhysNet: reference solutions (for teachers, not shipped to students).

Check with ``python -m neurophys check 03 --path solutions``.
"""
import numpy as np


def conv2d_backward(x, W, dz, pad):
    """Backward of a stride-1 convolution (cross-correlation) with zero padding, channels last:

        z[n, y, x, f] = Σ_{i,j,c} x_pad[n, y+i, x+j, c] W[f, c, i, j] + b[f]

    x: (N, H, W, C) input; W: (F, C, k, k) weights; dz = ∂L/∂z: (N, Ho, Wo, F) with
    Ho = H + 2·pad − k + 1; pad: zero padding on each side.
    Return (dx, dW, db) = (∂L/∂x (N, H, W, C), ∂L/∂W (F, C, k, k), ∂L/∂b (F,)).
    """
    # hint: for each offset (i, j): dW[:, :, i, j] = Σ dz ⊗ x_pad window; add dz·W[:, :, i, j] back onto that window of dx_pad
    N, H, Wd, C = x.shape
    F, _, k, _ = W.shape
    Ho, Wo = dz.shape[1:3]
    x_pad = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dx_pad = np.zeros_like(x_pad)
    dW = np.zeros_like(W)
    for i in range(k):
        for j in range(k):
            window = x_pad[:, i:i + Ho, j:j + Wo, :]
            dW[:, :, i, j] = np.einsum("nyxf,nyxc->fc", dz, window)
            dx_pad[:, i:i + Ho, j:j + Wo, :] += np.einsum("nyxf,fc->nyxc", dz, W[:, :, i, j])
    db = dz.sum(axis=(0, 1, 2))
    return dx_pad[:, pad:pad + H, pad:pad + Wd, :], dW, db


def gpe_euler_backward(psi, grad_out, dt, V=0.0, g=0.0):
    """Adjoint of one real-time Euler step ψ' = ψ + c H(ψ)ψ, c = −i dt (grid spacing 1, periodic,
    5-point Laplacian on the last two axes), H(ψ) = −½∇² + V + g|ψ|².

    A real loss L of a complex field has the gradient G = ∂L/∂Re ψ + i ∂L/∂Im ψ. Linearising,
    δψ' = [1 + c H_lin] δψ + c g ψ² conj(δψ), with H_lin = −½∇² + V + 2g|ψ|², so

        G = G' + conj(c) H_lin G' + c g ψ² conj(G')

    psi: the step's input field; grad_out = G' (same shape). V: a number or a map; g, dt: numbers.
    Return G (complex, psi's shape).
    """
    # hint: H_lin G' = −½∇²G' + (V + 2g|ψ|²) G' (the Laplacian is its own adjoint); c = −1j*dt
    c = -1j * dt
    lap = (np.roll(grad_out, 1, axis=-1) + np.roll(grad_out, -1, axis=-1)
           + np.roll(grad_out, 1, axis=-2) + np.roll(grad_out, -1, axis=-2) - 4 * grad_out)
    H_lin_G = -0.5 * lap + (V + 2 * g * np.abs(psi) ** 2) * grad_out
    return grad_out + np.conj(c) * H_lin_G + c * g * psi * psi * np.conj(grad_out)
