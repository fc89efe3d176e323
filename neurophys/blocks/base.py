"""The protocol every layer and model shares, written once.

A **layer** or **model** has

- ``params`` and ``grads``: dicts of arrays with the same keys (what an optimizer steps:
  ``opt.step(m.params, m.grads)``);
- ``forward(x)``: the output for a batch (the first axis is the batch); ``backward(dout)``
  where the block has one: fills ``grads`` with ∂L/∂θ given ∂L/∂output, returns ∂L/∂x;
- ``n_params()``: the number of learnable numbers;
- ``predict(x)``: the output used for decisions (``forward`` unless the model says otherwise).

A **model** also has the training verb ``learn(x, y, ...)``: one pass over the data given
(an epoch of minibatches, or one step for online models; each model documents which),
returning a dict of what it measured (at least ``'loss'``). ``after_update()`` is the
hook a model uses to advance its own dynamics after every optimizer step (the DLM).

``tests/test_conformance.py`` runs every layer and model through the same checks
(gradients by central differences, shapes, dtypes, refusal of bad input, determinism).
"""
from __future__ import annotations

from .. import validate as V
from ..data import minibatches
from .losses import softmax_cross_entropy, softmax_cross_entropy_grad


class Module:
    """The shared protocol: ``params``, ``grads``, ``n_params``, ``predict``, ``after_update``."""

    params: dict
    grads: dict

    def n_params(self) -> int:
        """Σ over parameters of their sizes."""
        return int(sum(p.size for p in self.params.values()))

    def predict(self, x):
        return self.forward(x)

    def after_update(self) -> None:
        """Called by the training loops after every optimizer step (nothing by default)."""


class Classifier(Module):
    """A model trained on integer labels with the softmax cross-entropy (MLP, DLM, PhysNet).

    ``loss(z, labels)`` is the objective the model reports (the DLM adds its entropy term);
    the gradient that drives learning is ∂CE/∂z (plus a strategy's penalty, if one is given).
    """

    def loss(self, z, labels) -> float:
        return softmax_cross_entropy(z, labels)

    def learn(self, x, y, opt, batch_size: int | None = None, rng=None, strategy=None,
              where: str = "") -> dict:
        """One pass (epoch) over (x, y): for each minibatch (all of x at once when
        ``batch_size`` is None; shuffled by the NumPy generator ``rng`` otherwise)

            z = forward(x_b);  backward(∂CE/∂z);  [strategy: ∂Ω/∂θ added];  opt.step;  after_update()

        batch_size: a positive int, or None for one full batch; a model with a ``chunk``
        (a Sequential: PhysNet, FieldOnlyNet) refuses training batches larger than its chunk.
        strategy: an object with ``batch(x, y)``, ``add_penalty_grads(params, grads)`` and
        ``after_update(net, task_grads)`` (a :class:`neurophys.learning.continual.Strategy`).
        Returns {'loss': mean CE over the examples, 'objective': mean ``loss`` (differs from
        CE for models with an extra term), 'acc': fraction of forward-pass argmaxes right}.
        Raises :class:`~neurophys.validate.DivergenceError` when the loss or, at the end of
        the pass, any weight is NaN/inf (``where`` says which task/epoch, for the message).
        """
        x = V.as_float_array("x", x)
        y = V.labels("y", y, _n_out(self, x), n=x.shape[0])
        if batch_size is not None:
            batch_size = V.positive_int("batch_size", batch_size)
        _check_batch_fits(self, x.shape[0], batch_size)
        batches = [(x, y)] if batch_size is None else minibatches(x, y, batch_size, rng=rng)
        own_loss = type(self).loss is not Classifier.loss
        total = objective = 0.0
        correct = n = 0
        fix = f"lower the learning rate ({V.lr_text(opt)})"
        for b, (xb, yb) in enumerate(batches):
            if strategy is not None:
                xb, yb = strategy.batch(xb, yb)
            z = self.forward(xb)
            ce = softmax_cross_entropy(z, yb)
            V.check_finite("the training loss", ce, where=_where(where, b), fix=fix, x=xb)
            obj = self.loss(z, yb) if own_loss else ce
            objective += obj * len(yb)
            correct += int((z.argmax(axis=1) == yb).sum())
            self.backward(softmax_cross_entropy_grad(z, yb))
            if strategy is not None:
                task_grads = {k: g.copy() for k, g in self.grads.items()}
                strategy.add_penalty_grads(self.params, self.grads)
            opt.step(self.params, self.grads)
            if strategy is not None:
                strategy.after_update(self, task_grads)
            self.after_update()
            total += ce * len(yb)
            n += len(yb)
        V.check_params(self.params, where=where or "the end of the pass", fix=fix, x=x)
        if b == 0:  # one batch: its own values (L·n/n can differ from L in the last bit)
            return {"loss": ce, "objective": obj, "acc": correct / n}
        return {"loss": total / n, "objective": objective / n, "acc": correct / n}


def _check_batch_fits(model, n: int, batch_size) -> None:
    """NeurophysInputError when a training batch would be larger than the model's ``chunk`` (the most
    examples a Sequential backpropagates at once; bigger forwards run in chunks, for evaluation only)."""
    chunk = getattr(model, "chunk", None)
    batch = n if batch_size is None else min(batch_size, n)
    if chunk is None or batch <= chunk:
        return
    given = (f"without batch_size, learn trains on all {n} examples of x in one batch" if batch_size is None
             else f"batch_size={batch_size} makes batches of {batch} examples")
    raise V.NeurophysInputError(f"{given}, but {type(model).__name__} backpropagates at most {chunk} examples "
                                f"at a time (its chunk); pass batch_size <= {chunk}, e.g. "
                                f"learn(x, y, opt, batch_size={min(chunk, 64)}, rng=...)")


def _n_out(model, x) -> int:
    sizes = getattr(model, "sizes", None)
    if sizes:
        return int(sizes[-1])
    return int(getattr(model, "n_classes", 10))


def _where(where: str, batch: int) -> str:
    return f"{where}, batch {batch}" if where else f"batch {batch}"
