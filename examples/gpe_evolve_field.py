"""Evolve a Gross–Pitaevskii field, then differentiate through the evolution to learn a potential.

    python examples/gpe_evolve_field.py            # writes gpe_learned_potential.png

Part 1: a wave packet in the document's field (V = −a, g = 2b), split-step vs Euler:
the norm after 500 steps. Part 2: the adjoint at work. A potential V(x, y) is learned
by gradient descent so that after 40 split-step steps the density |ψ|² has moved to a
target spot:  L(V) = Σ (|ψ_T|² − n_target)² dx dy,  ∂L/∂V from gpe.evolve_backward.
"""
import numpy

from neurophys import backend as B
from neurophys.blocks import Adam
from neurophys.physics import gpe

# ---- part 1: evolve, and watch the norm
X, Y = gpe.grid(32)
doc = gpe.document_params(a=0.15, b=0.15)                  # V = −a, g = 2b
psi0 = gpe.normalise(gpe.gaussian(X, Y, width=3.0, kx=0.5), N=10.0)
for scheme in ("splitstep", "euler"):
    psi, _ = gpe.evolve(psi0, 500, 0.01, doc["V"], doc["g"], scheme=scheme)
    print(f"{scheme:9s}: N after 500 steps / N before − 1 = {float(gpe.norm(psi) / gpe.norm(psi0)) - 1:+.2e}")

# ---- part 2: learn a potential through 40 steps (float64 for clean gradients)
with B.precision("float64"):
    X, Y = gpe.grid(32)
    psi0 = gpe.normalise(gpe.gaussian(X, Y, width=3.0), N=1.0)
    target = gpe.density(gpe.normalise(gpe.gaussian(X, Y, width=3.0, x0=5.0, y0=3.0), N=1.0))
    V = {"V": B.zeros(X.shape)}
    opt = Adam(lr=0.05)
    n_steps, dt, g = 40, 0.1, 0.5
    for it in range(61):
        psi, tape = gpe.evolve(psi0, n_steps, dt, V["V"], g, scheme="splitstep")
        diff = gpe.density(psi) - target
        loss = float((diff ** 2).sum())
        G = 4 * diff * psi                               # ∂L/∂ψ for L = Σ(|ψ|² − n)²: 2·2(|ψ|² − n)ψ
        _, grads = gpe.evolve_backward(tape, G)
        opt.step(V, {"V": grads["V"]})
        if it % 20 == 0:
            print(f"iteration {it:3d}: L = {loss:.3e}")

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
fig, axes = plt.subplots(1, 4, figsize=(11, 2.8))
for ax, img, title in zip(axes, [gpe.density(psi0), target, gpe.density(psi), V["V"]],
                          ["|ψ₀|²", "target", f"|ψ_T|² (t = {n_steps * dt:g})", "learned V"]):
    ax.imshow(B.to_host(img), origin="lower")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
fig.savefig("gpe_learned_potential.png", dpi=90)
print("wrote gpe_learned_potential.png")
