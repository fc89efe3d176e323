# %% [markdown]
# # Lesson 06 — Equilibrium Propagation on MNIST
#
# **Question.** Can a network that computes by *relaxing to equilibrium*, and that
# changes each weight using only the two neurons it connects, learn handwritten
# digits as well as backpropagation does?
#
# **Physics.** The network is a physical system with states s = (x, h, y) and the
# Hopfield-like energy (Scellier & Bengio 2017, ρ the hard sigmoid clip(s, 0, 1))
#
#     E(s) = ½‖h‖² + ½‖y‖² − x W₀ ρ(h) − ρ(h) W₁ ρ(y) − b₀ ρ(h) − b₁ ρ(y).
#
# *Free phase*: clamp the image x, start from h = y = 0 and let the states slide
# downhill, s ← clip(s − ε ∂E/∂s, 0, 1), until they stop: the output y at rest is
# the prediction. *Nudged phase*: from there, add a weak force towards the label t,
# F = E + β·½‖y − t‖², and relax a few more steps. The theorem of EqProp says that
# the change of ∂E/∂θ between the two equilibria, divided by β, is the gradient of
# the cost — so the learning rule is local and Hebbian:
#
#     ΔW₁ ∝ (1/β) [ρ(h^β)ᵀρ(y^β) − ρ(h⁰)ᵀρ(y⁰)]   (a weight sees only its two neurons).
#
# We use the *symmetric* estimate with +β and −β nudges (Laborieux et al. 2021),
# which removes the O(β) bias of the one-sided one. `tests/test_eqprop.py` checks
# the theorem itself: for β → 0 the update matches a finite-difference gradient of
# the cost through a converged relaxation (cosine > 0.99).
#
# **Experiment.** A 784-1000-10 network on the real MNIST 60k/10k. Then document
# 004's own configuration (784-500-10), which never reported an accuracy.

# %%
import time

import numpy

from neurophys import backend as B
from neurophys import course
from neurophys.data import load_mnist, shift_images
from neurophys.models.eqprop import EqPropNet
from neurophys.plots.eqprop import plot_learning_curves, plot_relaxation

ctx = course.start("06")

# The classroom recipe (measured to reach 97.5 % fast): ε = 1 (each step jumps to the
# layer's momentary optimum, so 10 free steps suffice), small batches, layer-wise rates,
# and a wide hidden layer (1000 units: with a clamped input, the relaxation itself costs
# little; the width is paid once per example in x W₀ and in the update).
settings = dict(
    hidden=ctx.pick(quick=100, default=1000, full=1000),
    n_train=ctx.pick(quick=3000, default=None, full=None),
    n_test=ctx.pick(quick=1000, default=None, full=None),
    epochs=ctx.pick(quick=2, default=5, full=15),
    batch_size=32,
    eps=1.0, n_free=10, n_nudged=4, beta=0.5, nudging="symmetric",
    lr=[0.2, 0.1], momentum=0.0, energy="scellier",
    final_lr_fraction=0.1,  # the rates decay geometrically, epoch by epoch, to this fraction
    # full tier only: each epoch, every training image is moved by a random whole-pixel shift of
    # at most this many pixels (up/down and left/right), against memorisation; 0 = no shifts.
    # The size was chosen on a 55k/5k split of the *training* set (validation accuracy), not on
    # the test set; see "Against memorisation" below.
    max_shift=ctx.pick(quick=1, default=0, full=1),
)
x_train, y_train, x_test, y_test = load_mnist(n_train=settings["n_train"], n_test=settings["n_test"])
ctx.log(f"MNIST: {len(x_train)} training and {len(x_test)} test images; "
        f"training images shifted by up to {settings['max_shift']} px each epoch")
n_eval = min(10000, len(x_train))  # training accuracy on a fixed 10k subset (cheaper)

# %% [markdown]
# ## Training
# One epoch = one free phase + two nudged phases + one local update per minibatch.
# The learning rates shrink geometrically from epoch to epoch (to 10 % in the last),
# which lets the weights settle instead of jittering around the minimum. The default
# tier trains 5 epochs (under a minute of CPU here; the rates decay over those 5);
# `--full` trains 15 epochs with shifted images (below), the run behind the 98 % bar.
#
# **Against memorisation (full tier).** Trained for 15 epochs on the plain images, the
# network reaches nearly 100 % training accuracy while its test accuracy stops climbing
# after a few epochs: it memorises. The full tier therefore shows the network a slightly
# different training set every epoch — each image moved by a random whole-pixel shift of
# at most `max_shift` pixels in each direction (a digit moved by a pixel is still the same
# digit). How large a shift? We did not pick it by test accuracy: we held out 5 000 of the
# 60 000 training images, trained on the other 55 000 with shifts of 1 and of 2 pixels,
# and kept the one with the higher *validation* accuracy after the last epoch. (Honest
# footnote: the *need* for a regulariser was seen in an earlier full-tier run without shifts,
# whose test accuracy, read after the fact, stayed just under 98 %.) The lesson
# then trains that setting, as stated, on all 60 000 images and tests once on the 10 000.
# The shifts are `neurophys.data.shift_images` (pad by the shift, crop a window moved by (dy, dx)).

# %%
net = EqPropNet([784, settings["hidden"], 10], energy=settings["energy"], eps=settings["eps"],
                n_free=settings["n_free"], n_nudged=settings["n_nudged"], beta=settings["beta"],
                nudging=settings["nudging"], lr=settings["lr"], momentum=settings["momentum"], rng=ctx.rng())
shuffle = ctx.host_rng()
history = {"epoch": [], "train_accuracy": [], "test_accuracy": [], "cost": [], "seconds": [], "cpu_seconds": []}
decay = settings["final_lr_fraction"] ** (1.0 / max(settings["epochs"] - 1, 1))
for epoch in range(1, settings["epochs"] + 1):
    net.lrs = [lr * decay ** (epoch - 1) for lr in settings["lr"]]  # the SGD steps read net.lrs
    t0, c0 = time.perf_counter(), time.process_time()
    x_epoch = shift_images(x_train, settings["max_shift"], shuffle)
    info = net.learn(x_epoch, y_train, batch_size=settings["batch_size"], rng=shuffle,
                     progress=lambda it, **kw: ctx.progress(it, desc=f"epoch {epoch}/{settings['epochs']}", **kw))
    B.synchronize()
    seconds = time.perf_counter() - t0
    history["cpu_seconds"].append(time.process_time() - c0)  # not inflated by other programs
    history["epoch"].append(epoch)
    history["cost"].append(info["cost"])
    history["seconds"].append(seconds)
    history["train_accuracy"].append(net.accuracy(x_train[:n_eval], y_train[:n_eval]))
    history["test_accuracy"].append(net.accuracy(x_test, y_test))
    ctx.log(f"epoch {epoch}: cost {info['cost']:.4f}  train {history['train_accuracy'][-1]:.4f}  "
            f"test {history['test_accuracy'][-1]:.4f}  ({seconds:.1f} s)")

ctx.savefig(plot_learning_curves(history, f"EqProp 784-{settings['hidden']}-10 on MNIST"), "learning_curves.png")

# %% [markdown]
# ## Watching one example relax
# We take the test digit the trained network finds hardest. In the free phase the
# energy falls step after step and settles; the nudge then adds βC, so F = E + βC
# jumps up, and the states slide to a new rest point with the output moved towards
# the label (right panel). The learning rule reads the difference of these two rest
# points. (With ε = 1 the synchronous step is not exact gradient descent, so
# monotone descent is an observation, not a theorem; we log it.)

# %%
# the test digit among the first 500 that the trained network finds hardest (largest free-phase cost)
probe = net.predict(x_test[:500])
hard = int(B.to_host(net.cost(probe, net.as_target(y_test[:500], 500)).argmax()))
x1, t1 = x_test[hard:hard + 1], net.as_target(y_test[hard:hard + 1], 1)
s = net.init_states(x1)
energy, cost = [float(B.to_host(net.energy(s)[0]))], [float(B.to_host(net.cost(s[-1], t1)[0]))]
n_show = 2 * settings["n_free"]
for step in range(n_show):  # free phase, one step at a time so that we can watch it
    s = net.relax(s, n_steps=1)
    energy.append(float(B.to_host(net.energy(s)[0])))
    cost.append(float(B.to_host(net.cost(s[-1], t1)[0])))
for step in range(3 * settings["n_nudged"]):  # nudged phase, continuing from the free state
    s = net.relax(s, beta=settings["beta"], target=t1, n_steps=1)
    energy.append(float(B.to_host(net.energy(s)[0] + settings["beta"] * net.cost(s[-1], t1)[0])))
    cost.append(float(B.to_host(net.cost(s[-1], t1)[0])))
label, guess = int(B.to_host(y_test[hard])), int(B.to_host(probe[hard].argmax()))
ctx.savefig(plot_relaxation(energy, cost, n_show, settings["beta"],
                            f"test digit #{hard}: label {label}, network says {guess}"), "relaxation_energy.png")
free_descends = bool(numpy.all(numpy.diff(energy[:n_show + 1]) <= 1e-4))
ctx.log(f"free-phase energy decreases monotonically: {free_descends}")

# %% [markdown]
# ## Document 004's own configuration
# 784-500-10 on the *raw states* energy, β = 1 one-sided, 30 free / 10 nudged steps,
# ε = 0.5, synchronous updates, SGD lr 0.1, batch 128, 5 epochs (the full tier runs
# all 5; the other tiers run one epoch to show the trend). The original summed the
# energy over the batch, so its gradient is a batch *sum*: with our batch-mean update
# the same step is lr = 0.1 × 128 = 12.8. We also run the reading "lr 0.1 on the batch
# mean", to see whether the learning rate is what decides the outcome.

# %%
doc_epochs = ctx.pick(quick=1, default=1, full=5)
doc_curves, doc_pinned, doc_distinct = {}, {}, {}
for name, doc_lr in (("as_written", 0.1 * 128), ("mean_lr", 0.1)):
    doc = EqPropNet([784, 500, 10], energy="raw", eps=0.5, n_free=30, n_nudged=10, beta=1.0,
                    nudging="one-sided", order="synchronous", lr=doc_lr, rng=ctx.rng(1))
    doc_curves[name] = []
    for epoch in range(doc_epochs):
        doc.learn(x_train, y_train, batch_size=128, rng=shuffle,
                  progress=lambda it, **kw: ctx.progress(it, desc=f"document config ({name})", **kw))
        doc_curves[name].append(doc.accuracy(x_test, y_test))
        ctx.log(f"document config {name} (lr {doc_lr:g} on the batch mean), epoch {epoch + 1}: "
                f"test {doc_curves[name][-1]:.4f}")
    # diagnosis: units pinned at a wall of the box [0, 1] cannot be moved by a weak nudge,
    # so they carry no learning signal; how many are pinned, and how many different answers remain?
    s_doc = doc.free_phase(x_test[:1000])
    hidden = s_doc[1]
    doc_pinned[name] = float(B.to_host(((hidden == 0) | (hidden == 1)).mean()))
    doc_distinct[name] = int(len(numpy.unique(B.to_host(s_doc[-1].argmax(axis=1)))))
    ctx.log(f"document config {name}: hidden units pinned at 0 or 1: {doc_pinned[name]:.3f}; "
            f"distinct predicted digits on 1000 test images: {doc_distinct[name]}")
doc_settings = dict(hidden=500, energy="raw", beta=1.0, nudging="one-sided", order="synchronous", n_free=30,
                    n_nudged=10, eps=0.5, lr_batch_sum=0.1, batch_size=128, epochs=doc_epochs,
                    test_accuracy_per_epoch=doc_curves)

# %% [markdown]
# Read the numbers logged above. With the step as written (12.8 on the batch mean) the
# first updates push the weights and biases so far that almost every hidden unit is
# pinned at a wall of the box (a healthy network has many units resting at 0 too —
# compare the two fractions), and the drive on a pinned unit dwarfs the nudge: the
# nudged state equals the free state, the update is zero, and the network freezes with
# a single answer for every image (`document_config_distinct_predictions`). With
# lr 0.1 on the batch mean the same settings learn.

# %% [markdown]
# ## What it means
# The network never ran a backward pass, yet its two-phase, local rule trains it to
# the test accuracy logged above (`results.json`); Scellier & Bengio (2017) report
# about 2 % test error for MLPs of this size after 25 epochs. The price is time:
# every minibatch needs 10 free and 2 × 4 nudged relaxation steps instead of one
# forward and one backward pass. In the full tier, document 004's own settings are
# run too: compare `document_config_test_accuracy` with ours and read exercise 1.
# Look at `learning_curves.png` and `relaxation_energy.png`. Run long enough on the
# plain images, the training accuracy climbs to nearly 100 % while the test accuracy
# levels off: with no regulariser the network memorises the training set, so more
# epochs alone do not buy the last half point. The full tier's random pixel shifts
# make memorising harder (compare its gap between training and test accuracy with the
# default tier's). We report the last epoch, never the best one: choosing the epoch by
# its test accuracy would be training on the test set; the shift size was chosen on a
# validation split of the training images for the same reason.
#
# ## Exercises
# 1. Set `nudging="one-sided"` and β = 1 (the document's choice). How much accuracy
#    does the O(β) bias of the gradient estimate cost?
# 2. Lower `n_free` to 3. The free phase no longer reaches equilibrium — what happens
#    to the theorem, and to the accuracy?
# 3. Set ε = 0.5 (the document's step) and keep `n_free=10`. Plot the free-phase energy:
#    how many steps does it now need to settle?
# 4. Add a second hidden layer, `EqPropNet([784, 500, 500, 10], lr=[0.4, 0.1, 0.01])`. Why do
#    the deeper layers need larger rates?
# 5. Halve the hidden layer to 500 units. How much test accuracy does the width buy,
#    and what does it cost per epoch? Then run the full tier with `max_shift=0`: how
#    wide does the gap between training and test accuracy grow without the shifts?
#    Try Gaussian input noise instead of shifts against the memorisation.
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 06` writes
# `neurophys-exercises/ex06.py`; fill in its functions, then run `python -m neurophys check 06`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `eqprop_update`: the EqProp weight update from the free and nudged states; it must equal the
#   true gradient as β → 0 (the theorem, on exact equilibria) and train a network.
# - `hopfield_energy`: the layered energy E(s) whose gradient is the relaxation force.

# %%
metrics = {
    "test_accuracy": history["test_accuracy"][-1],
    "train_accuracy": history["train_accuracy"][-1],
    "epochs": settings["epochs"],
    "seconds_per_epoch": float(numpy.mean(history["seconds"])),
    "cpu_seconds_per_epoch": float(numpy.mean(history["cpu_seconds"])),
    "free_energy_monotone": free_descends,
}
metrics["document_config_pinned_fraction"] = doc_pinned["as_written"]
metrics["document_config_distinct_predictions"] = doc_distinct["as_written"]
metrics["document_config_mean_lr_pinned_fraction"] = doc_pinned["mean_lr"]
if ctx.full:
    metrics["document_config_test_accuracy"] = doc_curves["as_written"][-1]
    metrics["document_config_mean_lr_test_accuracy"] = doc_curves["mean_lr"][-1]
else:
    metrics["document_config_1epoch_test_accuracy"] = doc_curves["as_written"][-1]
    metrics["document_config_mean_lr_1epoch_test_accuracy"] = doc_curves["mean_lr"][-1]
ctx.finish(metrics=metrics, settings={**settings, "history": history, "document_config": doc_settings})
