"""Lesson 11 — The GRU energy encoder: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 11 --path solutions``.
"""
import numpy as np


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


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
    # hint: recompute r, u, n forward; then ∂n = dh(1−u), ∂u = dh(h−n), ∂a_n = ∂n(1−n²), ∂r = ∂a_n ⊙ (h U_n + c)
    H = h_prev.shape[1]
    ax = x @ Wx + b
    ah = h_prev @ Wh
    r = _sigmoid(ax[:, :H] + ah[:, :H])
    u = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hn = ah[:, 2 * H:] + c
    n = np.tanh(ax[:, 2 * H:] + r * hn)
    dn = dh * (1 - u)
    du = dh * (h_prev - n)
    dan = dn * (1 - n * n)
    dar = dan * hn * r * (1 - r)
    dau = du * u * (1 - u)
    dax = np.concatenate([dar, dau, dan], axis=1)          # ∂L/∂(x Wx + b)
    dah = np.concatenate([dar, dau, dan * r], axis=1)      # ∂L/∂(h Wh + [0, 0, c])
    dx = dax @ Wx.T
    dh_prev = dh * u + dah @ Wh.T
    return dx, dh_prev, x.T @ dax, h_prev.T @ dah, dax.sum(axis=0), (dan * r).sum(axis=0)


def conservation_penalty(E_hat):
    """The physics-aware loss: predicted energies should stay constant along each trajectory,

        P = (1 / (B T)) Σ_b Σ_t (Ê_bt − Ē_b)²,     Ē_b = (1/T) Σ_t Ê_bt
        ∂P/∂Ê_bt = 2 (Ê_bt − Ē_b) / (B T)          (the Ē terms cancel)

    E_hat: (B, T), one row per trajectory. Return (P as a Python float, ∂P/∂Ê of shape (B, T)).
    """
    # hint: dev = E_hat - E_hat.mean(axis=1, keepdims=True)
    dev = E_hat - E_hat.mean(axis=1, keepdims=True)
    return float((dev * dev).mean()), 2.0 * dev / dev.size
