"""Every hand-written backward in neurophys.blocks against central differences (float64)."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks import (ACTIVATIONS, SGD, Adam, Dense, get_activation, get_optimizer,
                              softmax_cross_entropy, softmax_cross_entropy_grad, squared_error,
                              squared_error_grad)
from neurophys.gradcheck import check_gradient, numerical_gradient, relative_error
from neurophys.models.mlp import MLP


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives(f64, name):
    act = get_activation(name)
    z = f64.uniform(-3, 3, size=(6, 5))
    if name in ("relu", "hard_sigmoid"):  # keep away from the kinks at 0 and 1
        z = z[(numpy.abs(z) > 1e-3) & (numpy.abs(z - 1) > 1e-3)]
    w = f64.standard_normal(z.shape)  # probe f through a random projection
    analytic = act.df(z) * w
    err = check_gradient(lambda: float((act.f(z) * w).sum()), z, analytic, max_entries=None)
    assert err < 1e-7, f"{name}: {err}"


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="valid names are: .*sigmoid.*gelu"):
        get_activation("swish")


def test_sigmoid_does_not_overflow():
    s = get_activation("sigmoid").f(numpy.array([-1000.0, 0.0, 1000.0]))
    assert numpy.allclose(s, [0.0, 0.5, 1.0])


def test_dense_backward(f64):
    layer = Dense(5, 3, rng=numpy.random.default_rng(1))
    x = f64.standard_normal((4, 5))
    w = f64.standard_normal((4, 3))
    loss = lambda: float((layer.forward(x) * w).sum())  # noqa: E731
    loss()
    dx = layer.backward(w)
    assert check_gradient(loss, x, dx) < 1e-8
    assert check_gradient(loss, layer.params["W"], layer.grads["W"]) < 1e-8
    assert check_gradient(loss, layer.params["b"], layer.grads["b"]) < 1e-8


def test_dense_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 5\), got .*\(4, 6\)"):
        Dense(5, 3).forward(numpy.zeros((4, 6), dtype=numpy.float32))


def test_squared_error_grad(f64):
    y, t = f64.standard_normal((4, 3)), f64.standard_normal((4, 3))
    assert check_gradient(lambda: squared_error(y, t), y, squared_error_grad(y, t)) < 1e-8


def test_softmax_cross_entropy_grad(f64):
    z, labels = f64.standard_normal((5, 4)) * 3, numpy.array([0, 3, 1, 1, 2])
    err = check_gradient(lambda: softmax_cross_entropy(z, labels), z, softmax_cross_entropy_grad(z, labels))
    assert err < 1e-7


def test_losses_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="differ"):
        squared_error(numpy.zeros((2, 3)), numpy.zeros((2, 2)))
    with pytest.raises(ValueError, match="labels must have shape"):
        softmax_cross_entropy(numpy.zeros((2, 3)), numpy.zeros(3, dtype=int))


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "gelu"])
def test_mlp_backward(f64, act):
    net = MLP([3, 4, 4, 2], activation=act, out_activation="tanh", rng=numpy.random.default_rng(2))
    x, t = f64.standard_normal((5, 3)), f64.standard_normal((5, 2))

    def loss():
        return squared_error(net.forward(x), t)

    loss()
    dx = net.backward(squared_error_grad(net.forward(x), t))
    assert check_gradient(loss, x, dx) < 1e-7
    for k in net.params:
        assert check_gradient(loss, net.params[k], net.grads[k]) < 1e-7, k


def test_numerical_gradient_refuses_float32():
    x = numpy.zeros(3, dtype=numpy.float32)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: float(x.sum()), x)


def test_gradcheck_catches_a_wrong_gradient(f64):
    x = f64.standard_normal(4)
    assert relative_error(3 * x ** 2, numerical_gradient(lambda: float((x ** 3).sum()), x)) < 1e-7
    assert check_gradient(lambda: float((x ** 3).sum()), x, 2 * x ** 2) > 0.1


def test_sgd_momentum_is_inertial_dynamics():
    """On L = ½θ², momentum SGD is a damped oscillator; it converges and overshoots 0."""
    theta = {"x": numpy.array([1.0])}
    opt = SGD(lr=0.1, momentum=0.9)
    path = []
    for _ in range(300):
        opt.step(theta, {"x": theta["x"].copy()})
        path.append(theta["x"][0])
    assert min(path) < 0  # inertia carries it past the minimum
    assert abs(path[-1]) < 1e-3


def test_adam_minimises_a_quadratic():
    theta = {"x": numpy.array([3.0, -2.0])}
    opt = Adam(lr=0.05)
    for _ in range(2000):
        opt.step(theta, {"x": 2 * theta["x"]})
    assert numpy.abs(theta["x"]).max() < 1e-2


def test_optimizer_errors():
    with pytest.raises(ValueError, match="valid names are: sgd, adam"):
        get_optimizer("rmsprop")
    with pytest.raises(ValueError, match="positive"):
        SGD(lr=-1)
    with pytest.raises(ValueError, match="no gradient for parameter 'W'"):
        SGD(lr=0.1).step({"W": numpy.zeros(2)}, {})


def test_mlp_learns_a_linear_map():
    with B.using("numpy"):
        rng = numpy.random.default_rng(0)
        x = rng.standard_normal((64, 3)).astype(numpy.float32)
        t = x @ numpy.array([[1.0], [-2.0], [0.5]], dtype=numpy.float32)
        net = MLP([3, 1], out_activation="identity", rng=B.rng(0))
        opt = SGD(lr=0.1)
        first = squared_error(net(x), t)
        for _ in range(200):
            net.backward(squared_error_grad(net(x), t))
            opt.step(net.params, net.grads)
        assert squared_error(net(x), t) < 1e-3 * first
