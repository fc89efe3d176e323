"""Misuse of the EqProp net, the world models and the GRU energy encoder: each bad input gets a
NeurophysInputError naming the argument (it used to broadcast, truncate, train uphill or fail deep
inside), and the valid forms next to them still give the numbers they gave."""
import math

import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks import SGD
from neurophys.models.eqprop import EqPropNet
from neurophys.models.gru_encoder import GRUEnergyEncoder
from neurophys.models.world_model import LinearModel, StaticModel, make_eqprop_world_model
from neurophys.validate import NeurophysInputError


# ------------------------------------------------------------------ world models: learn(s, u, s_next)
def _world_models():
    return {"static": StaticModel(2, 1), "linear": LinearModel(2, 1),
            "eqprop": make_eqprop_world_model(2, 1, hidden=(4,), rng=B.rng(0), n_scale=2)}


@pytest.mark.parametrize("name", ["static", "linear", "eqprop"])
@pytest.mark.parametrize("rows", [3, 1])
def test_world_model_learn_refuses_s_next_with_other_rows(name, rows):
    model = _world_models()[name]
    s, u = numpy.zeros((2, 2)), numpy.ones((2, 1))
    for _ in range(3):          # past the eqprop model's scale measurement, so its net is in play
        model.learn(s, u, s + 0.1)
    n_before = model.n_updates
    with pytest.raises(NeurophysInputError, match=r"s_next .* has %d rows but s has 2" % rows):
        model.learn(s, u, numpy.ones((rows, 2)))
    assert model.n_updates == n_before   # nothing was fitted


@pytest.mark.parametrize("name", ["static", "linear", "eqprop"])
def test_world_model_learn_refuses_s_next_of_other_width(name):
    with pytest.raises(NeurophysInputError, match=r"next observation s_next has shape \(1, 3\)"):
        _world_models()[name].learn(numpy.zeros((1, 2)), numpy.ones((1, 1)), numpy.ones((1, 3)))


def test_world_model_learn_single_transition_forms_still_work():
    m = LinearModel(2, 1)
    err = m.learn(numpy.zeros(2), numpy.ones(1), numpy.array([0.1, 1.0]))   # (d,), (k,), (d,)
    assert err == pytest.approx(0.505) and m.n_updates == 1


@pytest.mark.parametrize("ridge", [float("nan"), float("inf"), 0.0, -1.0, "0.1"])
def test_linear_model_refuses_bad_ridge(ridge):
    with pytest.raises(NeurophysInputError, match="ridge"):
        LinearModel(2, 1, ridge=ridge)


@pytest.mark.parametrize("forgetting", [float("nan"), 0.0, 1.5])
def test_linear_model_refuses_bad_forgetting(forgetting):
    with pytest.raises(NeurophysInputError, match="forgetting"):
        LinearModel(2, 1, forgetting=forgetting)


def test_rollout_accepts_a_list_and_matches_the_array():
    rng = numpy.random.default_rng(0)
    m = LinearModel(2, 1)
    for _ in range(5):
        s = rng.standard_normal((4, 2))
        m.learn(s, rng.standard_normal((4, 1)), s + 0.1)
    s0, U = rng.standard_normal((2, 2)), rng.standard_normal((2, 3, 1))
    assert numpy.array_equal(m.rollout(s0, U.tolist()), m.rollout(s0, U))
    assert m.rollout(s0, U).shape == (2, 3, 2)


@pytest.mark.parametrize("U,what", [(numpy.ones((2, 3)), "3-D"), (numpy.ones((2, 3, 2)), r"shape \(batch, H, 1\)")])
def test_rollout_names_U(U, what):
    with pytest.raises(NeurophysInputError, match=r"U \(the action codes.*" + what):
        LinearModel(2, 1).rollout(numpy.zeros((2, 2)), U)


# ------------------------------------------------------------------ EqPropNet
@pytest.fixture
def data():
    rng = numpy.random.default_rng(0)
    return rng.random((12, 4)).astype(numpy.float32), numpy.arange(12) % 3


def test_accuracy_refuses_labels_of_another_length(data):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match=r"labels must have shape \(12,\)"):
        net.accuracy(x, y[:1])     # used to broadcast: 1.0 when that one label matched every prediction


@pytest.mark.parametrize("shift", [3, 7, -1])
def test_accuracy_refuses_labels_out_of_range(data, shift):
    x, y = data
    with pytest.raises(NeurophysInputError, match=r"labels must be in 0..2"):
        EqPropNet([4, 6, 3], rng=B.rng(0)).accuracy(x, y + shift)


def test_accuracy_of_valid_labels_unchanged(data):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    net.learn(x, y, batch_size=4)
    expected = float((B.to_host(net.predict(x)).argmax(axis=1) == y).mean())
    assert net.accuracy(x, y) == expected == net.accuracy(x, y.astype(float)) == net.accuracy(x, list(y))


@pytest.mark.parametrize("n", [5, 24])
def test_learn_refuses_target_of_another_length(data, n):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    W = net.params["W0"].copy()
    with pytest.raises(NeurophysInputError, match=r"target \(y\) .*x has 12 examples.*shape \(%d,\)" % n):
        net.learn(x, numpy.resize(y, n), batch_size=4)
    assert numpy.array_equal(net.params["W0"], W)   # refused before any update (a long one was truncated)


def test_learn_accepts_a_list_of_labels_like_the_array(data):
    x, y = data
    a, b = EqPropNet([4, 6, 3], rng=B.rng(0)), EqPropNet([4, 6, 3], rng=B.rng(0))
    ra = a.learn(x, y, batch_size=4, rng=numpy.random.default_rng(1))
    rb = b.learn(x, list(y), batch_size=4, rng=numpy.random.default_rng(1))
    assert ra == rb and all(numpy.array_equal(a.params[k], b.params[k]) for k in a.params)


@pytest.mark.parametrize("lr_scale", [-1.0, float("nan"), float("inf"), "1"])
def test_train_step_refuses_bad_lr_scale(data, lr_scale):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match="lr_scale"):
        net.train_step(x, y, lr_scale=lr_scale)   # -1 used to climb the cost, silently
    with pytest.raises(NeurophysInputError, match="lr_scale"):
        net.learn(x, y, lr_scale=lr_scale)


def test_train_step_lr_scale_zero_still_skips_the_update(data):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    W = net.params["W0"].copy()
    assert net.train_step(x, y, lr_scale=0)["updated"] is False
    assert numpy.array_equal(net.params["W0"], W)


def test_integer_one_hot_target_message_shows_its_shape(data):
    x, y = data
    net = EqPropNet([4, 6, 3], rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match=r"target .*shape \(3, 3\).*astype"):
        net.train_step(x[:3], numpy.eye(3, dtype=int)[y[:3]])   # used to say (9,), a shape nobody passed
    # the float one-hot rows and the labels give the same step
    a, b = EqPropNet([4, 6, 3], rng=B.rng(0)), EqPropNet([4, 6, 3], rng=B.rng(0))
    a.train_step(x[:3], y[:3])
    b.train_step(x[:3], numpy.eye(3, dtype=numpy.float32)[y[:3]])
    assert all(numpy.array_equal(a.params[k], b.params[k]) for k in a.params)


# ------------------------------------------------------------------ GRU energy encoder
def _gru():
    return GRUEnergyEncoder(2, 4, n_hidden=4, latent_dim=3, decoder_hidden=4, energy_hidden=3, rng=B.rng(0))


@pytest.fixture
def trajectories():
    return numpy.random.default_rng(0).standard_normal((5, 4, 2))


@pytest.mark.parametrize("clip", [-1.0, 0.0, float("nan"), "5"])
def test_gru_learn_refuses_bad_clip(trajectories, clip):
    g = _gru()
    before = {k: v.copy() for k, v in g.params.items()}
    with pytest.raises(NeurophysInputError, match="clip"):
        g.learn(trajectories, opt=SGD(0.5), batch_size=5, clip=clip)   # -1 flipped the gradient, 0 froze it
    assert all(numpy.array_equal(before[k], g.params[k]) for k in before)


def test_gru_learn_clip_none_means_no_clipping(trajectories):
    a, b = _gru(), _gru()
    ra = a.learn(trajectories, opt=SGD(0.1), batch_size=5, clip=None)
    rb = b.learn(trajectories, opt=SGD(0.1), batch_size=5, clip=math.inf)
    assert ra == rb and all(numpy.array_equal(a.params[k], b.params[k]) for k in a.params)


@pytest.mark.parametrize("name", ["lambda_e", "lambda_r"])
@pytest.mark.parametrize("value", ["0.1", -0.1, float("nan"), True])
def test_gru_refuses_bad_loss_weights(name, value):
    with pytest.raises(NeurophysInputError, match=name):
        GRUEnergyEncoder(2, 4, **{name: value})


def test_gru_loss_weight_zero_allowed():
    assert GRUEnergyEncoder(2, 4, n_hidden=4, lambda_e=0.0, lambda_r=0).lambda_e == 0.0


def test_world_model_sizes_are_whole_numbers():
    from neurophys.models.world_model import LinearModel
    from neurophys.validate import NeurophysInputError
    with pytest.raises(NeurophysInputError, match="obs_size"):
        LinearModel(2.7, 1)                                 # was: silently a 2-dimensional state
    with pytest.raises(NeurophysInputError, match="action_size"):
        LinearModel(2, 0)
    assert LinearModel(2.0, 1).obs_size == 2


def test_eqprop_float_class_labels_get_a_hint_to_pass_integers():
    net = EqPropNet([4, 5, 3], rng=numpy.random.default_rng(0))
    x = numpy.random.default_rng(1).random((6, 4)).astype(numpy.float32)
    with pytest.raises(NeurophysInputError, match=r"class labels stored as floats.*astype\(int\)"):
        net.learn(x, numpy.array([0., 1., 2., 0., 1., 2.]))
