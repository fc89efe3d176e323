"""Train a small network by energy relaxation on your own 2-D data (here: two rings).

    python examples/relaxation_own_data.py --epochs 2000 --out rings.png

The network is neurophys's hand-written MLP; training is momentum descent on
E = (1/N) Σ ½‖y − t‖² (neurophys.learning.relaxation), with a melt-and-re-quench
if the energy stalls. Replace `make_rings` by your own (x, t) arrays.
"""
import argparse

import numpy

from neurophys import backend as B
from neurophys.blocks import SGD
from neurophys.learning.relaxation import relax_with_requench
from neurophys.models.mlp import MLP


def make_rings(n: int, seed: int = 0):
    """Points on two noisy rings (radius 0.5 → target 0, radius 1.0 → target 1)."""
    rng = numpy.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    radius = 0.5 + 0.5 * label + 0.08 * rng.standard_normal(n)
    angle = rng.uniform(0, 2 * numpy.pi, n)
    x = numpy.column_stack([radius * numpy.cos(angle), radius * numpy.sin(angle)])
    return B.asarray(x), B.asarray(label[:, None])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="PNG of the decision boundary (optional)")
    args = parser.parse_args()

    x, t = make_rings(200, args.seed)
    net = MLP([2, args.hidden, 1], "tanh", "sigmoid", rng=B.rng(args.seed), init="xavier")
    melt_rng = B.rng(args.seed + 1)
    E, _, melts = relax_with_requench(net, x, t, lambda: SGD(lr=args.lr, momentum=0.9), args.epochs,
                                      melt=lambda n: n.reset(melt_rng), batch_size=32,
                                      rng=numpy.random.default_rng(args.seed))
    accuracy = float(((B.to_host(net(x)) > 0.5) == (B.to_host(t) > 0.5)).mean())
    print(f"energy {E[0]:.4f} -> {E[-1]:.4f} in {args.epochs} epochs ({len(melts)} re-quenches); "
          f"training accuracy {accuracy:.3f}")
    if args.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        g = numpy.linspace(-1.5, 1.5, 150)
        X, Y = numpy.meshgrid(g, g)
        Z = B.to_host(net(B.asarray(numpy.column_stack([X.ravel(), Y.ravel()])))).reshape(X.shape)
        fig, ax = plt.subplots(figsize=(4.5, 4.2))
        ax.contourf(X, Y, Z, levels=20, cmap="coolwarm")
        ax.contour(X, Y, Z, levels=[0.5], colors="k")
        ax.scatter(*B.to_host(x).T, c=B.to_host(t).ravel(), cmap="coolwarm", edgecolors="k", s=12)
        fig.savefig(args.out, dpi=110, bbox_inches="tight")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
