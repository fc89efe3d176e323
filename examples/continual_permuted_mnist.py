"""Continual learning on permuted MNIST: fine-tuning vs EWC vs SI vs replay, with the accuracy matrix.

    python examples/continual_permuted_mnist.py --tasks 5 --n-train 1000 --methods finetune ewc si

Prints R[i, j] (accuracy on task j after training task i) and the average accuracy,
backward transfer and forgetting of each method.
"""
import argparse

import numpy

from neurophys import backend as B
from neurophys.learning.continual import get_strategy, train_sequence
from neurophys.learning.tasks import permuted_mnist
from neurophys.models.mlp import MLP

STRENGTHS = {"ewc": dict(lam=300.0), "si": dict(c=10.0), "replay": dict(capacity=200)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=5)
    p.add_argument("--n-train", type=int, default=1000, help="training images per task")
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", nargs="+", default=["finetune", "ewc", "si", "replay", "joint"])
    args = p.parse_args()
    tasks = permuted_mnist(args.tasks, n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    numpy.set_printoptions(precision=2, suppress=True)
    for name in args.methods:
        net = MLP([784, args.hidden, args.hidden, 10], activation="relu", rng=B.rng(args.seed))
        res = train_sequence(net, tasks, get_strategy(name, **STRENGTHS.get(name, {})), epochs=args.epochs,
                             lr=1e-3, rng=args.seed)
        s = res.summary
        print(f"\n{name}: A = {s['acc']:.3f}  BWT = {s['bwt']:+.3f}  F = {s['forgetting']:.3f}  ({res.seconds:.1f} s)")
        print(res.R)


if __name__ == "__main__":
    main()
