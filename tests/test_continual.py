"""The continual-learning bench: tasks, the accuracy matrix, EWC / SI / replay."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.gradcheck import check_gradient
from neurophys.learning.continual import (Joint, Strategy, average_accuracy, backward_transfer, forgetting,
                                          forgetting_per_task, get_strategy, summarise, train_sequence)
from neurophys.learning.regularisers import EWC, SI, diagonal_fisher, per_example_squared_grads
from neurophys.learning.replay import ExperienceReplay, ReplayBuffer
from neurophys.learning.tasks import (Task, TaskSequence, gaussian_cluster_tasks, gaussian_clusters,
                                      permuted_mnist, split_mnist)
from neurophys.models.mlp import MLP
from neurophys.blocks import softmax, one_hot, softmax_cross_entropy, softmax_cross_entropy_grad


# ------------------------------------------------------------------ the accuracy matrix
R3 = numpy.array([[0.9, 0.1, 0.1],
                  [0.7, 0.8, 0.1],
                  [0.5, 0.6, 0.95]])


def test_summaries_of_a_hand_made_matrix():
    assert average_accuracy(R3) == pytest.approx((0.5 + 0.6 + 0.95) / 3)
    assert backward_transfer(R3) == pytest.approx(((0.5 - 0.9) + (0.6 - 0.8)) / 2)
    assert forgetting_per_task(R3) == pytest.approx([0.9 - 0.5, 0.8 - 0.6])
    assert forgetting(R3) == pytest.approx(0.3)
    assert summarise(R3)["bwt"] == pytest.approx(-0.3)


def test_forgetting_uses_the_best_earlier_accuracy_not_the_diagonal():
    R = numpy.array([[0.6, 0.0, 0.0], [0.9, 0.7, 0.0], [0.5, 0.7, 0.9]])  # task 0 improved, then fell
    assert forgetting_per_task(R)[0] == pytest.approx(0.4)
    assert backward_transfer(R) == pytest.approx(((0.5 - 0.6) + 0.0) / 2)


def test_one_task_has_no_transfer_and_bad_matrices_are_refused():
    assert numpy.isnan(backward_transfer([[0.9]])) and numpy.isnan(forgetting([[0.9]]))
    with pytest.raises(ValueError, match="square"):
        average_accuracy(numpy.zeros((2, 3)))


# ------------------------------------------------------------------ task sequences
def test_gaussian_clusters_follow_document_003_recipe():
    X, y = gaussian_clusters(300, 20, 5, seed=42)
    assert X.shape == (300, 20) and y.shape == (300,) and set(numpy.unique(y)) <= set(range(5))
    X2, y2 = gaussian_clusters(300, 20, 5, seed=42)
    assert numpy.array_equal(X, X2) and numpy.array_equal(y, y2)
    # class means sit near 2·N(0, 1) centres: spread between classes >> within-class noise 1
    means = numpy.array([X[y == k].mean(0) for k in range(5)])
    assert numpy.linalg.norm(means[0] - means[1]) > 3
    seq = gaussian_cluster_tasks()
    assert len(seq) == 2 and seq.n_classes == 5 and seq.n_in == 20
    assert seq[0].x_test is seq[0].x_train  # the original measures on its training data


def test_permuted_and_split_mnist_builders():
    seq = permuted_mnist(3, n_train=50, n_test=20, seed=1)
    assert len(seq) == 3 and seq.n_in == 784 and seq.n_classes == 10
    x0, x2 = B.to_host(seq[0].x_train), B.to_host(seq[2].x_train)
    assert not numpy.array_equal(x0, x2)
    assert numpy.allclose(numpy.sort(x0, axis=1), numpy.sort(x2, axis=1))  # same pixels, moved
    sp = split_mnist(n_train=300, n_test=100)
    assert len(sp) == 5 and sp.n_classes == 2
    assert set(B.to_host(sp[1].y_train).tolist()) == {0, 1}
    cl = split_mnist(pairs=((2, 3),), n_train=300, n_test=100, relabel=False)
    assert set(B.to_host(cl[0].y_train).tolist()) == {2, 3} and cl.n_classes == 10


def test_mismatched_tasks_are_refused():
    x, y = B.zeros((4, 3)), B.xp().asarray([0, 1, 0, 1])
    a = Task("a", x, y, x, y, 2)
    with pytest.raises(ValueError, match="input size"):
        TaskSequence([a, Task("b", B.zeros((4, 5)), y, B.zeros((4, 5)), y, 2)])
    with pytest.raises(ValueError, match="label space"):
        TaskSequence([a, Task("c", x, y, x, y, 3)])
    with pytest.raises(ValueError, match="outside the label"):
        Task("d", x, B.xp().asarray([0, 1, 2, 5]), x, y, 3)
    with pytest.raises(ValueError, match="shape"):
        Task("e", x, B.xp().asarray([0, 1]), x, y, 2)
    with pytest.raises(ValueError, match="at least one"):
        TaskSequence([])
    with pytest.raises(ValueError, match="unknown strategy"):
        get_strategy("dream")


# ------------------------------------------------------------------ EWC
def _small_net(f64, sizes=(5, 7, 3), act="tanh"):
    return MLP(list(sizes), activation=act, rng=f64)


def test_per_example_squared_grads_equal_a_loop_over_examples(f64):
    net = _small_net(f64)
    x, y = f64.standard_normal((6, 5)), f64.integers(0, 3, 6)
    p = softmax(net.forward(x))
    sq = per_example_squared_grads(net, p - one_hot(y, 3, dtype=p.dtype))
    for k in net.params:
        loop = 0
        for n in range(6):
            z = net.forward(x[n:n + 1])
            net.backward(softmax_cross_entropy_grad(z, y[n:n + 1]))
            loop = loop + net.grads[k] ** 2
        assert numpy.allclose(sq[k], loop, rtol=1e-10, atol=1e-14), k


def test_ewc_penalty_gradient_matches_central_differences(f64):
    net = _small_net(f64)
    x, y = f64.standard_normal((20, 5)), f64.integers(0, 3, 20)
    ewc = EWC(lam=3.0, n_fisher=20)
    task = Task("t", x, y, x, y, 3)
    ewc.end_task(net, 0, task)
    for k in net.params:                       # move away from the anchor, then a second task
        net.params[k] += 0.3 * f64.standard_normal(net.params[k].shape)
    ewc.end_task(net, 1, task)
    for k in net.params:
        net.params[k] += 0.3 * f64.standard_normal(net.params[k].shape)
    grads = ewc.penalty_grads(net.params)
    for k, th in net.params.items():
        err = check_gradient(lambda: ewc.penalty(net.params), th, grads[k])
        assert err < 1e-7, (k, err)
    assert ewc.penalty(net.params) > 0


def test_fisher_is_nonnegative_and_true_fisher_samples_labels(f64):
    net = _small_net(f64)
    x, y = f64.standard_normal((30, 5)), f64.integers(0, 3, 30)
    for F in (diagonal_fisher(net, x, y), diagonal_fisher(net, x, None, rng=f64)):
        assert all(float(v.min()) >= 0 for v in F.values()) and float(F["W0"].sum()) > 0
    with pytest.raises(ValueError, match="lam"):
        EWC(lam=-1)


# ------------------------------------------------------------------ SI
def test_si_penalty_gradient_matches_central_differences(f64):
    net = _small_net(f64)
    si = SI(c=0.7, xi=0.1)
    si.Omega = {k: f64.random(th.shape) for k, th in net.params.items()}
    si.theta_tilde = {k: th + f64.standard_normal(th.shape) for k, th in net.params.items()}
    grads = si.penalty_grads(net.params)
    for k, th in net.params.items():
        assert check_gradient(lambda: si.penalty(net.params), th, grads[k]) < 1e-7, k


def test_si_path_integral_adds_up_to_the_loss_decrease(f64):
    """For small gradient-descent steps, Σ_i ω_i = −∫ g·dθ = L(start) − L(end)."""
    from neurophys.blocks import SGD
    net = _small_net(f64)
    x, y = f64.standard_normal((40, 5)), f64.integers(0, 3, 40)
    si, opt = SI(), SGD(lr=0.01)
    si.begin_task(net, 0, None)
    L0 = softmax_cross_entropy(net.forward(x), y)
    for _ in range(300):
        net.backward(softmax_cross_entropy_grad(net.forward(x), y))
        g = {k: v.copy() for k, v in net.grads.items()}
        opt.step(net.params, net.grads)
        si.after_update(net, g)
    L1 = softmax_cross_entropy(net.forward(x), y)
    work = sum(float(w.sum()) for w in si.omega.values())
    assert L0 - L1 > 0.05
    assert work == pytest.approx(L0 - L1, rel=0.02)
    si.end_task(net, 0, None)
    assert set(si.Omega) == set(net.params)


# ------------------------------------------------------------------ replay
def test_reservoir_keeps_a_uniform_sample_of_the_stream():
    buf = ReplayBuffer(100, seed=0)
    x = numpy.arange(2000, dtype=float)[:, None]
    for start in range(0, 2000, 500):          # four "tasks" of 500
        buf.add(x[start:start + 500], numpy.arange(start, start + 500))
    assert len(buf) == 100 and buf.n_seen == 2000
    per_task = numpy.bincount(buf.y // 500, minlength=4)
    assert per_task.min() >= 10               # ≈ 25 each
    assert numpy.array_equal(buf.x[:, 0], buf.y)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0)


def test_replay_buffer_larger_than_the_data_is_refused():
    seq = gaussian_cluster_tasks(n_samples=30)
    with pytest.raises(ValueError, match="larger than all the training data"):
        ExperienceReplay(capacity=1000).prepare(seq)


# ------------------------------------------------------------------ the loop learns
def _cluster_run(strategy, seed=0, epochs=30):
    seq = gaussian_cluster_tasks(n_samples=200)
    net = MLP([20, 32, 5], activation="gelu", rng=B.rng(seed))
    return train_sequence(net, seq, strategy, epochs=epochs, batch_size=50, lr=0.01, rng=seed)


def test_sequence_learns_and_regularisers_reduce_forgetting():
    ft = _cluster_run(Strategy())
    assert ft.R.shape == (2, 2) and ft.R[0, 0] > 0.9 and ft.R[1, 1] > 0.9   # learning happened
    f_ft = forgetting(ft.R)
    assert f_ft > 0.1                                                        # and forgetting too
    for s in (EWC(lam=1e5, n_fisher=200), SI(c=1.0), ExperienceReplay(capacity=50), Joint()):
        r = _cluster_run(s)
        assert forgetting(r.R) < f_ft, (s.name, forgetting(r.R), f_ft)
        assert r.R[1, 1] > 0.6, s.name


def test_capped_springs_keep_penalty_and_gradient_consistent(f64):
    net = _small_net(f64)
    x, y = f64.standard_normal((20, 5)), f64.integers(0, 3, 20)
    task = Task("t", x, y, x, y, 3)
    ewc, si = EWC(lam=1e4, k_max=2.0), SI(c=5.0, k_max=0.5)
    ewc.end_task(net, 0, task)
    si.begin_task(net, 0, task)
    si.omega = {k: f64.random(th.shape) for k, th in net.params.items()}
    for k in net.params:
        net.params[k] += 0.3 * f64.standard_normal(net.params[k].shape)
    si.end_task(net, 0, task)
    for k in net.params:
        net.params[k] += 0.3 * f64.standard_normal(net.params[k].shape)
    for reg in (ewc, si):
        grads = reg.penalty_grads(net.params)
        for k, th in net.params.items():
            assert check_gradient(lambda: reg.penalty(net.params), th, grads[k]) < 1e-7, (reg.name, k)
            stiffness = numpy.abs(grads[k]) / numpy.maximum(numpy.abs(th - (reg._spring(k)[1] if reg is ewc
                                                                             else reg.theta_tilde[k])), 1e-12)
            assert stiffness.max() <= reg.k_max * (1 + 1e-9)


def test_joint_at_equal_compute_sees_as_many_examples_as_one_task():
    seq = gaussian_cluster_tasks(seeds=(1, 2, 3), n_samples=40)
    x, y = Joint(same_steps=True).training_data(2, seq)
    assert len(y) == 40
    x, y = Joint(same_steps=False).training_data(2, seq)
    assert len(y) == 120
