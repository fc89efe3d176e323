"""PhysNet (document 000) and its variants: size, gradients end to end (float64), learning, bad input."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.data import load_mnist
from neurophys.blocks import Adam, softmax_cross_entropy, softmax_cross_entropy_grad
from neurophys.gradcheck import check_gradient
from neurophys.models.physnet import FieldOnlyNet, PhysNet
from neurophys import validate as V


def test_document_network_has_879066_parameters():
    assert PhysNet().n_params() == 879_066


@pytest.mark.parametrize("physics", ["euler", "splitstep", "identity"])
def test_physnet_gradients(f64, physics):
    net = PhysNet(physics=physics, rng=B.rng(3))
    x = f64.standard_normal((2, 784))
    y = numpy.array([3, 7])

    def loss():
        return softmax_cross_entropy(net.forward(x), y)

    net.backward(softmax_cross_entropy_grad(net.forward(x), y))
    grads = {k: v.copy() for k, v in net.grads.items()}
    for name in ("conv1.W", "fc1.W", "inject.W", "inject.b", "conv3.W", "fc4.b"):
        err = check_gradient(loss, net.params[name], grads[name], max_entries=12)
        assert err < 1e-5, (name, err)


@pytest.mark.parametrize("physics", ["euler", "splitstep"])
def test_field_only_gradients(f64, physics):
    net = FieldOnlyNet(physics=physics, grid=8, n_in=20, rng=B.rng(4), n_steps=3, dt=0.05)
    x = f64.standard_normal((3, 20))
    y = numpy.array([0, 1, 2])

    def loss():
        return softmax_cross_entropy(net.forward(x), y)

    net.backward(softmax_cross_entropy_grad(net.forward(x), y))
    grads = {k: v.copy() for k, v in net.grads.items()}
    for name in ("inject.W", "inject.b", "out.W"):
        assert check_gradient(loss, net.params[name], grads[name], max_entries=30) < 1e-6, name


def test_physnet_learns_a_small_batch():
    """A few Adam steps on one batch of MNIST lower its loss (the network can learn at all)."""
    with B.using("numpy"):
        x, y, _, _ = load_mnist(normalise="standard", n_train=32, n_test=1)
        net = PhysNet(rng=B.rng(0))
        opt = Adam(1e-3)
        first = softmax_cross_entropy(net.forward(x), y)
        for _ in range(20):
            net.backward(softmax_cross_entropy_grad(net.forward(x), y))
            opt.step(net.params, net.grads)
        assert softmax_cross_entropy(net.forward(x), y) < 0.5 * first
        assert net["gpe"].max_dt_omega < 1.0       # Euler stayed within its stable range


def test_identity_control_passes_the_field_through(f64):
    net = PhysNet(physics="identity", rng=B.rng(0))
    x = f64.standard_normal((2, 784))
    net.forward(x)
    psi0, psi = net.fields(x)
    assert numpy.array_equal(psi0, psi)
    net_e = PhysNet(physics="euler", rng=B.rng(0))
    psi0_e, psi_e = net_e.fields(x)
    assert numpy.allclose(psi0_e, psi0)           # same weights, same injected field
    assert not numpy.allclose(psi_e, psi0_e)      # Euler changed it


def test_large_forward_is_chunked_and_refuses_backward():
    with B.using("numpy"):
        net = FieldOnlyNet(grid=8, n_in=10, n_steps=1)
        net.chunk = 4
        out = net.forward(numpy.zeros((10, 10), numpy.float32))
        assert out.shape == (10, 10)
        with pytest.raises(RuntimeError, match="backward"):
            net.backward(out)


def test_bad_input_is_refused():
    net = PhysNet()
    with pytest.raises(ValueError, match="784"):
        net.forward(numpy.zeros((2, 100), numpy.float32))
    with pytest.raises(ValueError, match="physics"):
        PhysNet(physics="rk4")
    with pytest.raises(ValueError, match="multiple of 4"):
        PhysNet(grid=30)


@pytest.mark.parametrize("cores, n", [(2, 32), (3, 40)])
def test_data_parallel_shards_match_the_serial_step(cores, n):
    """cores=T splits a training batch into T shards run side by side (all but the first in forked
    copies): same logits and field, gradients equal up to the order of the shards' sum."""
    from neurophys.blocks import softmax_cross_entropy_grad
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(n, 784)).astype(numpy.float32)
    y = rng.integers(0, 10, n)
    serial, sharded = PhysNet(rng=B.rng(0)), PhysNet(rng=B.rng(0))
    sharded.cores = cores
    z1, z2 = serial.forward(x), sharded.forward(x)
    assert numpy.array_equal(z1, z2)
    assert numpy.array_equal(serial.field, sharded.field)
    serial.backward(softmax_cross_entropy_grad(z1, y))
    sharded.backward(softmax_cross_entropy_grad(z2, y))
    g1, g2 = serial.grads, sharded.grads
    for k in g1:
        assert numpy.allclose(g1[k], g2[k], rtol=1e-4, atol=1e-6 * float(numpy.abs(g1[k]).max())), k
    assert sharded["gpe"].max_dt_omega == serial["gpe"].max_dt_omega
    assert sharded._copies.n_copies == cores - 1 and sharded._bounds is not None


@pytest.mark.parametrize("scheme", ["euler", "splitstep"])
def test_gpe_layer_shards_are_bit_identical(scheme):
    """GPELayer.threads = 2 evolves the batch as two shards in two threads: the same numbers."""
    from neurophys.physics import gpe as P
    rng = numpy.random.default_rng(1)
    x = rng.normal(size=(6, 8, 8, 2)).astype(numpy.float32)
    d = rng.normal(size=x.shape).astype(numpy.float32)
    one, two = (P.GPELayer(3, 0.01, V=-0.15, g=0.3, scheme=scheme, param_grads=True) for _ in range(2))
    two.threads = 2
    assert numpy.array_equal(one.forward(x), two.forward(x))
    assert numpy.array_equal(one.backward(d), two.backward(d))
    assert one.max_dt_omega == two.max_dt_omega
    for k in one.param_grads:
        assert numpy.allclose(one.param_grads[k], two.param_grads[k], rtol=1e-5), k


def test_adam_in_pieces_gives_the_formula():
    """Adam updates large arrays a cache-sized piece at a time, in place: the same numbers as the
    textbook update on whole arrays (same operations in the same order)."""
    rng = numpy.random.default_rng(2)
    theta = {"W": rng.normal(size=(300, 70)).astype(numpy.float32), "b": rng.normal(size=7).astype(numpy.float32)}
    mine = {k: v.copy() for k, v in theta.items()}
    opt = Adam(lr=1e-2)
    opt.piece = 1000                          # 21 pieces for W (and a ragged last one)
    m = {k: numpy.zeros_like(v) for k, v in theta.items()}
    v2 = {k: numpy.zeros_like(v) for k, v in theta.items()}
    for t in range(1, 4):
        g = {k: rng.normal(size=v.shape).astype(numpy.float32) for k, v in theta.items()}
        opt.step(mine, g)
        for k in theta:
            m[k] = 0.9 * m[k] + (1 - 0.9) * g[k]
            v2[k] = 0.999 * v2[k] + (1 - 0.999) * g[k] * g[k]
            m_hat, v_hat = m[k] / (1 - 0.9 ** t), v2[k] / (1 - 0.999 ** t)
            theta[k] = theta[k] - 1e-2 * m_hat / (numpy.sqrt(v_hat) + 1e-8)
        for k in theta:
            assert numpy.allclose(mine[k], theta[k], rtol=1e-6, atol=1e-7), k


_FORKED = {}


def _train_step_in_child():
    net, opt, x, y = _FORKED["net"], _FORKED["opt"], _FORKED["x"], _FORKED["y"]
    z = net.forward(x)
    net.backward(softmax_cross_entropy_grad(z, y))
    opt.step(net.params, net.grads)
    return float(softmax_cross_entropy(net.forward(x), y))


def test_sharded_physnet_trains_in_a_forked_child():
    """PhysNet(cores=2), Adam(threads=2) and GPELayer(threads=2) used in the parent, then in a forked
    pool worker: the worker does not talk to the parent's forked copies (it may not start copies
    of its own: the batch runs in one piece, with a warning) and completes a training step, no hang;
    the parent's parameters are untouched by the child's step."""
    import multiprocessing
    import sys
    if sys.platform != "linux":
        pytest.skip("fork start method")
    rng = numpy.random.default_rng(0)
    net, opt = PhysNet(rng=B.rng(0)), Adam(lr=1e-3)
    net.cores = opt.threads = 2
    net["gpe"].threads = 2
    x, y = rng.normal(size=(16, 784)).astype(numpy.float32), rng.integers(0, 10, 16)
    _FORKED.update(net=net, opt=opt, x=x, y=y)
    parent_loss = _train_step_in_child()                   # the parent's shard workers exist now
    before = {k: v.copy() for k, v in net.params.items()}
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child_loss = pool.apply_async(_train_step_in_child, ()).get(timeout=60)   # a stale pool would hang
    assert numpy.isfinite(child_loss) and numpy.isfinite(parent_loss)
    assert all(numpy.array_equal(before[k], v) for k, v in net.params.items())
    copies = net._copies
    assert numpy.isfinite(_train_step_in_child())                  # the parent's copies still answer
    assert net._copies is copies and copies.alive


def test_forked_copies_follow_the_parameters_and_raise_their_errors():
    """The copies see parameters the optimizer rebinds (not only in-place updates); an error inside a
    copy is raised in the caller, and the next call starts new copies."""
    rng = numpy.random.default_rng(3)
    x = rng.normal(size=(32, 784)).astype(numpy.float32)
    serial, sharded = PhysNet(rng=B.rng(0)), PhysNet(rng=B.rng(0))
    sharded.cores = 2
    sharded.forward(x)
    for net in (serial, sharded):                      # rebind, as a user loading weights would
        net["fc4"].params["W"] = net["fc4"].params["W"] * 2
    assert numpy.array_equal(serial.forward(x), sharded.forward(x))
    first = sharded._copies
    with pytest.raises(AttributeError, match="no_such_attribute"):
        first.fetch("gpe", "no_such_attribute")
    assert not first.alive
    assert numpy.array_equal(serial.forward(x), sharded.forward(x))       # new copies
    assert sharded._copies is not first and sharded._copies.alive
    wild = x.copy()
    wild[16:] *= 1e4                                   # only the copy's shard blows the field up
    copies = sharded._copies
    with pytest.raises(V.NeurophysInputError, match="not normalised"):
        sharded.forward(wild)
    assert not copies.alive                            # the copy's error came through, the copies stopped
    assert numpy.array_equal(serial.forward(x), sharded.forward(x))
    copies = sharded._copies
    for net in (serial, sharded):                      # a setting (not a parameter) changed: new copies
        net["gpe"].dt = 0.005
    assert numpy.array_equal(serial.forward(x), sharded.forward(x))
    assert sharded._copies is not copies and not copies.alive


def test_forked_copies_recover_from_a_dead_copy_and_stop_with_their_caller():
    """A copy killed between steps: the next step says so clearly, the one after runs on new copies.
    A caller killed outright (no clean-up): its copies see it and exit. A net copied after a sharded
    forward, or asked for fields(), does not mix halves of an old batch into its answers."""
    import copy as copy_module
    import os
    import signal
    import subprocess
    import sys
    import time
    from neurophys.blocks import softmax_cross_entropy_grad
    rng = numpy.random.default_rng(4)
    x, y = rng.normal(size=(32, 784)).astype(numpy.float32), rng.integers(0, 10, 32)
    net = PhysNet(rng=B.rng(0))
    net.cores = 2
    net.backward(softmax_cross_entropy_grad(net.forward(x), y))
    twin = copy_module.deepcopy(net)
    assert "_copies" not in twin.__dict__ and twin.field.shape == (16, 32, 32)   # its own half only
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        twin.backward(numpy.zeros((32, 10), numpy.float32))
    net.fields(x[:4])
    assert net.field.shape == (4, 32, 32)
    old = net._copies
    os.kill(old._procs[0].pid, signal.SIGKILL)
    old._procs[0].join(5)
    z = net.forward(x)                                       # a dead copy is seen before anything is sent
    assert net._copies is not old and numpy.isfinite(z).all()
    # a caller that dies without clean-up: its copies exit within seconds
    code = ("import os, sys, numpy; sys.path.insert(0, %r)\n"
            "from neurophys.models.physnet import PhysNet\n"
            "net = PhysNet(); net.cores = 2\n"
            "net.forward(numpy.zeros((32, 784), numpy.float32))\n"
            "print(net._copies._procs[0].pid, flush=True); os._exit(0)\n") % os.getcwd()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    pid = int(out.stdout.split()[0])
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the forked copy {pid} outlived its caller")


def test_a_field_with_parameter_gradients_is_not_sharded():
    """∂L/∂V, ∂L/∂g, ∂L/∂dt are kept by the field layer, outside grads: such a net runs in one piece."""
    from neurophys.blocks import softmax_cross_entropy_grad
    rng = numpy.random.default_rng(5)
    x, y = rng.normal(size=(32, 784)).astype(numpy.float32), rng.integers(0, 10, 32)
    one, two = PhysNet(rng=B.rng(0), param_grads=True), PhysNet(rng=B.rng(0), param_grads=True)
    two.cores = 2
    for net in (one, two):
        net.backward(softmax_cross_entropy_grad(net.forward(x), y))
    assert getattr(two, "_copies", None) is None
    for k in one["gpe"].param_grads:
        assert numpy.array_equal(one["gpe"].param_grads[k], two["gpe"].param_grads[k]), k
