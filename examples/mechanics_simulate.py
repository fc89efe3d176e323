"""Simulate Kepler orbits two ways, check their invariants, save them as a data set.

    python examples/mechanics_simulate.py [--system orbit] [--n 200] [--out orbits.npz]

Shows `neurophys.physics.mechanics` outside the course: random initial
conditions, scipy's RK45 and the hand-written velocity Verlet, the invariants
(energy; angular momentum for the orbit), and a pickle-free .npz data set.
"""
import argparse

import numpy as np

from neurophys.physics import mechanics as M

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--system", choices=M.SYSTEMS, default="orbit")
parser.add_argument("--n", type=int, default=200, help="number of trajectories")
parser.add_argument("--t-max", type=float, default=50.0, help="seconds of motion")
parser.add_argument("--out", default=None, help="save the RK45 trajectories here (.npz)")
args = parser.parse_args()

for integrator in M.INTEGRATORS:
    t, states, info = M.simulate(args.system, args.n, t_max=args.t_max, n_steps=500, integrator=integrator,
                                 seed=0, return_info=True)
    inv = M.invariants(args.system, states)
    line = f"{integrator:>6}: {info['nfev'] / args.n:8.0f} force evaluations per trajectory, " \
           f"energy drift median {np.median(M.relative_drift(inv['total'])):.2e}"
    if "angular_momentum" in inv:
        line += f", angular momentum drift {np.median(M.relative_drift(inv['angular_momentum'])):.2e}"
    print(line)
    if integrator == "rk45" and args.out:
        M.save_dataset(args.out, args.system, t, states, integrator="rk45", seed=0)
        print(f"saved {states.shape} to {args.out}; keys: {sorted(np.load(args.out, allow_pickle=False).files)}")
