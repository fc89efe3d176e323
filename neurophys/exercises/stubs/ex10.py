"""Lesson 10 — Trajectories and invariants: exercises.

Fill in each function, then check your work with ``python -m neurophys check 10``.
"""
import numpy as np


def verlet_step(accel, q, v, dt):
    """One velocity-Verlet (kick–drift–kick) step, symplectic and time-reversible:

        v_½     = v + ½ dt a(q)
        q'      = q + dt v_½
        v'      = v_½ + ½ dt a(q')

    accel: a function q -> a(q) (same shape as q); q, v: arrays (..., n_pos); dt may be negative
    (a step backwards in time). Return the new (q', v').
    """
    raise NotImplementedError('hint: two calls of accel per step: at the old position and at the new one')


def orbit_invariants(states, GM=3.986, m=1.0):
    """Energy and angular momentum of a Kepler orbit, for states [x, y, vx, vy] on the last axis:

        E = ½ m (vx² + vy²) − GM m / r,    r = √(x² + y²)
        L = m (x vy − y vx)

    states: (..., 4). Return (E, L), each of shape states.shape[:-1].
    """
    raise NotImplementedError('hint: x, y, vx, vy = (states[..., i] for i in range(4))')
