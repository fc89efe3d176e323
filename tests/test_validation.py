"""Nothing silently wrong (issue 13): one test per class of fault, with the issue's examples.

Classes: the edge checks themselves; divergence in every training loop and relaxation;
empty batches; wrong dtypes; misleading errors; the hang; seeds. Every layer and model is
also run through empty/complex/object/NaN input by ``tests/test_conformance.py``.
"""
import math
import time

import numpy
import pytest

from neurophys import backend as B
from neurophys import validate as V
from neurophys.blocks import Adam, softmax_cross_entropy, softmax_cross_entropy_grad, squared_error
from neurophys.blocks.conv import Conv2D
from neurophys.blocks.gru import GRU
from neurophys.learning.continual import train_sequence
from neurophys.learning.tasks import gaussian_cluster_tasks
from neurophys.learning import doc003 as D
from neurophys.models.dlm import DissipativeLearningMachine
from neurophys.models.eqprop import EqPropNet
from neurophys.models.gru_encoder import GRUEnergyEncoder, train
from neurophys.models.mlp import MLP
from neurophys.models.physnet import PhysNet
from neurophys.models.world_model import LinearModel, make_eqprop_world_model
from neurophys.physics import gpe
from neurophys.physics import mechanics as M
from neurophys.physics.gpe import GPELayer
from neurophys.validate import DivergenceError, NeurophysInputError

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# ------------------------------------------------------------------ the checks themselves
def test_as_float_array_keeps_floats_converts_integers_refuses_the_rest():
    x32 = numpy.ones((2, 3), numpy.float32)
    assert V.as_float_array("x", x32) is x32                    # no copy, dtype kept
    x64 = numpy.ones((2, 3))
    assert V.as_float_array("x", x64) is x64
    assert V.as_float_array("x", [[1, 2, 3]]).dtype == B.float_dtype()
    assert V.as_float_array("x", numpy.array([[True, False]])).dtype == B.float_dtype()
    for bad, words in ((numpy.ones(3, complex), "x must be real"), (numpy.array([None, 1]), "real numbers"),
                       (numpy.array(["a"]), "real numbers"), (numpy.zeros((0, 3)), "x is empty"),
                       (numpy.array([1.0, numpy.inf]), "NaN or inf")):
        with pytest.raises(NeurophysInputError, match=words):
            V.as_float_array("x", bad)
    assert V.as_float_array("x", numpy.zeros((0, 3)), allow_empty=True).shape == (0, 3)
    with pytest.raises(NeurophysInputError, match=r"x must have shape \(batch, 4\)"):
        V.as_float_array("x", numpy.zeros((2, 3)), shape=(None, 4))


def test_positive_real_accepts_numpy_numbers_and_refuses_bool_nan_inf_and_non_positive():
    assert V.positive_real("dt", numpy.int64(1)) == 1.0
    assert V.positive_real("dt", numpy.float32(0.5)) == 0.5
    assert V.positive_real("dt", numpy.array(0.25)) == 0.25
    for bad in (True, numpy.bool_(True), math.nan, math.inf, 0, -1, "0.1", None, 1j):
        with pytest.raises(NeurophysInputError, match="dt"):
            V.positive_real("dt", bad)
    assert V.positive_real("dt", 0, allow_zero=True) == 0.0


def test_labels_in_range_and_minus_one_refused():
    assert V.labels("y", numpy.array([0, 2, 1]), 3).tolist() == [0, 2, 1]
    assert V.labels("y", numpy.array([0.0, 2.0]), 3).dtype.kind == "i"
    for bad, words in ((numpy.array([-1, 0]), "wrap around"), (numpy.array([0, 3]), "0..2"),
                       (numpy.array([0.5]), "non-integer"), (numpy.array([[0, 1]]), "shape")):
        with pytest.raises(NeurophysInputError, match=words):
            V.labels("y", bad, 3)
    with pytest.raises(NeurophysInputError, match=r"shape \(3,\)"):
        V.labels("y", numpy.array([0, 1]), 3, n=3)


def test_seed_must_be_a_non_negative_integer():
    assert V.seed("seed", 0) == 0 and V.seed("seed", None) is None and V.seed("seed", numpy.int64(3)) == 3
    for bad in (-1, True, 1.5, "1"):
        with pytest.raises(NeurophysInputError, match="seed must be a non-negative integer"):
            V.seed("seed", bad)


def test_is_finite_is_one_reduction_and_survives_overflow():
    assert V.is_finite(numpy.full(4, 3e38, numpy.float32))      # the sum overflows, the entries do not
    assert not V.is_finite(numpy.array([1.0, numpy.nan]))
    assert not V.is_finite(numpy.array([numpy.inf, -numpy.inf]))
    assert V.is_finite(1.0) and not V.is_finite(float("nan"))


def test_divergence_message_says_what_where_and_what_to_change_and_blames_raw_pixels_first():
    with pytest.raises(DivergenceError, match=r"(?i)the loss is NaN or inf at epoch 2, batch 5: .*lower lr"):
        V.check_finite("the loss", float("nan"), where="epoch 2, batch 5", fix="lower lr")
    pixels = numpy.arange(256, dtype=numpy.float32)
    with pytest.raises(DivergenceError) as e:
        V.check_params({"W0": numpy.array([1e29])}, where="epoch 0", x=pixels)
    msg = str(e.value)
    assert "W0" in msg and "epoch 0" in msg and msg.index("normalise") < msg.index("learning rate")
    assert V.diagnose_input(pixels / 255) == ""
    assert issubclass(DivergenceError, FloatingPointError) and issubclass(NeurophysInputError, ValueError)


# ------------------------------------------------------------------ divergence is an error
@pytest.mark.parametrize("lr", [1e12, 1e30])
def test_continual_finetune_at_a_huge_lr_raises_instead_of_returning_an_accuracy_matrix(lr):
    # (the issue's lr = 1e4 now ends with |W| ~ 1e4 and finite losses here: exploded but not NaN)
    tasks = gaussian_cluster_tasks(n_samples=60, n_features=5, n_classes=3)
    with pytest.raises(DivergenceError, match=r"(?i)task 0, epoch 0.*lower the learning rate \(lr=1e\+"):
        train_sequence(MLP([5, 8, 3], rng=B.rng(0)), tasks, "finetune", optimizer="sgd", lr=lr)


def test_eqprop_runaway_weights_inside_the_clip_box_raise():
    rng = numpy.random.default_rng(0)
    x, y = rng.uniform(0, 1, (20, 4)).astype(numpy.float32), rng.integers(0, 3, 20)
    net = EqPropNet([4, 6, 3], lr=1e30, clip=(0, 1), rng=B.rng(0))
    with pytest.raises(DivergenceError, match=r"(?i)weights W\d .*end of the epoch.*lower the learning rates"):
        net.learn(x, y, batch_size=10, rng=rng)


def test_dlm_at_adam_lr_1e6_raises_instead_of_reporting_forgetting():
    tasks = D.doc003_tasks()
    net = DissipativeLearningMachine(D.DOC003_SIZES, rng=B.rng(0))
    with pytest.raises(DivergenceError, match="(?i)lower the learning rate"):
        D.two_task_forgetting(net, *tasks, epochs=50, lr=1e6)


def test_gru_encoder_training_stops_on_a_non_finite_loss():
    X = numpy.random.default_rng(0).standard_normal((8, 4, 2)).astype(numpy.float32)
    model = GRUEnergyEncoder(2, 4, n_hidden=5, latent_dim=3, decoder_hidden=5, energy_hidden=3, rng=B.rng(0))
    model.params["Wz"][0, 0] = numpy.nan                        # a model that has already diverged
    with pytest.raises(DivergenceError, match="epoch 0, batch 0"):
        train(model, X, epochs=2, batch_size=4)


def test_world_model_with_a_diverged_fit_raises_before_learning_more():
    model = LinearModel(2, 1)
    model.W[...] = numpy.inf
    with pytest.raises(DivergenceError, match="update 0"):
        model.learn(numpy.ones(2), numpy.ones(1), numpy.ones(2))


def test_unstable_gpe_evolution_names_the_step_and_dt():
    psi = gpe.gaussian(*gpe.grid(8), width=2.0) * 3
    with pytest.raises(DivergenceError, match=r"(?i)step 400 of euler.*lower dt=0.5"):
        gpe.evolve(psi, 400, 0.5, g=5.0, scheme="euler", check=False)


# ------------------------------------------------------------------ one bad batch poisons nothing
def test_a_nan_batch_is_refused_and_later_results_are_unchanged():
    rng = numpy.random.default_rng(0)
    s, u = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    clean, poked = LinearModel(2, 1), LinearModel(2, 1)
    for i in range(3):
        clean.learn(s[i], u[i], s[i + 1])
        with pytest.raises(NeurophysInputError, match="NaN"):
            poked.learn(s[i], u[i], numpy.full(2, numpy.nan))
        poked.learn(s[i], u[i], s[i + 1])
    numpy.testing.assert_array_equal(clean.W, poked.W)
    net = DissipativeLearningMachine([3, 4, 2], rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match="NaN"):
        net.forward(numpy.array([[numpy.nan, 0, 0]], numpy.float32))
    assert all(numpy.isfinite(c).all() for c in net.c_in + net.c_out)


# ------------------------------------------------------------------ empty batches
def test_empty_batches_are_refused_by_every_entry_point_named_in_the_issue():
    empty = numpy.zeros((0, 4), numpy.float32)
    net = EqPropNet([4, 5, 3], rng=B.rng(0))
    W0 = net.params["W0"].copy()
    with pytest.raises(NeurophysInputError, match="empty"):
        net.train_step(empty, numpy.zeros(0, int))
    numpy.testing.assert_array_equal(net.params["W0"], W0)      # no NaN weights behind the error
    with pytest.raises(NeurophysInputError, match="empty"):
        squared_error(empty, empty)
    with pytest.raises(NeurophysInputError, match="empty"):
        softmax_cross_entropy(numpy.zeros((0, 3)), numpy.zeros(0, int))
    with pytest.raises(NeurophysInputError, match="empty"):
        Conv2D(1, 2).forward(numpy.zeros((0, 5, 5, 1), numpy.float32))
    with pytest.raises(NeurophysInputError, match="empty"):
        PhysNet().forward(numpy.zeros((0, 784), numpy.float32))
    with pytest.raises(NeurophysInputError, match="empty"):
        GPELayer().forward(numpy.zeros((0, 8, 8, 2), numpy.float32))
    with pytest.raises(NeurophysInputError, match="empty"):
        MLP([4, 3]).learn(empty, numpy.zeros(0, int), Adam())


# ------------------------------------------------------------------ wrong dtypes
def test_integer_input_no_longer_computes_in_integers():
    X = numpy.ones((2, 3, 2), dtype=numpy.int64)
    Hs = GRU(2, 4, rng=B.rng(0)).forward(X)
    assert Hs.dtype.kind == "f" and numpy.abs(Hs).max() > 0      # integer hidden states were all 0
    out = GPELayer(2, 0.01).forward(numpy.ones((1, 6, 6, 2), dtype=numpy.int64))
    assert out.dtype.kind == "f"
    enc = GRUEnergyEncoder(2, 3, n_hidden=4, latent_dim=2, decoder_hidden=4, energy_hidden=2, rng=B.rng(0))
    assert enc.predict(X)[2].dtype.kind == "f"


def test_complex_and_object_input_are_refused():
    for model in (MLP([4, 3]), PhysNet()):
        n_in = 4 if isinstance(model, MLP) else 784
        with pytest.raises(NeurophysInputError, match="must be real"):
            model.forward(numpy.ones((2, n_in), complex))
        with pytest.raises(NeurophysInputError, match="real numbers"):
            model.forward(numpy.ones((2, n_in), object))
    net = EqPropNet([4, 5, 2], linear_output=True, rng=B.rng(0))
    with pytest.raises(NeurophysInputError, match="target must be real"):
        net.train_step(numpy.ones((1, 4), numpy.float32), numpy.ones((1, 2), complex))


def test_label_minus_one_is_refused_not_wrapped_to_the_last_class():
    z = numpy.zeros((2, 3))
    for f in (softmax_cross_entropy, softmax_cross_entropy_grad):
        with pytest.raises(NeurophysInputError, match="wrap around"):
            f(z, numpy.array([0, -1]))


# ------------------------------------------------------------------ misleading errors fixed
def test_raw_pixels_into_physnet_say_normalise_not_lower_dt():
    x = numpy.random.default_rng(0).integers(0, 256, (2, 784)).astype(numpy.float32)
    with pytest.raises(NeurophysInputError, match=r"not normalised .*divide by 255"):
        PhysNet().forward(x)
    assert PhysNet().forward(x / 255).shape == (2, 10)


def test_gpe_physical_parameters():
    psi = gpe.gaussian(*gpe.grid(8), width=2.0)
    with pytest.raises(NeurophysInputError, match=r"N \(the particle number\) must be positive and finite \(> 0\), got 0"):
        gpe.ground_state(psi, N=0)
    out, _ = gpe.evolve(psi, 2, numpy.int64(1), scheme="splitstep")      # dt=np.int64(1) is a number
    assert out.shape == psi.shape
    with pytest.raises(NeurophysInputError, match="dt must be a positive real number, got True"):
        gpe.evolve(psi, 2, True)
    for dx in (0, -1):
        with pytest.raises(NeurophysInputError, match="dx"):
            gpe.norm(psi, dx)
        with pytest.raises(NeurophysInputError, match="dx"):
            gpe.evolve(psi, 1, 0.01, dx=dx)
        with pytest.raises(NeurophysInputError, match="dx"):
            GPELayer(dx=dx)


# ------------------------------------------------------------------ no call hangs
def test_orbit_starting_at_the_centre_is_refused_at_once_by_both_integrators():
    for integrator in ("rk45", "verlet"):
        t0 = time.process_time()
        with pytest.raises(NeurophysInputError, match=r"r = 0.*Move the start away") as e:
            M.simulate("orbit", initial_states=[[0, 0, 1, 0]], integrator=integrator)
        assert "lower dt" not in str(e.value)
        assert time.process_time() - t0 < 1.0


def test_rk45_has_an_evaluation_budget():
    t = numpy.linspace(0, 1, 5)
    y0 = numpy.array([[1.0, 0.0, 0.0, 1.0]])
    with pytest.raises(DivergenceError, match="used 50 force evaluations on trajectory 0"):
        M._rk45("orbit", y0, t, 1e-9, 1e-12, max_nfev=50)
    out, _, failed = M._rk45("orbit", y0, t, 1e-9, 1e-12, on_failure="nan", max_nfev=50)
    assert failed == [0] and numpy.isnan(out).all()


def test_a_close_pass_of_the_centre_says_so():
    with pytest.raises(ValueError, match="came within r = 1e-100 of the centre"):
        M.simulate("orbit", initial_states=[[1e-100, 0, 0, 0]])


def test_negative_seed_is_refused_with_a_message():
    with pytest.raises(NeurophysInputError, match="seed must be a non-negative integer"):
        M.simulate("orbit", n_trajectories=2, seed=-1)


def test_eqprop_online_steps_look_for_runaway_weights_every_64_updates():
    rng = numpy.random.default_rng(0)
    net = EqPropNet([4, 6, 3], lr=1e30, clip=(0, 1), rng=B.rng(0))
    x, y = rng.uniform(0, 1, (1, 4)).astype(numpy.float32), numpy.array([1])
    with pytest.raises(DivergenceError, match="update 64"):
        for _ in range(64):
            net.train_step(x, y)


def test_scalar_settings_refuse_bool():
    with pytest.raises(NeurophysInputError, match="eps"):
        EqPropNet([2, 2], eps=True)
    with pytest.raises(NeurophysInputError, match="dt"):
        DissipativeLearningMachine([2, 2], dt=True)


def test_more_public_functions_refuse_what_they_cannot_use():
    from neurophys.blocks import SGD, accuracy, one_hot
    from neurophys.learning.continual import evaluate
    cases = [
        (lambda: accuracy(numpy.zeros((0, 3)), numpy.zeros(0, int)), "empty"),
        (lambda: accuracy(numpy.zeros((2, 3)), numpy.array([0, -1])), "0..2"),
        (lambda: one_hot(numpy.array([-1]), 3), "0..2"),
        (lambda: SGD(lr=float("nan")), "lr"),
        (lambda: Adam(lr=True), "lr"),
        (lambda: M.invariants("spring", numpy.ones((2, 3, 2), complex)), "must be real"),
        (lambda: M.relative_drift(numpy.zeros((2, 0))), "empty"),
        (lambda: M.simulate("spring", 2, n_steps=2.5), "n_steps"),
        (lambda: M.derivatives("spring", numpy.array([[None, 1]])), "real numbers"),
        (lambda: evaluate(MLP([4, 2]), numpy.zeros((3, 4), numpy.float32), numpy.array([0, 5, 1])), "0..1"),
    ]
    for call, words in cases:
        with pytest.raises(NeurophysInputError, match=words):
            call()


def test_every_gpe_operator_refuses_a_bad_grid_spacing():
    psi = gpe.gaussian(*gpe.grid(8))
    for call in (lambda: gpe.splitstep_step(psi, 0.01, dx=0), lambda: gpe.euler_step(psi, 0.01, dx=-1),
                 lambda: gpe.laplacian5(psi, 0), lambda: gpe.kinetic_symbol(psi.shape, dx=-2),
                 lambda: gpe.euler_max_dt(psi, dx=0), lambda: gpe.energy(psi, dx=0)):
        with pytest.raises(NeurophysInputError, match="dx"):
            call()
    with pytest.raises(NeurophysInputError, match="psi contains 1 NaN"):
        gpe.evolve(numpy.where(numpy.arange(64).reshape(8, 8) == 0, numpy.nan, psi), 1, 0.01)


def test_a_diverging_lesson_03_unit_is_recorded_where_it_diverged_not_trained_on():
    """Lesson 03's field-only net under forward Euler can blow up; the unit must stop at the
    first non-finite batch and say where, with no accuracy measured on a NaN network."""
    from neurophys.learning.physnet_protocol import two_task_unit
    out = two_task_unit("fieldonly", 0, n_train=512, n_test=64, epochs=1, lr=10.0, progress=False)
    d = out["diverged"]
    assert d is not None and d["task"] == 1 and d["epoch"] == 1 and d["batch"] <= 4
    assert "diverged" in d["message"] or "NaN" in d["message"]
    assert out["R"] == [[None, None], [None, None]] and out["forgetting"] is None
    assert out["euler_max_dt_omega"] > 1, "the Euler stability margin it met is reported"
    calm = two_task_unit("fieldonly", 0, n_train=256, n_test=64, epochs=1, progress=False)
    assert calm["diverged"] is None and 0 < calm["R"][0][0] <= 1
