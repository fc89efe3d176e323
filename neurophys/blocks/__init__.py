"""Hand-written building blocks: layers, activations, losses, optimizers.

Each block's backward sits next to its forward, with the equation in the
docstring; ``tests/test_blocks.py`` checks every backward by finite differences.
"""
from .activations import ACTIVATIONS, Activation, get_activation
from .dense import Dense
from .init import init_weights
from .losses import (accuracy, log_softmax, one_hot, softmax, softmax_cross_entropy,
                     softmax_cross_entropy_grad, squared_error, squared_error_grad)
from .optim import SGD, Adam, get_optimizer
from .sequential import ReLU, Reshape, Sequential

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "Dense", "init_weights", "accuracy",
           "log_softmax", "one_hot", "softmax", "softmax_cross_entropy", "softmax_cross_entropy_grad",
           "squared_error", "squared_error_grad", "SGD", "Adam", "get_optimizer", "ReLU", "Reshape", "Sequential"]
