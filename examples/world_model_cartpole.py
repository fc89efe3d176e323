"""Learn CartPole's physics online with an EqProp network, then balance the pole by planning.

    python examples/world_model_cartpole.py [--steps 3000] [--episodes 5]

The agent babbles (random pushes) for a few hundred steps, then imagines 32 short
push sequences through its model before every step and does the first push of the
sequence whose imagined future has the lowest energy (pole upright, cart centred).
The model learns from every real transition, one at a time; on CartPole the planner
adds the model's recent mean error to its imagined steps (ResidualCorrection).
"""
import argparse

import numpy

from neurophys import backend as B
from neurophys.learning import active_inference as ai
from neurophys.learning import envs
from neurophys.models.world_model import StaticModel, make_eqprop_world_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", choices=list(ai.ENERGIES))
    parser.add_argument("--steps", type=int, default=3000, help="learning budget (environment steps)")
    parser.add_argument("--episodes", type=int, default=5, help="evaluation episodes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = envs.make_env(args.env)
    coder = envs.action_coder(env.action_space)
    d = envs.observation_size(env)
    model = make_eqprop_world_model(d, coder.size, hidden=(64,), rng=B.rng(args.seed), lr=0.2, lr_decay=1000)
    horizon = 10 if args.env == "CartPole-v1" else 20
    imagined = ai.ResidualCorrection(model, tau=20) if args.env == "CartPole-v1" else model
    planner = ai.ActiveInferencePlanner(imagined, ai.energy_for(args.env), env.action_space, horizon=horizon,
                                        n_sequences=32 if args.env == "CartPole-v1" else 64, hold=2,
                                        rng=numpy.random.default_rng(args.seed))
    errors, returns = ai.learn_online(env, {"EqProp": model, "static": StaticModel(d, coder.size)}, planner,
                                      args.steps, seed=args.seed, n_babble=300)
    half = args.steps // 2
    print(f"prediction MSE, second half of the stream: EqProp {errors['EqProp'][half:].mean():.3g}, "
          f"nothing-changes {errors['static'][half:].mean():.3g}")
    print(f"returns while learning (last 5): {[round(r) for r in returns[-5:]]}")
    R = envs.evaluate(env, planner, args.episodes, seed=1000)
    print(f"evaluation over {args.episodes} episodes: {R.mean():.1f} ± {R.std():.1f}")


if __name__ == "__main__":
    main()
