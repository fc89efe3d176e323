"""The colour of a Dissipative Learning Machine's activity: Welch spectrum and log-log slope.

    python examples/dlm_noise_spectrum.py --steps 4096 --band 0.008 0.1
"""
import argparse

import numpy

from neurophys import backend as B
from neurophys.blocks import Adam
from neurophys.learning.spectrum import noise_colour, psd_slope
from neurophys.learning.tasks import gaussian_clusters
from neurophys.learning.doc003 import DOC003_DLM, DOC003_SIZES, free_run_activity, train_full_batch
from neurophys.models.dlm import DissipativeLearningMachine


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4096)
    p.add_argument("--band", type=float, nargs=2, default=[0.008, 0.1])
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    X, y = gaussian_clusters(500, seed=args.seed)
    X, y = B.asarray(X, dtype=B.float_dtype()), B.xp().asarray(y)
    dlm = DissipativeLearningMachine(DOC003_SIZES, **dict(DOC003_DLM, temperature=args.temperature),
                                     rng=B.rng(args.seed))
    train_full_batch(dlm, X, y, 100, Adam(lr=0.01))
    probe = B.asarray(numpy.random.default_rng(args.seed + 1).standard_normal((1, 20)), dtype=B.float_dtype())
    slope, f, P = psd_slope(free_run_activity(dlm, probe, args.steps), tuple(args.band))
    print(f"slope {slope:.2f} over f in {args.band} cycles/step -> {noise_colour(slope)} (beta = {-slope:.2f})")


if __name__ == "__main__":
    main()
