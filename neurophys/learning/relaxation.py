"""Training read as energy relaxation (document 001).

The network's weights θ are the coordinates of a particle; the energy is the
squared error of its predictions,

    E(θ) = (1/N) Σ_n ½‖f(x_n; θ) − t_n‖²,

and momentum gradient descent (``blocks.SGD``) is a damped inertial motion
down this landscape: v ← μv − η∇E, θ ← θ + v. "Training" is the relaxation of
E toward a minimum; recording E every epoch gives the relaxation curve.
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .. import validate as V
from ..blocks import squared_error, squared_error_grad
from ..data import minibatches


def relax(net, x, t, optimizer, epochs: int, batch_size: int | None = None, rng=None,
          snapshot_every: int | None = None, snapshot=None):
    """Train ``net`` (forward/backward/params/grads) on (x, t) by minibatch descent on E.

    Returns ``(energies, snapshots)``: E over the whole set after every epoch
    (index 0 is before training), and ``snapshot(net)`` taken every
    ``snapshot_every`` epochs (and at epoch 0) if a callback is given.
    A run whose energy becomes NaN or inf stops with a DivergenceError that names the step size.

    >>> import numpy
    >>> from neurophys import backend as B
    >>> from neurophys.blocks import Adam
    >>> from neurophys.learning.relaxation import relax
    >>> from neurophys.models.mlp import MLP
    >>> x = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=numpy.float32)
    >>> t = numpy.array([[0], [1], [1], [0]], dtype=numpy.float32)          # XOR
    >>> E, _ = relax(MLP([2, 8, 1], rng=B.rng(0)), x, t, Adam(0.05), epochs=300)
    >>> len(E), bool(E[-1] < 1e-3 * E[0])                                   # the energy relaxed
    (301, True)
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    batch_size = len(x) if batch_size is None else int(batch_size)
    rng = numpy.random.default_rng(0) if rng is None else rng
    energies = [squared_error(net.forward(x), t)]
    snapshots = [snapshot(net)] if snapshot and snapshot_every else []
    for epoch in range(1, epochs + 1):
        for xb, tb in minibatches(x, t, batch_size, rng=rng):
            y = net.forward(xb)
            net.backward(squared_error_grad(y, tb))
            optimizer.step(net.params, net.grads)
        energies.append(squared_error(net.forward(x), t))
        V.check_finite("the energy E", energies[-1], where=f"epoch {epoch}", x=x,
                       fix=f"lower the learning rate (lr={getattr(optimizer, 'lr', '?')})")
        if snapshot and snapshot_every and epoch % snapshot_every == 0:
            snapshots.append(snapshot(net))
    return numpy.array(energies), snapshots


def separates(y, t, margin: float = 0.1, threshold: float = 0.5) -> bool:
    """True when every output lies on the target's side of ``threshold`` by ``margin``.

    For XOR with 0/1 targets: y > 0.6 where t = 1 and y < 0.4 where t = 0.
    """
    y, t = B.to_host(y), B.to_host(t)
    above = t > threshold
    return bool(numpy.all(y[above] > threshold + margin) and numpy.all(y[~above] < threshold - margin))


def relax_with_requench(net, x, t, optimizer_factory, epochs: int, melt, segment: int = 500,
                        settled_energy: float = 0.01, min_progress: float = 0.1,
                        batch_size: int | None = None, rng=None,
                        snapshot_every: int | None = None, snapshot=None):
    """Relaxation that melts and re-quenches a system stuck in a metastable state.

    Momentum descent finds the minimum (or the plateau) of the basin it starts
    in. Every ``segment`` epochs the energy is inspected: if it is still above
    ``settled_energy`` and fell by less than the fraction ``min_progress`` over
    the segment, the weights are stuck, so the system is melted (``melt(net)``
    redraws the weights from their initial distribution: infinite temperature)
    and quenched again with a fresh optimizer (velocity v = 0). A metallurgist
    does the same with a badly cooled casting.

    Returns ``(energies, snapshots, melt_epochs)``.
    """
    rng = numpy.random.default_rng(0) if rng is None else rng
    energies, snapshots, melts = None, [], []
    optimizer, done = optimizer_factory(), 0
    while done < epochs:
        n = min(segment, epochs - done)
        e, snaps = relax(net, x, t, optimizer, n, batch_size, rng, snapshot_every, snapshot)
        if energies is None:
            energies, snapshots = e, snaps
        else:  # each segment's epoch-0 entry repeats the previous segment's last one
            energies = numpy.concatenate([energies, e[1:]])
            snapshots += snaps[1:]
        done += n
        stuck = e[-1] > settled_energy and e[-1] > (1.0 - min_progress) * e[0]
        if stuck and done < epochs:
            melt(net)
            optimizer = optimizer_factory()
            melts.append(done)
    return energies, snapshots, melts
