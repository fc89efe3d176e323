"""Lesson 10 — Trajectories and invariants: reference solutions (for teachers, not shipped).

Check with ``python -m neurophys check 10 --path solutions``.
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
    # hint: two calls of accel per step: at the old position and at the new one
    v_half = v + 0.5 * dt * accel(q)
    q_new = q + dt * v_half
    return q_new, v_half + 0.5 * dt * accel(q_new)


def orbit_invariants(states, GM=3.986, m=1.0):
    """Energy and angular momentum of a Kepler orbit, for states [x, y, vx, vy] on the last axis:

        E = ½ m (vx² + vy²) − GM m / r,    r = √(x² + y²)
        L = m (x vy − y vx)

    states: (..., 4). Return (E, L), each of shape states.shape[:-1].
    """
    # hint: x, y, vx, vy = (states[..., i] for i in range(4))
    x, y, vx, vy = (states[..., i] for i in range(4))
    r = np.sqrt(x * x + y * y)
    return 0.5 * m * (vx * vx + vy * vy) - GM * m / r, m * (x * vy - y * vx)
