"""neurophys: physics-inspired neural networks, written by hand in NumPy/CuPy.

Layout (the folder tree is the architecture):

- ``backend``     NumPy or CuPy, chosen in one place
- ``blocks``      hand-written layers, activations, losses, optimizers
- ``gradcheck``   central finite differences, the referee of every backward
- ``physics``     fields and mechanics (GPE, trajectories)
- ``models``      networks with explicit forward / energy / update rules
- ``learning``    protocols (continual learning, ...)
- ``kernels``     raw CUDA kernels with their NumPy twins
- ``data``        MNIST, shipped and checksummed
- ``plots``       figures and animations
- ``course``/``cli``  the lesson runner
"""
__version__ = "0.1.0"
