"""Data shipped with neurophys (MNIST) and the helpers to iterate over it."""
from .mnist import MNIST_FILES, DataError, load_mnist, minibatches, permute_pixels, pixel_permutations

__all__ = ["MNIST_FILES", "DataError", "load_mnist", "minibatches", "permute_pixels", "pixel_permutations"]
