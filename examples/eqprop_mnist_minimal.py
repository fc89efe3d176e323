"""Train an Equilibrium Propagation classifier on MNIST in a dozen lines, then let it dream.

    python examples/eqprop_mnist_minimal.py            # ~20k images, 1 epoch: a minute or so on a CPU

The network relaxes to equilibrium instead of running a forward pass, and learns
from the difference between a free and a label-nudged equilibrium (Scellier &
Bengio 2017). The generative step teaches the same energy to dream digits.
"""
import numpy

from neurophys import backend as B
from neurophys.data import load_mnist
from neurophys.models.eqprop import EqPropNet


def main(n_train=20000, epochs=1, seed=0):
    x_train, y_train, x_test, y_test = load_mnist(n_train=n_train)
    net = EqPropNet([784, 256, 10], eps=1.0, n_free=10, n_nudged=4, beta=0.5, lr=[0.2, 0.1], rng=B.rng(seed))
    rng = numpy.random.default_rng(seed)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(x_train), 32):
            idx = order[start:start + 32]
            net.train_step(x_train[idx], y_train[idx])                       # image → label
            net.train_generative_step(x_train[idx], y_train[idx], lr_scale=0.02, label_scale=10.0)  # label → image
        print(f"epoch {epoch + 1}: test accuracy {net.accuracy(x_test, y_test):.4f}")
    dreams = net.dream(numpy.arange(10), n_steps=10, label_scale=10.0)
    print("the network reads its own dreams as:", B.to_host(net.classify(dreams)).tolist())


if __name__ == "__main__":
    main()
