"""Hand-written CUDA kernels for the two hot loops, each with a NumPy twin.

    gpe.cu      forward-Euler GPE step (one step per launch, or many steps per launch with
                the field in shared memory), the split-step's real-space phase step, adjoints
    eqprop.cu   the EqProp relaxation (many steps per launch, a tile of examples per block)
                and the weight-update reduction

Modules:
    dispatch    the cupy implementations of the named operations (``gpe.evolve``,
                ``gpe.evolve_backward``, ``eqprop.relax_steps``, ``eqprop.weight_grads``):
                the kernels where they cover the case, the NumPy reference otherwise
    gpe, eqprop the kernel launches (cupy arrays, or NumPy arrays with device='host')
    loader      finds the .cu sources; cupy.RawModule (via neurophys.backend) or the host build
    emulate     compiles a .cu for the CPU through host_emulation.h and calls it like cupy does,
                so CI checks the kernels' arithmetic without a GPU

The direction of the imports: this package imports physics and models (their public
functions); they never import it. :func:`neurophys.backend.set_backend` imports it when
the cupy backend is selected, and importing it registers the kernels
(:func:`neurophys.backend.register_op`). Nothing here imports cupy: the cupy module comes
from ``neurophys.backend.xp()``.
"""
from . import dispatch

dispatch.register()
