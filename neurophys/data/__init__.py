"""Data shipped with neurophys (MNIST) and the helpers to iterate over it."""
from .augment import shift_images
from .batches import minibatch_indices, minibatches
from .mnist import MNIST_FILES, DataError, load_mnist, permute_pixels, pixel_permutations

__all__ = ["MNIST_FILES", "DataError", "load_mnist", "minibatch_indices", "minibatches", "permute_pixels",
           "pixel_permutations", "shift_images"]
