"""Lesson 11 — The GRU energy encoder: exercises.

Fill in each function, then check your work with ``python -m neurophys check 11``.
"""
import numpy as np


def gru_step_backward(x, h_prev, Wx, Wh, b, c, dh):
    """Backward of one GRU step (PyTorch's convention), H hidden units:

        r = σ(x W_r + h U_r + b_r)                      reset gate
        u = σ(x W_u + h U_u + b_u)                      update gate
        n = tanh(x W_n + b_n + r ⊙ (h U_n + c))         candidate
        h' = (1 − u) ⊙ n + u ⊙ h

    with Wx = [W_r | W_u | W_n] (n_in, 3H), Wh = [U_r | U_u | U_n] (H, 3H),
    b = [b_r | b_u | b_n] (3H,), c (H,). x: (N, n_in); h_prev = h: (N, H); dh = ∂L/∂h' (N, H).
    Return (dx, dh_prev, dWx, dWh, db, dc) with the shapes of x, h_prev, Wx, Wh, b, c.
    """
    raise NotImplementedError('hint: recompute r, u, n forward; then ∂n = dh(1−u), ∂u = dh(h−n), ∂a_n = ∂n(1−n²), ∂r = ∂a_n ⊙ (h U_n + c)')


def conservation_penalty(E_hat):
    """The physics-aware loss: predicted energies should stay constant along each trajectory,

        P = (1 / (B T)) Σ_b Σ_t (Ê_bt − Ē_b)²,     Ē_b = (1/T) Σ_t Ê_bt
        ∂P/∂Ê_bt = 2 (Ê_bt − Ē_b) / (B T)          (the Ē terms cancel)

    E_hat: (B, T), one row per trajectory. Return (P as a Python float, ∂P/∂Ê of shape (B, T)).
    """
    raise NotImplementedError('hint: dev = E_hat - E_hat.mean(axis=1, keepdims=True)')
