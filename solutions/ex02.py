"""Lesson 02 — The GPE field: reference solutions (for teachers, not shipped to students).

Check with ``python -m neurophys check 02 --path solutions``.
"""
import numpy as np


def euler_step(psi, dt, V=0.0, g=0.0, imaginary=False):
    """One forward-Euler step of the Gross–Pitaevskii equation (grid spacing 1, periodic):

        real time:       ψ' = ψ − i dt [−½∇²ψ + Vψ + g|ψ|²ψ]
        imaginary time:  ψ' = ψ −   dt [−½∇²ψ + Vψ + g|ψ|²ψ]

    with the 5-point Laplacian on the LAST TWO axes (y rows, x columns):
        ∇²ψ[j,i] = ψ[j,i+1] + ψ[j,i−1] + ψ[j+1,i] + ψ[j−1,i] − 4ψ[j,i]   (indices wrap around).

    psi: complex array (Ny, Nx) or (batch, Ny, Nx); V: a number or an array that broadcasts
    against psi; g, dt: numbers. Return ψ' (a new array).
    """
    # hint: the neighbours are numpy.roll(psi, ±1, axis=-1) and numpy.roll(psi, ±1, axis=-2)
    lap = (np.roll(psi, 1, axis=-1) + np.roll(psi, -1, axis=-1)
           + np.roll(psi, 1, axis=-2) + np.roll(psi, -1, axis=-2) - 4 * psi)
    H_psi = -0.5 * lap + (V + g * np.abs(psi) ** 2) * psi
    c = 1.0 if imaginary else 1j
    return psi - c * dt * H_psi


def kinetic_phase(psi, dt, imaginary=False):
    """The kinetic step of the split-step method (grid spacing 1, periodic, exact derivatives):

        ψ' = F⁻¹ e^{−i dt T(k)} F ψ      (real time; imaginary time: e^{−dt T(k)})
        T(k) = ½ (kx² + ky²),   kx = 2π · fftfreq(Nx),  ky = 2π · fftfreq(Ny)

    F is the 2-D FFT over the last two axes (y rows, x columns). psi: complex (Ny, Nx) or
    (batch, Ny, Nx). Return ψ' with psi's dtype.
    """
    # hint: T = 0.5 * (ky[:, None]**2 + kx[None, :]**2); psi' = ifft2(exp(-1j*dt*T) * fft2(psi))
    ny, nx = psi.shape[-2:]
    kx = 2 * np.pi * np.fft.fftfreq(nx)
    ky = 2 * np.pi * np.fft.fftfreq(ny)
    T = 0.5 * (ky[:, None] ** 2 + kx[None, :] ** 2)
    factor = np.exp(-dt * T) if imaginary else np.exp(-1j * dt * T)
    return np.fft.ifft2(factor * np.fft.fft2(psi)).astype(psi.dtype)
