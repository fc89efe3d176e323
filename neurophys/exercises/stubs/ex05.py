"""Lesson 05 — The Dissipative Learning Machine: exercises.

Fill in each function, then check your work with ``python -m neurophys check 05``.
"""
import numpy as np


def dlm_velocity_update(v, grad, u, xi, c_in, c_out, dt, gamma, eps_inj, T, kappa):
    """One step of a DLM layer's weight-velocity dynamics (document 003), in this order:

        v ← v + √(ε dt) · u / ‖u‖                 energy injection (rate ε = eps_inj)
        D = γ Σ v²                                 the energy lost to the bath in this step
        v ← (1 − γ) v                              dissipation
        v ← v − dt · grad                          the gradient force −∇L
        v ← v + √(2 T dt) · ξ                      thermal noise (fluctuation–dissipation form)
        v ← v + κ dt · (c_in ⊗ c_out) / ‖c_in ⊗ c_out‖    the information-current drive

    v, grad, u, xi: arrays (n_in, n_out) (u and ξ are the random draws, given to you);
    c_in (n_in,), c_out (n_out,): the currents; ‖·‖ is the Frobenius norm.
    Return (v_new, D) with D a Python float; leave v unchanged.
    """
    raise NotImplementedError('hint: copy v first; D is measured after the injection and before the (1 - gamma) decay')


def update_currents(c_in, c_out, h, z):
    """The information currents of one DLM layer, exponential moving averages of activity:

        c_in  ← 0.9 c_in  + 0.1 ⟨|h|⟩_batch      (per input unit)
        c_out ← 0.9 c_out + 0.1 ⟨|z|⟩_batch      (per output unit)
        J     = mean(c_out) − mean(c_in)          (the net current, after the update)

    c_in (n_in,), c_out (n_out,); h: the layer's input (batch, n_in); z: its pre-activation
    (batch, n_out). Return (c_in_new, c_out_new, J) with J a Python float.
    """
    raise NotImplementedError('hint: |h|.mean(axis=0) is the batch average per unit')
