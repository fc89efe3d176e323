"""MNIST, shipped inside the package and verified by SHA-256 on every load.

The MNIST database of handwritten digits, Y. LeCun, C. Cortes and C. J. C. Burges
(CC BY-SA 3.0): 60,000 training and 10,000 test images, 28×28 uint8.
"""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy

from .. import backend as B
from .. import validate as V

MNIST_DIR = Path(__file__).with_name("mnist")
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
NORMALISATIONS = ("unit", "standard", "none")


class DataError(RuntimeError):
    """A data file is missing or does not match its checksum."""


def _expected_checksums(directory: Path) -> dict:
    sums = directory / "SHA256SUMS"
    if not sums.exists():
        raise DataError(f"checksum list {sums} is missing; reinstall neurophys or restore the file")
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            out[name.lstrip("*")] = digest
    return out


def _read_verified(path: Path, expected: str) -> bytes:
    if not path.exists():
        raise DataError(f"MNIST file {path.name} is missing from {path.parent}; reinstall neurophys "
                        "or copy the standard file there")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise DataError(f"MNIST file {path.name} is corrupt: SHA-256 {digest[:16]}… does not match the "
                        f"expected {expected[:16]}…; replace it with the standard file")
    return gzip.decompress(raw)


def _parse_idx(buf: bytes, name: str) -> numpy.ndarray:
    """IDX format: magic (0, 0, dtype 0x08, ndim), big-endian dims, then uint8 data."""
    if buf[:3] != b"\x00\x00\x08":
        raise DataError(f"{name} is not an IDX uint8 file")
    ndim = buf[3]
    dims = numpy.frombuffer(buf, dtype=">u4", count=ndim, offset=4).astype(int)
    data = numpy.frombuffer(buf, dtype=numpy.uint8, offset=4 + 4 * ndim)
    if data.size != int(numpy.prod(dims)):
        raise DataError(f"{name} is truncated: header says {tuple(dims)}, found {data.size} values")
    return data.reshape(tuple(dims))


_cache: dict = {}


def load_raw(directory: Path | str | None = None) -> dict:
    """The four MNIST arrays as uint8 NumPy arrays, checksums verified."""
    directory = Path(directory) if directory is not None else MNIST_DIR
    key = str(directory.resolve())
    if key not in _cache:
        sums = _expected_checksums(directory)
        arrays = {}
        for k, fname in MNIST_FILES.items():
            if fname not in sums:
                raise DataError(f"{directory / 'SHA256SUMS'} has no checksum for {fname}")
            arrays[k] = _parse_idx(_read_verified(directory / fname, sums[fname]), fname)
        _cache[key] = arrays
    return _cache[key]


def load_mnist(normalise: str = "unit", flatten: bool = True, n_train: int | None = None,
               n_test: int | None = None, directory=None, dtype=None, on_backend: bool = True):
    """MNIST as ``(x_train, y_train, x_test, y_test)``.

    normalise: ``'unit'`` → pixels / 255 in [0, 1]; ``'standard'`` → (p/255 − 0.1307) / 0.3081
    (the PyTorch-tutorial normalisation of document 000); ``'none'`` → raw 0..255 as floats.
    flatten: images as rows of 784 (True) or as (N, 1, 28, 28) (False).
    n_train / n_test: take the first n examples (for quick tiers).
    Arrays are on the active backend unless ``on_backend=False``; labels are int64.
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalise!r}; valid names are: {', '.join(NORMALISATIONS)}")
    raw = load_raw(directory)
    dtype = B.float_dtype() if dtype is None else dtype
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = raw[f"{split}_images"], raw[f"{split}_labels"]
        if n is not None:
            n = V.positive_int(f"n_{split}", n)
            if n > len(labels):
                raise V.NeurophysInputError(f"n_{split} must be in 1..{len(labels)} (MNIST has {len(labels)} "
                                            f"{split} images), got {n}")
            images, labels = images[:n], labels[:n]
        x = images.astype(numpy.float32)
        if normalise != "none":
            x /= 255.0
        if normalise == "standard":
            x = (x - MNIST_MEAN) / MNIST_STD
        x = x.reshape(len(x), 784) if flatten else x.reshape(len(x), 1, 28, 28)
        x, y = x.astype(dtype), labels.astype(numpy.int64)
        if on_backend:
            x, y = B.xp().asarray(x), B.xp().asarray(y)
        out += [x, y]
    return tuple(out)


def pixel_permutations(n_tasks: int, seed: int = 0, n_pixels: int = 784, identity_first: bool = True):
    """Fixed, seeded pixel permutations for permuted-MNIST tasks (NumPy int arrays).

    With ``identity_first`` task 0 is plain MNIST.
    """
    rng = numpy.random.default_rng(seed)
    perms = [rng.permutation(n_pixels) for _ in range(n_tasks)]
    if identity_first and n_tasks:
        perms[0] = numpy.arange(n_pixels)
    return perms


def permute_pixels(x, perm):
    """x[:, perm] for flat images, or the same permutation on (N, 1, 28, 28) images."""
    xp = B.get_array_module(x)
    perm = xp.asarray(perm)
    if x.ndim == 2:
        return x[:, perm]
    flat = x.reshape(len(x), -1)[:, perm]
    return flat.reshape(x.shape)
