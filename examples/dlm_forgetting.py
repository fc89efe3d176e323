"""The Dissipative Learning Machine of document 003: its original run replayed, then your own seeds.

    python examples/dlm_forgetting.py --seeds 0 1 2 3 4

The replay uses a NumPy twin of PyTorch's random stream, so the first line prints the
document's own 0.247 vs 0.593; the seeds show how much one run can be trusted.
"""
import argparse

import numpy

from neurophys.learning.doc003 import doc003_tasks, forgetting_trial, replay_original_main


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    p.add_argument("--coupled", action="store_true", help="let the entropy-production term act on the gradient")
    args = p.parse_args()
    r = replay_original_main()
    print(f"original run replayed: forgetting DLM {r['dlm']['forgetting']:.3f}, standard {r['std']['forgetting']:.3f}")
    tasks = doc003_tasks()
    d, s = [], []
    for seed in args.seeds:
        t = forgetting_trial(seed, tasks, entropy_coupling="coupled" if args.coupled else "detached")
        d.append(t["dlm"]["forgetting"])
        s.append(t["std"]["forgetting"])
        print(f"seed {seed}: DLM {d[-1]:.3f}  standard {s[-1]:.3f}")
    print(f"mean ± std: DLM {numpy.mean(d):.3f} ± {numpy.std(d):.3f}, standard {numpy.mean(s):.3f} ± {numpy.std(s):.3f}")


if __name__ == "__main__":
    main()
