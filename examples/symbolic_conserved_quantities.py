"""Find conserved quantities in trajectories without labels (neurophys.symbolic.find_conserved).

Your own trajectories, from a CSV (header row) or .npz file in long form, one row
per sample (trajectory id, time, state columns):

    python examples/symbolic_conserved_quantities.py data.csv --id id --time t --state theta,omega \\
        --degree 2 --trig theta
    python examples/symbolic_conserved_quantities.py orbit.npz --id id --time t --state x,y,vx,vy \\
        --inverse-distance x,y --term "x*vy - y*vx"

Candidate terms (their linear combinations are searched):
  --degree N               monomials of the state up to degree N (default 2; 0: none)
  --trig VARS              sin and cos of these variables (angles), --harmonics K for sin(kθ), cos(kθ)
  --inverse-distance X,Y   1/sqrt(X^2 + Y^2) (repeatable)
  --term FORMULA           any formula of the state, read by a safe parser, e.g. "log(x)" (repeatable)

The data: missing values, repeated times and too-short trajectories stop with a
message naming the rows; unsorted times stop too unless --sort; trajectories of
different lengths are used each at its own length.

Without a file: --demo writes a noisy pendulum CSV (trajectories of different
lengths, noise 1e-3 of each variable's spread) and reads it back as above;
--system orbit|spring|projectile simulates lesson 10's systems instead.
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np

from neurophys import symbolic as S


def demo_pendulum_csv(n=24, noise=1e-3, seed=0, g=9.81):
    """A pendulum θ'' = −g sin θ: n trajectories of 150-250 samples, Gaussian noise, written as a CSV."""
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(seed)
    states, times = [], []
    for _ in range(n):
        s0 = [rng.uniform(-2.5, 2.5), rng.uniform(-2.0, 2.0)]
        t = np.linspace(0.0, 8.0, int(rng.integers(150, 251)))
        sol = solve_ivp(lambda _t, s: [s[1], -g * np.sin(s[0])], (t[0], t[-1]), s0, t_eval=t, rtol=1e-10,
                        atol=1e-12)
        states.append(sol.y.T)
        times.append(t)
    spread = np.concatenate(states).std(axis=0)
    states = [s + noise * spread * rng.standard_normal(s.shape) for s in states]
    path = Path(tempfile.mkdtemp()) / "pendulum_trajectories.csv"
    S.save_trajectories(path, states, times, ["theta", "omega"])
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="CSV or .npz of trajectories (long form)")
    p.add_argument("--id", default="id", help="the trajectory-id column (default id)")
    p.add_argument("--time", default="t", help="the time column (default t)")
    p.add_argument("--state", default="", help="comma-separated state columns")
    p.add_argument("--sort", action="store_true", help="sort each trajectory by time instead of stopping")
    p.add_argument("--demo", action="store_true", help="write and read a noisy pendulum CSV")
    p.add_argument("--system", choices=("orbit", "spring", "projectile"), help="simulate one of lesson 10's systems")
    p.add_argument("--n", type=int, default=100, help="trajectories to simulate (--system)")
    p.add_argument("--degree", type=int, default=2)
    p.add_argument("--trig", default="", help="comma-separated angle variables for sin/cos terms")
    p.add_argument("--harmonics", type=int, default=1)
    p.add_argument("--inverse-distance", action="append", default=[], help="coordinates, e.g. x,y (repeatable)")
    p.add_argument("--term", action="append", default=[], help="a formula of the state (repeatable)")
    p.add_argument("--noise-factor", type=float, default=2.0, help="drift allowed, in units of the noise floor")
    p.add_argument("--max-drift", type=float, default=0.1, help="largest drift that can count as conserved")
    p.add_argument("--tolerance", type=float, default=1e-3, help="drift that counts whatever the noise")
    a = p.parse_args(argv)

    try:
        if a.system:
            from neurophys.physics import mechanics as M
            names = list(M.STATE_NAMES[a.system])
            t, states = M.simulate(a.system, a.n, n_steps=200, integrator="rk45")
            trajectories, times = list(states), [t] * len(states)
            print(f"simulated {a.n} {a.system} trajectories (lesson 10's simulator)")
        else:
            path = a.file
            state = [c for c in a.state.split(",") if c]
            if a.demo or path is None:
                path, state = demo_pendulum_csv(), state or ["theta", "omega"]
                a.trig = a.trig or "theta"
                print(f"demonstration file: {path} (a pendulum; state theta, omega; noise 1e-3 of each spread)")
            if not state:
                raise ValueError("name the state columns with --state, e.g. --state x,v")
            data = S.load_trajectories(path, a.id, a.time, state, sort=a.sort)
            for note in data.notes:
                print(note)
            trajectories, times, names = data.states, data.times, data.names
        terms = S.build_library(names, degree=a.degree, trig=[v for v in a.trig.split(",") if v],
                                harmonics=a.harmonics,
                                inverse_distances=[tuple(g.split(",")) for g in a.inverse_distance],
                                expressions=a.term)
        res = S.find_conserved(trajectories, times, names, terms, tolerance=a.tolerance,
                               noise_factor=a.noise_factor, max_drift=a.max_drift)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"\ncandidate terms ({len(terms)}): {', '.join(str(t) for t in terms)}\n")
    print(res.report())
    print(f"\n{len(res)} conserved quantit{'y' if len(res) == 1 else 'ies'}:")
    for i, q in enumerate(res.quantities):
        print(f"  Q{i + 1} = {q.expr}")
        print(f"       drift {q.drift:.2e} (noise floor {q.noise_floor:.2e}), confidence {q.confidence:.2f}; "
              f"LaTeX: {S.to_latex(q.expr)}")
    return res


if __name__ == "__main__":
    main()
