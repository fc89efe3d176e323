import shutil

import numpy
import pytest

from neurophys.data import DataError, load_mnist, minibatches, permute_pixels, pixel_permutations
from neurophys.data.mnist import MNIST_DIR, MNIST_FILES


def test_mnist_shapes_labels_and_normalisations():
    xtr, ytr, xte, yte = load_mnist(on_backend=False)
    assert xtr.shape == (60000, 784) and xte.shape == (10000, 784)
    assert xtr.dtype == numpy.float32 and 0.0 <= xtr.min() and xtr.max() == 1.0
    assert numpy.bincount(yte).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    xs = load_mnist("standard", n_train=1000, n_test=10, on_backend=False)[0]
    assert abs(xs.mean()) < 0.2 and 0.8 < xs.std() < 1.2
    img = load_mnist(flatten=False, n_train=5, n_test=5, on_backend=False)[0]
    assert img.shape == (5, 1, 28, 28)


def test_unknown_normalisation():
    with pytest.raises(ValueError, match="valid names are: unit, standard, none"):
        load_mnist("zscore")


def test_corrupt_and_missing_files_are_named(tmp_path):
    for f in MNIST_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    bad = tmp_path / MNIST_FILES["test_labels"]
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        load_mnist(directory=tmp_path)
    bad.unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is missing"):
        load_mnist(directory=tmp_path)


def test_minibatches_cover_every_example_once():
    x = numpy.arange(10, dtype=numpy.float32)[:, None]
    y = numpy.arange(10)
    seen = numpy.concatenate([yb for _, yb in minibatches(x, y, 3, rng=numpy.random.default_rng(0))])
    assert sorted(seen.tolist()) == list(range(10))


def test_permutations_are_fixed_and_seeded():
    a, b = pixel_permutations(3, seed=1), pixel_permutations(3, seed=1)
    assert all(numpy.array_equal(p, q) for p, q in zip(a, b))
    assert numpy.array_equal(a[0], numpy.arange(784)) and not numpy.array_equal(a[1], numpy.arange(784))
    x = numpy.random.default_rng(0).random((2, 784))
    assert numpy.array_equal(permute_pixels(x, a[1]), x[:, a[1]])
    img = x.reshape(2, 1, 28, 28)
    assert numpy.array_equal(permute_pixels(img, a[1]).reshape(2, 784), x[:, a[1]])
