"""Misuse of the blocks and of the models built from them: each refused with a message that names
the argument, says what was given and what was expected (backward's ∂L/∂output shape, layer sizes,
batch_size, a full batch larger than a Sequential's chunk, unnormalised input to a field net,
the DLM's settings, load_mnist's counts)."""
import re

import numpy
import pytest

from neurophys import backend as B
from neurophys import validate as V
from neurophys.blocks import SGD, Dense
from neurophys.blocks.conv import Conv2D, ConvPool2D
from neurophys.data import load_mnist
from neurophys.models.dlm import DissipativeLearningMachine
from neurophys.models.mlp import MLP
from neurophys.models.physnet import FieldOnlyNet, PhysNet


@pytest.fixture
def data():
    rng = numpy.random.default_rng(0)
    return rng.standard_normal((8, 4)).astype(numpy.float32), numpy.arange(8) % 3


def _small_field_net():
    return FieldOnlyNet(grid=8, n_in=4, n_classes=3, rng=B.rng(0))


# ------------------------------------------------------------------ backward's dout shape
def test_mlp_backward_refuses_a_wrongly_shaped_dout(data):
    x, _ = data
    net = MLP([4, 5, 3], rng=B.rng(0))
    net.forward(x)
    for bad in (numpy.ones(3), numpy.ones((1, 3)), numpy.ones((8, 1))):   # each broadcast silently before
        with pytest.raises(V.NeurophysInputError, match=r"dout.*\(8, 3\).*got"):
            net.backward(bad)
    assert net.backward(numpy.ones((8, 3), numpy.float32)).shape == (8, 4)
    assert numpy.allclose(B.to_host(net.grads["b1"]), 8.0)   # Σ over the 8 examples of ∂L/∂z = 1


def test_dense_backward_refuses_a_wrongly_shaped_dz():
    layer = Dense(3, 2, rng=B.rng(0))
    layer.forward(numpy.ones((4, 3), numpy.float32))
    for bad in (numpy.ones((5, 2)), numpy.ones((4, 3))):
        with pytest.raises(V.NeurophysInputError, match=r"dz.*\(4, 2\).*got .*shape"):
            layer.backward(bad)
    assert layer.backward(numpy.ones((4, 2), numpy.float32)).shape == (4, 3)


@pytest.mark.parametrize("cls, out", [(Conv2D, (2, 8, 8, 4)), (ConvPool2D, (2, 4, 4, 4))])
def test_conv_backward_refuses_a_wrongly_shaped_dz(cls, out):
    layer = cls(1, 4, 3, 1, rng=B.rng(0))
    assert layer.forward(numpy.ones((2, 8, 8, 1), numpy.float32)).shape == out
    with pytest.raises(V.NeurophysInputError, match=rf"dz.*{cls.__name__}.*{re.escape(str(out))}, "
                                                     r"got float32 array of shape \(2, 8, 8, 5\)"):
        layer.backward(numpy.ones((2, 8, 8, 5), numpy.float32))
    assert layer.backward(numpy.ones(out, numpy.float32)).shape == (2, 8, 8, 1)


# ------------------------------------------------------------------ full batches larger than a Sequential's chunk
def test_full_batch_larger_than_the_chunk_names_batch_size():
    net = _small_field_net()
    net.chunk = 4
    x = numpy.random.default_rng(0).random((6, 4)).astype(numpy.float32)
    y = numpy.arange(6) % 3
    with pytest.raises(V.NeurophysInputError, match=r"batch_size <= 4"):
        net.learn(x, y, SGD(0.1))
    with pytest.raises(V.NeurophysInputError, match=r"batch_size=6 .*batch_size <= 4"):
        net.learn(x, y, SGD(0.1), batch_size=6)
    assert numpy.isfinite(net.learn(x[:4], y[:4], SGD(0.1))["loss"])           # exactly the chunk: trains
    assert numpy.isfinite(net.learn(x, y, SGD(0.1), batch_size=4, rng=numpy.random.default_rng(0))["loss"])


def test_physnet_full_batch_of_more_than_500_is_refused_up_front():
    net = PhysNet(rng=B.rng(0))
    x = numpy.zeros((501, 784), numpy.float32)
    with pytest.raises(V.NeurophysInputError, match=r"batch_size <= 500"):
        net.learn(x, numpy.zeros(501, int), SGD(0.01))


def test_sequential_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="before forward"):
        _small_field_net().backward(numpy.ones((2, 3)))
    net = _small_field_net()
    net.chunk = 4
    net.forward(numpy.zeros((6, 4), numpy.float32))          # an evaluation, run in chunks
    with pytest.raises(RuntimeError, match=r"backward needs a forward of at most 4 .*batch_size <= 4"):
        net.backward(numpy.ones((6, 3)))


# ------------------------------------------------------------------ unnormalised input to a field net
def test_field_only_net_blames_unnormalised_input_before_dt():
    x = numpy.round(numpy.random.default_rng(0).random((2, 4)) * 255).astype(numpy.float32)
    with pytest.raises(V.NeurophysInputError, match=r"input x is not normalised.*divide by 255"):
        _small_field_net().forward(x)


# ------------------------------------------------------------------ sizes and counts are integers
@pytest.mark.parametrize("sizes, name", [([4, 2.7, 3], r"sizes\[1\]"), ("43", "sizes"), (["4", "3"], r"sizes\[0\]"),
                                         ([4], "sizes"), (4, "sizes"), ([4, 0, 3], r"sizes\[1\]")])
def test_layer_sizes_are_positive_integers(sizes, name):
    with pytest.raises(V.NeurophysInputError, match=name):
        MLP(sizes)
    with pytest.raises(V.NeurophysInputError, match=name):
        DissipativeLearningMachine(sizes)


def test_valid_layer_sizes_are_unchanged():
    assert MLP((4, 5.0, numpy.int64(3))).sizes == [4, 5, 3]
    assert MLP(numpy.array([4, 3])).sizes == [4, 3]


@pytest.mark.parametrize("bad", [2.5, "4", 0, -1, True])
def test_learn_batch_size_must_be_a_positive_integer(data, bad):
    x, y = data
    with pytest.raises(V.NeurophysInputError, match="batch_size"):
        MLP([4, 5, 3], rng=B.rng(0)).learn(x, y, SGD(0.1), batch_size=bad)


def test_whole_float_batch_size_trains_as_the_integer(data):
    x, y = data
    a, b = MLP([4, 5, 3], rng=B.rng(0)), MLP([4, 5, 3], rng=B.rng(0))
    a.learn(x, y, SGD(0.1), batch_size=4, rng=numpy.random.default_rng(0))
    b.learn(x, y, SGD(0.1), batch_size=4.0, rng=numpy.random.default_rng(0))
    assert numpy.array_equal(B.to_host(a.params["W0"]), B.to_host(b.params["W0"]))


@pytest.mark.parametrize("kw, name", [(dict(n_train=2.5), "n_train"), (dict(n_test="3"), "n_test"),
                                      (dict(n_train=0), "n_train"), (dict(n_test=10 ** 6), "n_test")])
def test_load_mnist_counts_are_positive_integers(kw, name):
    with pytest.raises(V.NeurophysInputError, match=name):
        load_mnist(**dict(dict(n_train=2, n_test=2), **kw))


# ------------------------------------------------------------------ the DLM's settings
@pytest.mark.parametrize("name, bad", [("temperature", "1"), ("temperature", float("nan")), ("temperature", -0.5),
                                       ("dissipation_rate", float("nan")), ("dissipation_rate", "0.1"),
                                       ("dissipation_rate", 1.0), ("energy_injection_rate", -1.0),
                                       ("current_strength", -0.1), ("current_strength", "0.1"),
                                       ("weight_noise", -1.0), ("weight_noise", float("inf")),
                                       ("init_std", -0.01), ("alpha", "0.1"), ("alpha", float("nan")),
                                       ("alpha", True), ("dt", 0.0)])
def test_dlm_settings_are_checked_by_name(name, bad):
    with pytest.raises(V.NeurophysInputError, match=name):
        DissipativeLearningMachine([4, 3], **{name: bad})


def test_dlm_valid_settings_give_the_same_numbers(data):
    x, _ = data
    a = DissipativeLearningMachine([4, 5, 3], rng=B.rng(0))
    b = DissipativeLearningMachine([4, 5, 3], temperature=0.5, dissipation_rate=0.02, energy_injection_rate=0.05,
                                   current_strength=0.1, weight_noise=0.01, init_std=0.01, alpha=0.1, dt=0.01,
                                   rng=B.rng(0))
    assert numpy.array_equal(B.to_host(a.forward(x)), B.to_host(b.forward(x)))
    assert DissipativeLearningMachine([4, 3], alpha=-0.1).alpha == -0.1       # a negative α: minimise σ
