"""EqPropNet: energy gradients by finite differences, the EqProp ≈ gradient hallmark, learning, errors."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.gradcheck import check_gradient, cosine_similarity, numerical_gradient
from neurophys.models.eqprop import EqPropNet, RelaxationDiverged, relax_step


def _states(net, rng, batch=3, lo=0.1, hi=0.9):
    """Random states strictly inside the box (away from the hard sigmoid's kinks)."""
    return [B.asarray(rng.uniform(lo, hi, size=(batch, n))) for n in net.sizes]


ENERGY_CASES = [("scellier", "hard_sigmoid", (0.0, 1.0)), ("scellier", "hard_sigmoid", None),
                ("scellier", "sigmoid", (0.0, 1.0)), ("raw", "hard_sigmoid", (0.0, 1.0))]


@pytest.mark.parametrize("energy,rho,clip", ENERGY_CASES)
def test_dE_ds_matches_finite_differences(f64, energy, rho, clip):
    net = EqPropNet([4, 5, 3, 2], energy=energy, rho=rho, clip=clip, rng=B.rng(1))
    s = _states(net, f64)

    def E_total():  # E plus the free input's own ½‖s_0‖²
        return float((net.energy(s) + 0.5 * (s[0] * s[0]).sum(axis=1)).sum())

    if clip is None and rho == "hard_sigmoid":  # the real ρ = clip(s, 0, 1): probe on both sides of the box
        s[1][:, :2] = B.asarray(f64.uniform(1.2, 1.5, size=(3, 2)))
        s[2][:, :1] = B.asarray(f64.uniform(-0.5, -0.2, size=(3, 1)))
    g = net.dE_ds(s, input_free=True)
    for l in range(len(s)):
        assert check_gradient(E_total, s[l], g[l]) < 1e-6, f"layer {l}"


@pytest.mark.parametrize("energy,rho,clip", ENERGY_CASES)
def test_dE_dtheta_matches_finite_differences(f64, energy, rho, clip):
    net = EqPropNet([4, 5, 3], energy=energy, rho=rho, clip=clip, rng=B.rng(2))
    net.params["b0"][:] = B.asarray(f64.normal(size=5))
    s = _states(net, f64)
    g = net.dE_dtheta(s)
    for k, theta in net.params.items():
        assert check_gradient(lambda: float(net.energy(s).sum()), theta, g[k]) < 1e-6, k


def test_cost_gradient_is_what_relax_step_uses(f64):
    """With every layer free and β > 0, one step moves s_L by −ε/(1+β)·(∂E/∂s_L + β(s_L − t))."""
    net = EqPropNet([3, 4, 2], rng=B.rng(3))
    s = _states(net, f64)
    t = B.asarray(f64.uniform(size=(3, 2)))
    new = relax_step(s, net.W, net.b, [True] * 3, net.rho, net.drho, 0.1, beta=0.3, target=t, order="synchronous")
    dE = net.dE_ds(s)[-1]
    numeric = numerical_gradient(lambda: float((net.energy(s) + 0.3 * net.cost(s[-1], t)).sum()), s[-1])
    step = (s[-1] - new[-1]) * (1 + 0.3) / 0.1  # the target layer's step is ε / (1 + β)
    assert numpy.allclose(B.to_host(step), numeric, atol=1e-6)
    assert numpy.allclose(B.to_host(step), B.to_host(dE + 0.3 * (s[-1] - t)))


@pytest.mark.parametrize("energy,clip", [("scellier", (0.0, 1.0)), ("raw", None)])
def test_hallmark_eqprop_update_equals_gradient_of_the_cost(f64, energy, clip):
    """β → 0: [∂E/∂θ(s^β) − ∂E/∂θ(s^−β)]/2β ≈ dC(s^0(θ))/dθ, the latter by finite differences
    through a converged free relaxation (independent of the EqProp machinery)."""
    net = EqPropNet([5, 6, 4, 3], energy=energy, clip=clip, eps=0.5, n_free=400, n_nudged=400,
                    init="normal", init_scale=0.4 if clip else 0.2, rng=B.rng(4))
    for l in range(net.L):
        net.params[f"b{l}"][:] = B.asarray(f64.uniform(0.1, 0.5, size=net.sizes[l + 1]))
    x = B.asarray(f64.uniform(size=(4, 5)))
    t = B.asarray(f64.uniform(size=(4, 3)))

    def loss():
        s0 = net.free_phase(x)
        return float(net.cost(s0[-1], t).mean())

    s_free = net.free_phase(x)
    converged = net.relax(s_free, n_steps=50)
    assert max(float(abs(a - b).max()) for a, b in zip(s_free[1:], converged[1:])) < 1e-10
    g_eqprop, _ = net.eqprop_gradient(s_free, t, beta=1e-4, nudging="symmetric")
    eq = numpy.concatenate([B.to_host(g_eqprop[k]).ravel() for k in net.params])
    fd = numpy.concatenate([numerical_gradient(loss, theta, eps=1e-5).ravel() for theta in net.params.values()])
    assert numpy.abs(fd).max() > 1e-3  # the cost really depends on θ
    cos = cosine_similarity(eq, fd)
    assert cos > 0.99, cos
    assert numpy.abs(eq - fd).max() < 1e-3 * numpy.abs(fd).max() + 1e-6


def test_one_sided_estimate_has_O_beta_bias_and_symmetric_removes_it(f64):
    net = EqPropNet([5, 6, 3], clip=None, energy="raw", n_free=400, n_nudged=400, init="normal",
                    init_scale=0.2, rng=B.rng(5))
    x, t = B.asarray(f64.uniform(size=(4, 5))), B.asarray(f64.uniform(size=(4, 3)))
    s_free = net.free_phase(x)
    ref, _ = net.eqprop_gradient(s_free, t, beta=1e-5, nudging="symmetric")
    err = {}
    for nudging in ("one-sided", "symmetric"):
        g, _ = net.eqprop_gradient(s_free, t, beta=0.05, nudging=nudging)
        err[nudging] = max(float(abs(g[k] - ref[k]).max()) for k in g)
    assert err["symmetric"] < 0.3 * err["one-sided"], err


def test_learns_a_regression_online_batch_of_one():
    """Continuous inputs and targets, linear output, one example per update: the cost drops."""
    with B.using("numpy"):
        rng = numpy.random.default_rng(0)
        X = rng.uniform(-1, 1, size=(200, 3)).astype("float32")
        T = numpy.stack([X[:, 0] * 2.0 - X[:, 1], 3.0 + X[:, 2] * X[:, 0]], axis=1).astype("float32")
        net = EqPropNet([3, 32, 2], linear_output=True, lr=[0.05, 0.02], beta=0.2, n_free=20, n_nudged=6,
                        rng=B.rng(0))
        before = float(net.cost(net.predict(X), T).mean())
        for epoch in range(4):
            for i in rng.permutation(200):
                info = net.train_step(X[i], T[i], diagnostics=(i == 0))
        after = float(net.cost(net.predict(X), T).mean())
        assert set(info) >= {"cost", "cost_per_example", "output", "updated"}
        assert after < 0.2 * before, (before, after)


def test_learns_to_classify_blobs_with_labels_and_two_hidden_layers():
    with B.using("numpy"):
        rng = numpy.random.default_rng(1)
        centres = rng.uniform(0, 1, size=(3, 8))
        y = rng.integers(0, 3, size=300)
        x = (centres[y] + 0.1 * rng.normal(size=(300, 8))).astype("float32")
        net = EqPropNet([8, 20, 16, 3], lr=[0.2, 0.1, 0.05], n_free=30, n_nudged=8, rng=B.rng(1))
        acc0 = net.accuracy(x, y)
        for _ in range(10):
            net.learn(x, y, batch_size=10, rng=rng)
        assert net.accuracy(x, y) > max(0.9, acc0 + 0.2)


def test_persistent_states_are_stored_and_reused():
    with B.using("numpy"):
        net = EqPropNet([4, 5, 2], persistent=True, rng=B.rng(0))
        net.enable_persistent(10)
        x = numpy.random.default_rng(0).uniform(size=(3, 4)).astype("float32")
        net.train_step(x, numpy.array([0, 1, 1]), index=numpy.array([2, 5, 7]))
        assert float(abs(net._bank[0][[2, 5, 7]]).sum()) > 0 and float(abs(net._bank[0][0]).sum()) == 0


def test_dream_clamps_the_label_and_frees_the_input():
    with B.using("numpy"):
        net = EqPropNet([6, 5, 3], rng=B.rng(0))
        net.params["W0"][:] = abs(net.params["W0"])
        img = net.dream(numpy.array([0, 2]), n_steps=50)
        assert img.shape == (2, 6) and img.min() >= 0 and img.max() <= 1 and img.max() > 0


def test_bad_input_gives_clear_errors():
    with B.using("numpy"):
        net = EqPropNet([4, 5, 3], rng=B.rng(0))
        with pytest.raises(ValueError, match="shape"):
            net.predict(numpy.zeros((2, 5), "float32"))
        with pytest.raises(ValueError, match="labels must be in 0..2"):
            net.train_step(numpy.zeros((2, 4), "float32"), numpy.array([0, 3]))
        with pytest.raises(ValueError, match="target must have shape"):
            net.train_step(numpy.zeros((2, 4), "float32"), numpy.zeros((2, 4), "float32"))
        with pytest.raises(ValueError, match="NaN"):
            net.predict(numpy.full((1, 4), numpy.nan, "float32"))
        with pytest.raises(ValueError, match="beta"):
            EqPropNet([4, 5, 3], beta=0.0)
        with pytest.raises(ValueError, match="eps"):
            EqPropNet([4, 5, 3], eps=1.5)
        with pytest.raises(ValueError, match="energy"):
            EqPropNet([4, 5, 3], energy="hopfield")
        with pytest.raises(ValueError, match="nudging"):
            EqPropNet([4, 5, 3], nudging="both")
        with pytest.raises(ValueError, match="lr"):
            EqPropNet([4, 5, 3], lr=[0.1])


def test_diverging_relaxation_stops_with_a_message():
    with B.using("numpy"):
        net = EqPropNet([3, 4, 2], energy="raw", clip=None, init="normal", init_scale=5.0, n_free=500,
                        rng=B.rng(0))
        with pytest.raises(RelaxationDiverged, match="lower eps"), numpy.errstate(all="ignore"):
            net.predict(numpy.ones((1, 3), "float32"))


def test_alternating_relaxation_never_raises_F_at_unit_step(f64):
    """Odd layers, then even layers, each to its exact box-constrained minimum: F is non-increasing."""
    net = EqPropNet([6, 8, 7, 3], eps=1.0, rng=B.rng(6))
    x, t = B.asarray(f64.uniform(size=(5, 6))), B.asarray(f64.uniform(size=(5, 3)))
    s, F = net.relax(net.init_states(x), n_steps=15, record_energy=True)
    s, Fn = net.relax(s, beta=0.5, target=t, n_steps=15, record_energy=True)
    assert numpy.all(numpy.diff(F) <= 1e-12) and numpy.all(numpy.diff(Fn) <= 1e-12)


def test_dE_dtheta_difference_shortcut_for_a_shared_clamped_layer(f64):
    net = EqPropNet([4, 5, 3], rng=B.rng(7))
    a, b = _states(net, f64), _states(net, f64)
    b[0] = a[0]  # the clamped input is the same array in both phases
    ga, gb = net.dE_dtheta(a), net.dE_dtheta(b)
    d = net.dE_dtheta_difference(a, b, 2.0)
    for k in ga:
        assert numpy.allclose(B.to_host(d[k]), B.to_host((ga[k] - gb[k]) / 2.0))
    b[0] = a[0].copy()  # a different array with equal values: the general path
    d2 = net.dE_dtheta_difference(a, b, 2.0)
    assert all(numpy.allclose(B.to_host(d[k]), B.to_host(d2[k])) for k in d)


def test_learn_with_persistent_states_allocates_the_bank_and_learns():
    with B.using("numpy"):
        rng = numpy.random.default_rng(2)
        centres = rng.uniform(0, 1, size=(2, 6))
        y = rng.integers(0, 2, size=120)
        x = (centres[y] + 0.1 * rng.normal(size=(120, 6))).astype("float32")
        net = EqPropNet([6, 12, 2], persistent=True, n_free=5, lr=[0.2, 0.1], rng=B.rng(2))
        for _ in range(8):
            net.learn(x, y, batch_size=10, rng=rng)
        assert net._bank[0].shape == (120, 12) and net.accuracy(x, y) > 0.9


def _old_relax_step(s, W, b, free, rho, drho, eps, beta=0.0, target=None, const=None, lo=None, hi=None,
                    order="alternating"):
    """The relaxation step as written before relax_steps planned its work (a new array per
    operation, W_lᵀ as a view): the arithmetic relax_steps must reproduce to the bit."""
    L, new = len(s) - 1, list(s)
    sweeps = [range(1, L + 1, 2), range(0, L + 1, 2)] if order == "alternating" else [range(L + 1)]
    for sweep in sweeps:
        cur = list(new)
        for l in sweep:
            if not free[l]:
                continue
            has_const = const is not None and const[l] is not None
            known = const[l] if has_const else (b[l - 1] if l > 0 else None)
            products = []
            if l > 0 and (free[l - 1] or not has_const):
                products.append(rho[l - 1](cur[l - 1]) @ W[l - 1])
            if l < L and (free[l + 1] or not has_const):
                products.append(rho[l + 1](cur[l + 1]) @ W[l].T)
            drive = products[0] if products else numpy.zeros_like(cur[l])
            if known is not None:
                drive = drive + known
            for p in products[1:]:
                drive = drive + p
            drive = drive * drho[l](cur[l])
            grad, step = cur[l] - drive, eps
            if beta and l == L:
                grad, step = grad + beta * (cur[l] - target), eps / (1.0 + abs(beta))
            out = cur[l] - grad * step
            new[l] = out if lo is None or lo[l] is None else numpy.clip(out, lo[l], hi[l])
    return new


@pytest.mark.parametrize("order", ["alternating", "synchronous"])
@pytest.mark.parametrize("sizes,rho,clip,input_free", [([20, 16, 4], "hard_sigmoid", (0.0, 1.0), False),
                                                       ([20, 16, 12, 4], "sigmoid", None, False),
                                                       ([20, 16, 12, 4], "hard_sigmoid", (0.0, 1.0), True)])
def test_relax_steps_is_the_step_formula_to_the_bit_and_never_writes_its_input(order, sizes, rho, clip, input_free):
    """relax_steps (planned products, contiguous W_lᵀ, two buffers per layer written in turn) gives
    exactly the states of n separate steps computed one operation at a time, float32, with and
    without nudging; and leaves the caller's arrays as they were."""
    from neurophys.models.eqprop import relax_steps
    with B.using("numpy"):
        net = EqPropNet(sizes, rho=rho, clip=clip, rng=B.rng(4))
        rng = numpy.random.default_rng(5)
        s = [rng.random((40, n), dtype=numpy.float32) for n in sizes]
        t = rng.random((40, sizes[-1]), dtype=numpy.float32)
        free = [input_free] + [True] * (len(sizes) - 1)
        lo, hi = net.box(input_free, (0.0, 1.0))
        const = [None, net.b[0] + s[0] @ net.W[0]] + [None] * (len(sizes) - 2) if not input_free else None
        before = [a.copy() for a in s]
        for beta in (0.0, -0.5):
            ref = list(s)
            for _ in range(7):
                ref = _old_relax_step(ref, net.W, net.b, free, net.rho, net.drho, 0.7, beta, t, const, lo, hi, order)
            got = relax_steps(s, net.W, net.b, free, net.rho, net.drho, 0.7, beta, t, -1, const, lo, hi, order,
                              n_steps=7)
            for l, (a, g) in enumerate(zip(ref, got)):
                assert g.dtype == numpy.float32 and numpy.array_equal(a, g), f"layer {l}, beta {beta}"
            one = relax_step(s, net.W, net.b, free, net.rho, net.drho, 0.7, beta, t, -1, const, lo, hi, order)
            first = _old_relax_step(s, net.W, net.b, free, net.rho, net.drho, 0.7, beta, t, const, lo, hi, order)
            assert all(numpy.array_equal(a, g) for a, g in zip(first, one))
        assert all(numpy.array_equal(a, b) for a, b in zip(before, s))   # the input states were only read
        assert got[0] is s[0] or input_free                               # a clamped layer passes through


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_shard_the_batch_and_give_the_numbers_of_one_blas_thread(threads):
    """threads=T relaxes T shards of rows side by side, splits x W_0, the input layer's weight
    gradient and the update by rows, and holds BLAS to one thread: the free phase, training and
    dreaming give exactly the numbers of threads=1 with one BLAS thread, whatever BLAS is set to;
    a batch below SHARD_MIN_ROWS per shard relaxes unsplit; a clamped input passes through as is."""
    from threadpoolctl import threadpool_limits

    from neurophys import parallel
    from neurophys.models.eqprop import SHARD_MIN_ROWS
    rng = numpy.random.default_rng(6)
    x = rng.random((200, 784), dtype=numpy.float32)
    y = rng.integers(0, 10, 200)
    calls = []
    real = parallel.map_shards

    def counting(fn, n):
        calls.append(n)
        return real(fn, n)

    def run(net):
        s = net.free_phase(x)
        net.learn(x, y, batch_size=100, rng=numpy.random.default_rng(8))
        return s, net.dream(numpy.arange(100) % 10, n_steps=20)

    def make(T):
        return EqPropNet([784, 100, 24, 10], eps=0.5, n_free=9, n_nudged=3, lr=[0.1, 0.05, 0.02], rng=B.rng(7),
                         threads=T)

    with B.using("numpy"):
        with threadpool_limits(1, user_api="blas"):
            one = make(1)
            s1, d1 = run(one)
        with threadpool_limits(2, user_api="blas"):
            net = make(threads)
            parallel.map_shards = counting
            try:
                sT, dT = run(net)
                assert calls and set(calls) == {threads}     # shards: relaxations, products, updates
                calls.clear()
                net.relax(net.init_states(x[:SHARD_MIN_ROWS * threads - 1]), n_steps=2)
                assert calls == [threads]                    # too few rows: one relaxation (x W_0 still split)
            finally:
                parallel.map_shards = real
    assert all(numpy.array_equal(a, b) for a, b in zip(s1, sT)) and sT[0] is x
    for k in one.params:
        assert numpy.array_equal(one.params[k], net.params[k]), k
    assert numpy.array_equal(d1, dT)
    from neurophys import validate as V
    with pytest.raises(V.NeurophysInputError, match="threads"):
        EqPropNet([3, 4, 2], threads=0)


def test_a_training_step_computes_the_clamped_drive_once_and_forgets_it_after():
    """The free and nudged phases of one step share x W_0 + b_0 (per shard when sharded); the next
    step, with new weights, computes it afresh, so training matches relaxations made one by one."""
    from neurophys.models.eqprop import SHARD_MIN_ROWS
    n = 2 * SHARD_MIN_ROWS                        # two shards with threads=2
    rng = numpy.random.default_rng(9)
    x = rng.random((n, 12), dtype=numpy.float32)
    y = rng.integers(0, 3, n)
    from threadpoolctl import threadpool_limits
    with B.using("numpy"), threadpool_limits(1, user_api="blas"):
        for threads, per_step in ((1, 1), (2, 2)):
            net = EqPropNet([12, 40, 3], n_free=5, n_nudged=2, nudging="symmetric", rng=B.rng(1), threads=threads)
            ref = EqPropNet([12, 40, 3], n_free=5, n_nudged=2, nudging="symmetric", rng=B.rng(1))
            calls = []
            real = net._const_drive
            net._const_drive = lambda s, free: calls.append(1) or real(s, free)
            for step in range(3):
                net.train_step(x, y)
                s_free = ref.free_phase(x)        # the same step, phase by phase, outside a training step
                g, _ = ref.eqprop_gradient(s_free, ref.as_target(y, n))
                ref.apply_update(g)
                assert len(calls) == per_step * (step + 1) and net._drives is None
            for k in net.params:
                assert numpy.array_equal(net.params[k], ref.params[k]), (threads, k)
