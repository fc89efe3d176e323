"""Equilibrium Propagation as an online regressor: learn y = f(x) one example at a time.

    python examples/eqprop_regression.py

A 2-64-2 EqPropNet with a linear output layer (targets of any range) learns a
smooth 2-D → 2-D map from single examples (a batch of one), the way a robot would
learn from a stream. No backpropagation: each update is the difference of two
equilibria (free and nudged) divided by β.
"""
import numpy

from neurophys import backend as B
from neurophys.models.eqprop import EqPropNet


def target_map(x):
    """The unknown law to learn: two smooth functions of two inputs."""
    return numpy.stack([numpy.sin(2 * x[:, 0]) + 0.5 * x[:, 1], 2.0 + x[:, 0] * x[:, 1]], axis=1)


def main(n_examples=3000, seed=0):
    rng = numpy.random.default_rng(seed)
    net = EqPropNet([2, 64, 2], linear_output=True, eps=1.0, n_free=15, n_nudged=6, beta=0.2,
                    lr=[0.05, 0.02], rng=B.rng(seed))
    x_test = rng.uniform(-1, 1, size=(500, 2)).astype("float32")
    t_test = target_map(x_test).astype("float32")
    print(f"test cost before: {float(net.cost(net.predict(x_test), t_test).mean()):.4f}")
    for i in range(n_examples):
        x = rng.uniform(-1, 1, size=2).astype("float32")
        info = net.train_step(x, target_map(x[None])[0])  # one example, one local update
        if (i + 1) % 1000 == 0:
            test_cost = float(net.cost(net.predict(x_test), t_test).mean())
            print(f"after {i + 1} examples: last cost {info['cost']:.4f}, test cost {test_cost:.4f}")


if __name__ == "__main__":
    main()
