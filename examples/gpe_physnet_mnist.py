"""Train document 000's PhysNet (or its no-physics control) on MNIST, then on permuted MNIST.

    python examples/gpe_physnet_mnist.py --physics euler --epochs 5          # the document's protocol
    python examples/gpe_physnet_mnist.py --physics identity --n-train 5000   # the control, on a subset

Writes a JSON file (--out) after every epoch: accuracies, forgetting, seconds per epoch.
"""
import argparse
import json
import time

import numpy

from neurophys import backend as B
from neurophys.blocks import get_optimizer
from neurophys.learning import continual
from neurophys.learning.tasks import permuted_mnist
from neurophys.models.physnet import PhysNet

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--physics", default="euler", choices=["euler", "splitstep", "identity"])
parser.add_argument("--n-steps", type=int, default=5)
parser.add_argument("--dt", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=5, help="epochs per task (the document: 5)")
parser.add_argument("--n-train", type=int, default=None, help="training images per task (default: all 60000)")
parser.add_argument("--n-test", type=int, default=None, help="test images (default: all 10000)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--perm-seed", type=int, default=1234, help="seed of the fixed pixel permutation")
parser.add_argument("--check-stability", action="store_true",
                    help="refuse Euler steps beyond dt·ω_max = 1 (the document does not check; off by default)")
parser.add_argument("--out", default="physnet_run.json")
args = parser.parse_args()

tasks = permuted_mnist(n_tasks=2, n_train=args.n_train, n_test=args.n_test, seed=args.perm_seed,
                       normalise="standard")
net = PhysNet(physics=args.physics, n_steps=args.n_steps, dt=args.dt, rng=B.rng(1000 * args.seed),
              check_stability=args.check_stability)
opt = get_optimizer("adam", lr=1e-3)          # one optimizer for both tasks, as in the document
shuffle = numpy.random.default_rng(args.seed)
R = numpy.full((2, 2), numpy.nan)
log = {"args": vars(args), "n_params": net.n_params(), "epoch_seconds": [], "R": None}


def save():
    log["R"] = R.tolist()
    log["euler_max_dt_omega"] = net["gpe"].max_dt_omega   # largest dt·ω_max at injection (Euler's margin)
    if not numpy.isnan(R[1, 0]):
        log["summary"] = {"task1_accuracy": R[0, 0], "task2_accuracy": R[1, 1], "task1_after_task2": R[1, 0],
                          "forgetting": continual.forgetting(R)}
    with open(args.out, "w") as fh:
        json.dump(log, fh, indent=2)


for i, task in enumerate(tasks):
    for epoch in range(args.epochs):
        t0 = time.time()
        continual.train_task(net, task.x_train, task.y_train, continual.Strategy(), opt, 1, 128, shuffle)
        log["epoch_seconds"].append(time.time() - t0)
        print(f"task {i + 1} epoch {epoch + 1}/{args.epochs}: {log['epoch_seconds'][-1]:.0f} s, "
              f"max dt·ω_max so far {net['gpe'].max_dt_omega:.3f}", flush=True)
        save()
    R[i, i] = continual.evaluate(net, task.x_test, task.y_test)
    if i == 1:
        R[1, 0] = continual.evaluate(net, tasks[0].x_test, tasks[0].y_test)
    print(f"after task {i + 1}: R = {R.tolist()}", flush=True)
    save()
print(json.dumps(log.get("summary", {}), indent=2))
