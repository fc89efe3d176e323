"""Find conserved quantities in trajectories without labels (neurophys.symbolic.find_conserved).

    python examples/symbolic_conserved_quantities.py [--system orbit|spring|projectile] [--n 100]

Simulates trajectories with neurophys.physics.mechanics, then looks for the
combinations of candidate terms (monomials up to degree 2; 1/r for the orbit)
that stay constant along each trajectory but differ between trajectories.
"""
import argparse

from neurophys import symbolic as S
from neurophys.physics import mechanics as M


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", default="orbit", choices=M.SYSTEMS)
    p.add_argument("--n", type=int, default=100, help="number of trajectories")
    p.add_argument("--threshold", type=float, default=1e-2, help="drift below which a quantity counts as conserved")
    a = p.parse_args()
    names = list(M.STATE_NAMES[a.system])
    t, states = M.simulate(a.system, a.n, n_steps=200, integrator="rk45")
    terms = S.term_library(a.system)          # monomials up to degree 2 (+ 1/r for the orbit)
    res = S.find_conserved(states, t, names, terms, threshold=a.threshold)
    print(f"{a.system}: {len(res)} conserved quantities (drift < {a.threshold}); smallest drifts "
          f"{', '.join(f'{d:.1e}' for d in res.drifts[:len(res) + 2])}")
    for q in res.quantities:
        print("  ", q)


if __name__ == "__main__":
    main()
