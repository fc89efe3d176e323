"""PyTorch reference implementations of what neurophys computes, for side-by-side timing.

Each is the same algorithm written the way a PyTorch user would write it (eager ops,
autograd where a backward is needed, ``torch.no_grad`` where none is), on whatever
device the tensors live on. Only the benchmarks import torch; neurophys never does.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


# ------------------------------------------------------------------ GPE
def laplacian5(psi):
    """5-point periodic Laplacian, dx = dy = 1."""
    return (torch.roll(psi, 1, -1) + torch.roll(psi, -1, -1) + torch.roll(psi, 1, -2) + torch.roll(psi, -1, -2)
            - 4 * psi)


def gpe_euler(psi, n_steps: int, dt: float, V: float, g: float):
    """psi <- psi - i dt [-1/2 lap(psi) + (V + g|psi|^2) psi], n_steps times (complex tensors)."""
    for _ in range(n_steps):
        dens = psi.real ** 2 + psi.imag ** 2
        psi = psi - 1j * dt * (-0.5 * laplacian5(psi) + (V + g * dens) * psi)
    return psi


def gpe_splitstep(psi, n_steps: int, dt: float, V: float, g: float):
    """Strang split-step Fourier (spectral kinetic term, FFTs in complex128 as neurophys does)."""
    Ny, Nx = psi.shape[-2:]
    two_pi = 2 * torch.pi
    ky = two_pi * torch.fft.fftfreq(Ny, device=psi.device, dtype=torch.float64)
    kx = two_pi * torch.fft.fftfreq(Nx, device=psi.device, dtype=torch.float64)
    K = torch.exp(-1j * dt * 0.5 * (ky[:, None] ** 2 + kx[None, :] ** 2))
    for _ in range(n_steps):
        psi = torch.exp(-1j * 0.5 * dt * (V + g * (psi.real ** 2 + psi.imag ** 2))) * psi
        psi = torch.fft.ifft2(K * torch.fft.fft2(psi.to(torch.complex128))).to(psi.dtype)
        psi = torch.exp(-1j * 0.5 * dt * (V + g * (psi.real ** 2 + psi.imag ** 2))) * psi
    return psi


def gpe_layer_forward_backward(x, dout, scheme: str, n_steps: int, dt: float, V: float, g: float):
    """GPELayer's job with autograd: (Re, Im) channels (batch, Ny, Nx, 2) in and out, then backward."""
    x = x.detach().requires_grad_(True)
    psi = torch.complex(x[..., 0], x[..., 1])
    step = gpe_euler if scheme == "euler" else gpe_splitstep
    psi = step(psi, n_steps, dt, V, g)
    out = torch.stack([psi.real, psi.imag], dim=-1)
    out.backward(dout)
    return out.detach(), x.grad


# ------------------------------------------------------------------ EqProp
@torch.no_grad()
def eqprop_relax(x, W, b, s, n_steps: int, eps: float, beta: float = 0.0, target=None, lo=0.0, hi=1.0,
                 order: str = "alternating", c1=None):
    """neurophys.models.eqprop.relax_step's relaxation with rho = identity in the box [lo, hi]:
    'alternating' (odd layers, then even layers with the new odd states) or 'synchronous';
    the nudged output layer steps with eps / (1 + |beta|); the clamped input's drive
    c1 = x W_0 + b_0 is computed once per call, or passed in (as neurophys does)."""
    L = len(W)
    c1 = x @ W[0] + b[0] if c1 is None else c1
    sweeps = [range(1, L + 1, 2), range(2, L + 1, 2)] if order == "alternating" else [range(1, L + 1)]
    s = list(s)
    for _ in range(n_steps):
        for sweep in sweeps:
            cur = list(s)
            for l in sweep:
                drive = c1 if l == 1 else b[l - 1] + cur[l - 1] @ W[l - 1]
                if l < L:
                    drive = drive + cur[l + 1] @ W[l].T
                grad, step = cur[l] - drive, eps
                if beta and l == L:
                    grad = grad + beta * (cur[l] - target)
                    step = eps / (1 + abs(beta))
                s[l] = torch.clamp(cur[l] - step * grad, lo, hi)
    return s


@torch.no_grad()
def eqprop_train_step(x, t, W, b, eps: float, n_free: int, n_nudged: int, beta: float, lrs, nudging="symmetric",
                      order="alternating"):
    """One EqProp update (free phase from zero, nudged phase(s) from the free state, local update, SGD).
    The phases share the clamped input's drive x W_0 + b_0, computed once per update (as neurophys does)."""
    n = x.shape[0]
    s0 = [x] + [torch.zeros(n, w.shape[1], device=x.device, dtype=x.dtype) for w in W]
    c1 = x @ W[0] + b[0]
    s_free = eqprop_relax(x, W, b, s0, n_free, eps, order=order, c1=c1)
    s_plus = eqprop_relax(x, W, b, s_free, n_nudged, eps, beta, t, order=order, c1=c1)
    if nudging == "symmetric":
        s_ref, scale = eqprop_relax(x, W, b, s_free, n_nudged, eps, -beta, t, order=order, c1=c1), 2 * beta
    else:
        s_ref, scale = s_free, beta
    for l in range(len(W)):
        gW = -(s_plus[l].T @ s_plus[l + 1] - s_ref[l].T @ s_ref[l + 1]) / (scale * n)
        gb = -(s_plus[l + 1].sum(0) - s_ref[l + 1].sum(0)) / (scale * n)
        W[l] -= lrs[l] * gW
        b[l] -= lrs[l] * gb
    return s_free[-1]


# ------------------------------------------------------------------ PhysNet (document 000)
class GPEBlock(nn.Module):
    def __init__(self, n_steps=5, dt=0.01, a=0.15, b=0.15):
        super().__init__()
        self.n_steps, self.dt, self.V, self.g = n_steps, dt, -a, 2 * b

    def forward(self, h):  # (batch, 2, 32, 32) channels first
        psi = torch.complex(h[:, 0], h[:, 1])
        psi = gpe_euler(psi, self.n_steps, self.dt, self.V, self.g)
        return torch.stack([psi.real, psi.imag], dim=1)


class PhysNet(nn.Module):
    """Document 000's network as its script builds it (conv encoder, injection, 5 Euler steps, conv readout)."""

    def __init__(self, grid=32):
        super().__init__()
        self.grid = grid
        self.enc = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 64))
        self.inject = nn.Linear(64, 2 * grid * grid)
        self.gpe = GPEBlock()
        self.dec = nn.Sequential(nn.Conv2d(2, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(32 * (grid // 4) ** 2, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        h = self.inject(self.enc(x)).view(-1, 2, self.grid, self.grid)
        return self.dec(self.gpe(h))


def physnet_train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
