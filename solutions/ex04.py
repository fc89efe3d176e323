"""Lesson 04 — Continual-learning baselines: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 04 --path solutions``.
"""
import numpy as np


def ewc_penalty(params, anchors, fisher, lam):
    """Elastic Weight Consolidation: each weight is tied to its old value by a spring whose
    stiffness is λ times its Fisher information:

        Ω(θ) = (λ/2) Σ_k Σ_i F_k,i (θ_k,i − θ*_k,i)²,      ∂Ω/∂θ_k = λ F_k (θ_k − θ*_k)

    params, anchors (θ*), fisher (F): dicts of arrays with the same keys and shapes; lam = λ ≥ 0.
    Return (Ω as a Python float, dict of ∂Ω/∂θ with the same keys as params).
    """
    # hint: for every key k: d = params[k] - anchors[k]; Ω += 0.5*lam*(fisher[k]*d*d).sum(); grad = lam*fisher[k]*d
    omega, grads = 0.0, {}
    for k, theta in params.items():
        d = theta - anchors[k]
        omega += 0.5 * lam * float((fisher[k] * d * d).sum())
        grads[k] = lam * fisher[k] * d
    return omega, grads


def diagonal_fisher(x, W, b, y):
    """Diagonal (empirical) Fisher information of a softmax classifier p = softmax(x W + b):

        F_θ = (1/N) Σ_n (∂ log p(y_n | x_n) / ∂θ)²        (squared PER EXAMPLE, then averaged)

    with ∂(−log p(y|x))/∂z = p − onehot(y), so ∂/∂W = xᵀ(p − onehot(y)) for one example.
    x: (N, d); W: (d, K); b: (K,); y: integer labels (N,).
    Return {"W": F_W (d, K), "b": F_b (K,)}.
    """
    # hint: e = p - onehot(y) per example (N, K); Σ_n (x_n,i e_n,j)² = ((x*x).T @ (e*e))_ij; divide by N
    z = x @ W + b
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    e = p.copy()
    e[np.arange(len(y)), y] -= 1.0
    n = x.shape[0]
    return {"W": (x * x).T @ (e * e) / n, "b": (e * e).sum(axis=0) / n}
