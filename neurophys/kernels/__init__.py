"""Hand-written CUDA kernels for the two hot loops, each with a NumPy twin.

    gpe.cu      forward-Euler GPE step (one step per launch, or many steps per launch with
                the field in shared memory), the split-step's real-space phase step, adjoints
    eqprop.cu   the EqProp relaxation (many steps per launch, a tile of examples per block)
                and the weight-update reduction

Modules:
    dispatch    what the rest of neurophys calls: the kernels on the cupy backend, the NumPy
                reference (neurophys.physics.gpe, neurophys.models.eqprop) otherwise
    gpe, eqprop the kernel launches (cupy arrays, or NumPy arrays with device='host')
    loader      finds the .cu sources; cupy.RawModule (via neurophys.backend) or the host build
    emulate     compiles a .cu for the CPU through host_emulation.h and calls it like cupy does,
                so CI checks the kernels' arithmetic without a GPU

Nothing here imports cupy: the cupy module comes from ``neurophys.backend.xp()``.
"""
