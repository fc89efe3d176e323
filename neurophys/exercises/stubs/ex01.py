"""Lesson 01 — Energy relaxation: exercises.

Fill in each function, then check your work with ``python -m neurophys check 01``.
"""
import numpy as np


def momentum_step(theta, v, grad, lr, momentum):
    """One step of gradient descent with momentum, read as a damped particle.

        v' = μ v − η ∇E(θ)          (inertia μ, force −∇E, step η)
        θ' = θ + v'

    theta, v, grad: float arrays of one shape; lr = η > 0; momentum = μ in [0, 1).
    Return the NEW pair (theta', v') as new arrays; leave the inputs unchanged.
    """
    raise NotImplementedError("hint: first the velocity v' = momentum * v - lr * grad, then the position theta' = theta + v'")


def xor_energy(y, t):
    """The energy of a prediction and the force it exerts on the outputs:

        E = (1/N) Σ_n ½ ‖y_n − t_n‖²,        ∂E/∂y_n = (y_n − t_n) / N

    y, t: arrays (N, k). Return (E as a Python float, dE_dy of shape (N, k)).
    """
    raise NotImplementedError('hint: d = y - t; E = 0.5 * (d * d).sum() / N and dE/dy = d / N')
