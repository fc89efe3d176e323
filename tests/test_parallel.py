"""neurophys.parallel: a batch split over T threads (bounds, results in order, errors, nesting, one BLAS thread)."""
import threading

import pytest
from threadpoolctl import threadpool_info

from neurophys import parallel


def _shards_in_child():
    return parallel.map_shards(lambda k: 10 * k, 2)


def test_shard_bounds_cover_the_rows_in_order_or_say_none():
    assert parallel.shard_bounds(128, 2, min_rows=32, multiple=8) == [(0, 64), (64, 128)]
    assert parallel.shard_bounds(100, 3, min_rows=32, multiple=8) == [(0, 32), (32, 64), (64, 100)]
    assert parallel.shard_bounds(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert parallel.shard_bounds(63, 2, min_rows=32) is None     # too few rows per shard
    assert parallel.shard_bounds(1000, 1) is None                # one thread: no shards
    for n, T, m in [(129, 2, 8), (1000, 3, 8), (17, 4, 1), (9, 2, 8)]:
        b = parallel.shard_bounds(n, T, multiple=m)
        if b is not None:
            assert b[0][0] == 0 and b[-1][1] == n and all(p[1] == q[0] and p[0] < p[1] for p, q in zip(b, b[1:]))


def test_map_shards_runs_side_by_side_in_order_with_one_blas_thread():
    seen = {}
    together = threading.Barrier(3, timeout=30)   # passes only if the three shards run at the same time

    def fn(k):
        seen[k] = (threading.get_ident(), [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
        together.wait()
        return k * k

    assert parallel.map_shards(fn, 3) == [0, 1, 4]
    assert seen[0][0] == threading.get_ident()                   # shard 0 runs in the calling thread
    assert len({ident for ident, _ in seen.values()}) == 3
    assert all(set(n) <= {1} for _, n in seen.values())          # BLAS held to one thread inside


def test_map_shards_waits_for_every_shard_and_reraises():
    done = []

    def fn(k):
        if k == 0:
            raise ValueError("shard 0 failed")
        done.append(k)
        return k

    with pytest.raises(ValueError, match="shard 0 failed"):
        parallel.map_shards(fn, 3)
    assert sorted(done) == [1, 2]


def test_nested_map_shards_run_serially_inside_a_shard():
    def inner(k):
        assert parallel.shard_bounds(100, 2) is None             # no shards within a shard
        return parallel.map_shards(lambda j: (k, j, threading.get_ident()), 2)

    out = parallel.map_shards(inner, 2)
    for k, rows in enumerate(out):
        assert [r[:2] for r in rows] == [(k, 0), (k, 1)] and rows[0][2] == rows[1][2]


def test_matmul_split_by_rows_gives_the_numbers_of_one_blas_thread():
    import numpy
    from threadpoolctl import threadpool_limits
    rng = numpy.random.default_rng(0)
    x = rng.random((100, 784), dtype=numpy.float32)
    W = rng.standard_normal((784, 300)).astype(numpy.float32)
    d = rng.standard_normal((100, 300)).astype(numpy.float32)
    with threadpool_limits(1, user_api="blas"):
        ref, ref_t = x @ W, x.T @ d
    with threadpool_limits(2, user_api="blas"):
        for T in (2, 3):   # x @ W: split by columns of W (100 rows <= 300 columns); x.T @ d: by rows of x.T
            got, got_t = parallel.matmul(x, W, T), parallel.matmul(x.T, d, T)
            assert got.dtype == numpy.float32 and numpy.array_equal(got, ref) and numpy.array_equal(got_t, ref_t)
    small = rng.random((4, 5)), rng.random((5, 3))
    assert numpy.array_equal(parallel.matmul(*small, 2), small[0] @ small[1])   # too small to split


def test_blas_threads_nest_and_restore():
    def blas():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas()
    with parallel.blas_threads(1):
        assert blas() == {1}
        with parallel.blas_threads(1):
            assert blas() == {1}
        assert blas() == {1}
    assert blas() == before


def test_a_forked_child_makes_its_own_pool():
    import multiprocessing
    import sys
    if sys.platform != "linux":
        pytest.skip("fork start method")
    assert parallel.map_shards(lambda k: k, 2) == [0, 1]          # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_shards_in_child, ()).get(timeout=60) == [0, 10]   # a stale pool would hang


def test_map_shards_from_two_threads_at_once_both_get_their_results():
    out = {}

    def user(tag):
        out[tag] = [parallel.map_shards(lambda k: (tag, k), 2) for _ in range(200)]

    threads = [threading.Thread(target=user, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r == [(t, 0), (t, 1)] for t in "ab" for r in out[t])
