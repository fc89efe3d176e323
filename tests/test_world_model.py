"""World models, gymnasium wrappers and the active-inference planner (lesson 09's library parts)."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.learning import active_inference as ai
from neurophys.learning import envs
from neurophys.models.world_model import (EqPropWorldModel, LinearModel, RunningScaler, StaticModel,
                                          make_eqprop_world_model)


@pytest.fixture(scope="module")
def cartpole_stream():
    """2000 random-action CartPole transitions (s, u, s')."""
    env = envs.make_env("CartPole-v1")
    coder = envs.action_coder(env.action_space)
    rng = numpy.random.default_rng(0)
    S, U, S2 = [], [], []
    obs, _ = env.reset(seed=0)
    episode = 0
    while len(S) < 2000:
        a = coder.sample(rng, ())
        nxt, _, term, trunc, _ = env.step(coder.to_env(a))
        S.append(obs), U.append(coder.encode(a)), S2.append(nxt)
        obs = nxt
        if term or trunc:
            episode += 1
            obs, _ = env.reset(seed=episode)
    return numpy.array(S), numpy.array(U), numpy.array(S2)


# ------------------------------------------------------------------ environments
def test_unknown_env_id_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown environment id 'Cartpole-v1'.*CartPole-v1"):
        envs.make_env("Cartpole-v1")
    with pytest.raises(ValueError, match="must be a string"):
        envs.make_env(None)


def test_wrong_observation_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(4,\)"):
        envs.check_observation([0.0, 1.0, 2.0], 4)
    with pytest.raises(ValueError, match="NaN"):
        envs.check_observation([0.0, numpy.nan, 2.0, 1.0], 4)
    model = LinearModel(4, 2)
    with pytest.raises(ValueError, match=r"expected \(4,\) or \(N, 4\)"):
        model.predict(numpy.zeros(3), numpy.zeros(2))


def test_unsupported_action_space_names_the_supported_ones():
    from gymnasium import spaces
    with pytest.raises(ValueError, match="Discrete.*Box"):
        envs.action_coder(spaces.MultiBinary(3))
    with pytest.raises(ValueError, match="finite low and high"):
        envs.action_coder(spaces.Box(-numpy.inf, numpy.inf, (1,)))
    with pytest.raises(ValueError, match="supported are"):
        ai.ActiveInferencePlanner(StaticModel(4, 2), ai.cartpole_energy, spaces.MultiDiscrete([2, 2]))


def test_action_codes():
    from gymnasium import spaces
    d = envs.action_coder(spaces.Discrete(2))
    assert numpy.array_equal(d.encode(numpy.array([0, 1])), numpy.eye(2))
    with pytest.raises(ValueError, match=r"integers in \[0, 1\]"):
        d.encode(numpy.array([2]))
    b = envs.action_coder(spaces.Box(-2.0, 2.0, (1,)))
    assert numpy.allclose(b.encode(numpy.array([[-2.0], [0.0], [2.0]]))[:, 0], [-1, 0, 1])


def test_heuristic_sign_corrected():
    """The original rule pushes left when the pole leans right; the corrected one pushes right."""
    leaning_right = numpy.array([0.0, 0.0, 0.05, 0.0])
    assert envs.cartpole_heuristic(leaning_right) == 1
    assert envs.cartpole_heuristic(leaning_right, corrected=False) == 0
    env = envs.make_env("CartPole-v1")
    corrected = envs.evaluate(env, envs.cartpole_heuristic, 5).mean()
    original = envs.evaluate(env, lambda o: envs.cartpole_heuristic(o, corrected=False), 5).mean()
    assert corrected > original + 10


# ------------------------------------------------------------------ models
def test_rls_matches_batch_least_squares(cartpole_stream):
    S, U, S2 = cartpole_stream
    model = LinearModel(4, 2, ridge=1e-8)
    for i in range(300):
        model.learn(S[i], U[i], S2[i])
    phi = model.features(S[:300], U[:300])
    W, *_ = numpy.linalg.lstsq(phi, S2[:300] - S[:300], rcond=None)
    assert numpy.allclose(phi @ model.W, phi @ W, atol=1e-6)


def test_models_beat_nothing_changes(cartpole_stream):
    S, U, S2 = cartpole_stream
    static, linear = StaticModel(4, 2), LinearModel(4, 2)
    eqprop = make_eqprop_world_model(4, 2, rng=B.rng(0), lr=0.2, lr_decay=1000)
    err = {m.name: [m.learn(S[i], U[i], S2[i]) for i in range(1500)] for m in (static, linear, eqprop)}
    late = {k: numpy.mean(v[-500:]) for k, v in err.items()}
    assert late["eqprop"] < 0.05 * late["static"]
    assert late["linear"] < 0.05 * late["static"]
    # prequential error equals the error of predict() made before learning
    held = eqprop.predict(S[1500:1600], U[1500:1600])
    assert numpy.mean((held - S2[1500:1600]) ** 2) < 0.05 * late["static"]


def test_eqprop_world_model_checks_sizes():
    from neurophys.models.eqprop import EqPropNet
    with pytest.raises(ValueError, match=r"sizes\[0\] = 6 and sizes\[-1\] = 4"):
        EqPropWorldModel(EqPropNet([5, 8, 4]), 4, 2)


def test_scaler_and_target_box():
    sc = RunningScaler(2, n_fit=3)
    sc.update(numpy.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [100.0, 100.0]]))
    assert sc.frozen and numpy.allclose(sc.mean, [2.0, 1.0]) and numpy.allclose(sc.std, [2.0, 1e-6])
    model = make_eqprop_world_model(2, 1, hidden=(4,), n_scale=3)
    model.d_scaler = sc
    y = B.to_host(model.net_target(numpy.array([[2.0, 1.0], [1e3, -1e3]])))
    assert numpy.allclose(y[0], 0.5) and numpy.allclose(y[1], [1.0, 0.0])   # centre and walls of [0, 1]
    assert numpy.allclose(model.delta_from_output(numpy.array([[0.5, 0.5]])), sc.mean)


def test_imagination_is_the_free_equilibrium(cartpole_stream):
    """The model's n_free = 8 full steps (eps = 1) reach the equilibrium of a long relaxation."""
    S, U, S2 = cartpole_stream
    model = make_eqprop_world_model(4, 2, rng=B.rng(1), lr=0.2)
    for i in range(400):
        model.learn(S[i], U[i], S2[i])
    x = model.net_input(S[400:432], U[400:432])
    long = B.to_host(model.net.relax(model.net.init_states(x), n_steps=200, eps=0.5)[-1])
    assert numpy.max(numpy.abs(B.to_host(model.net.predict(x)) - long)) < 1e-4
    codes = numpy.eye(2)[numpy.random.default_rng(0).integers(0, 2, (8, 5))]
    states = model.rollout(S[400:408], codes)
    assert states.shape == (8, 5, 4) and numpy.allclose(states[:, 0], model.predict(S[400:408], codes[:, 0]))


# ------------------------------------------------------------------ planner
class TrueCartPole:
    """CartPole-v1's own Euler step, as a 'perfect model' for testing the planner."""
    obs_size = 4

    def predict(self, s, u):
        g, mc, mp, l, F, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
        x, xd, th, thd = s.T
        force = F * (u[:, 1] - u[:, 0])
        temp = (force + mp * l * thd ** 2 * numpy.sin(th)) / (mc + mp)
        thacc = (g * numpy.sin(th) - numpy.cos(th) * temp) / (l * (4 / 3 - mp * numpy.cos(th) ** 2 / (mc + mp)))
        xacc = temp - mp * l * thacc * numpy.cos(th) / (mc + mp)
        return numpy.stack([x + tau * xd, xd + tau * xacc, th + tau * thd, thd + tau * thacc], axis=1)


def test_planner_on_a_perfect_model_balances_the_pole():
    env = envs.make_env("CartPole-v1")
    planner = ai.ActiveInferencePlanner(TrueCartPole(), ai.cartpole_energy, env.action_space, horizon=10,
                                        n_sequences=32, hold=2, rng=numpy.random.default_rng(0))
    assert envs.run_episode(env, planner, seed=0, max_steps=200) == 200


def test_planner_picks_lowest_energy_and_checks_inputs():
    from gymnasium import spaces

    class Shift:   # s' = s + a (a in [-1, 1]); energy prefers s = 0.7
        obs_size = 1

        def predict(self, s, u):
            return s + u

    planner = ai.ActiveInferencePlanner(Shift(), lambda s: (s[..., 0] - 0.7) ** 2, spaces.Box(-1.0, 1.0, (1,)),
                                        horizon=1, n_sequences=256, rng=numpy.random.default_rng(0))
    assert abs(planner.act(numpy.zeros(1))[0] - 0.7) < 0.05
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(1,\)"):
        planner.act(numpy.zeros(2))
    with pytest.raises(ValueError, match="predict"):
        ai.ActiveInferencePlanner(object(), ai.cartpole_energy, spaces.Discrete(2))
    with pytest.raises(ValueError, match="known"):
        ai.energy_for("MountainCar-v0")


def test_learn_online_babbles_then_plans():
    env = envs.make_env("CartPole-v1")
    models = {"static": StaticModel(4, 2), "linear": LinearModel(4, 2)}
    planner = ai.ActiveInferencePlanner(models["linear"], ai.cartpole_energy, env.action_space, horizon=8,
                                        n_sequences=16, hold=2, rng=numpy.random.default_rng(0))
    errors, returns = ai.learn_online(env, models, planner, 400, n_babble=100)
    assert errors["static"].shape == (400,) and numpy.all(errors["linear"][200:] < errors["static"][200:].mean())
    assert max(returns) > 100      # planning on the learned linear model already balances for a while


def test_running_mean():
    assert numpy.allclose(ai.running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_residual_correction_cancels_a_steady_bias():
    class Biased:   # true world: s' = s + u; the model is off by +0.1
        obs_size = 1

        def predict(self, s, u):
            return numpy.asarray(s) + numpy.asarray(u) + 0.1

    corrected = ai.ResidualCorrection(Biased(), tau=5)
    for _ in range(60):
        corrected.observe(numpy.zeros(1), numpy.ones((1, 1)), numpy.ones(1))
    assert numpy.allclose(corrected.predict(numpy.zeros((1, 1)), numpy.ones((1, 1))), 1.0, atol=1e-4)
    corrected.reset()
    assert numpy.allclose(corrected.predict(numpy.zeros((1, 1)), numpy.ones((1, 1))), 1.1)
    with pytest.raises(ValueError, match="tau"):
        ai.ResidualCorrection(Biased(), tau=0)
