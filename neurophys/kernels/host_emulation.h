// Host emulation of the CUDA execution model, for checking kernel arithmetic on a CPU.
//
// A kernel source (.cu) compiled with g++ -DNP_HOST_EMULATION includes this file
// (through np_common.cuh). It stands in for what the GPU provides:
//
//   threadIdx, blockIdx, blockDim, gridDim   plain globals, set before a thread runs
//   __global__, __device__, __forceinline__  nothing / inline
//   __shared__                               `static`: blocks run one after another,
//                                            so a static local is one block's shared memory
//   __syncthreads()                          a real barrier: every CUDA thread of a block is a
//                                            coroutine (ucontext) with its own stack; a thread
//                                            that reaches the barrier yields, and the block goes
//                                            on only when all its live threads have reached it
//   atomicAdd                                a plain add (one OS thread, no races)
//
// Blocks run serially, threads of a block interleave only at barriers. This is a
// legal CUDA schedule, so a kernel that is correct on the GPU gives the same numbers
// here (up to the order of floating-point sums), and a kernel that forgets a barrier
// usually gives wrong numbers here too. Launch limits (1024 threads per block, 48 KiB
// of dynamic shared memory) are enforced so that a bad launch fails on the CPU first.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>
#include <ucontext.h>

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef dim3 uint3;

struct alignas(8) float2 { float x, y; };
struct alignas(16) double2 { double x, y; };

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __align__(n) alignas(n)

static uint3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;

namespace np_emu {

const unsigned kMaxThreads = 1024;
const size_t kMaxDynamicShared = 48 * 1024;
const size_t kStackBytes = 64 * 1024;

struct Fiber {
    ucontext_t ctx;
    std::unique_ptr<char[]> stack;  // left uninitialised: no memset per launch
    bool done = false;
};

static ucontext_t scheduler;
static Fiber* current = nullptr;
static std::function<void()> body;
static std::vector<unsigned char> shared_bytes;
static std::string last_error;

inline void* dynamic_shared() { return shared_bytes.data(); }

inline void fiber_entry() {
    body();
    current->done = true;  // returning resumes the scheduler through uc_link
}

inline void syncthreads() { swapcontext(&current->ctx, &scheduler); }

// Run body() once per CUDA thread of every block of the grid.
inline int run_grid(dim3 grid, dim3 block, size_t shmem) {
    unsigned n = block.x * block.y * block.z;
    if (n == 0 || n > kMaxThreads) {
        last_error = "block of " + std::to_string(n) + " threads (CUDA allows 1..1024)";
        return 1;
    }
    if (shmem > kMaxDynamicShared) {
        last_error = "dynamic shared memory of " + std::to_string(shmem) + " bytes (over 48 KiB)";
        return 2;
    }
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
        last_error = "grid dimensions out of CUDA's range";
        return 3;
    }
    gridDim = grid;
    blockDim = block;
    shared_bytes.assign(shmem + 16, 0xCD);  // garbage-filled, as on a GPU
    std::vector<Fiber> fibers(n);
    for (auto& f : fibers) f.stack.reset(new char[kStackBytes]);
    for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = uint3(bx, by, bz);
        for (unsigned t = 0; t < n; ++t) {
            Fiber& f = fibers[t];
            f.done = false;
            getcontext(&f.ctx);
            f.ctx.uc_stack.ss_sp = f.stack.get();
            f.ctx.uc_stack.ss_size = kStackBytes;
            f.ctx.uc_link = &scheduler;
            makecontext(&f.ctx, fiber_entry, 0);
        }
        unsigned live = n;
        while (live > 0) {  // one round = every live thread runs to its next barrier or its end
            for (unsigned t = 0; t < n; ++t) {
                Fiber& f = fibers[t];
                if (f.done) continue;
                threadIdx = uint3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
                current = &f;
                swapcontext(&scheduler, &f.ctx);
            }
            live = 0;
            for (auto& f : fibers) live += !f.done;
        }
    }
    current = nullptr;
    return 0;
}

template <typename... A, size_t... I>
int launch_impl(void (*kernel)(A...), const unsigned* g, const unsigned* b, size_t shmem, void** args,
                std::index_sequence<I...>) {
    body = [&]() { kernel(*reinterpret_cast<typename std::decay<A>::type*>(args[I])...); };
    int rc = run_grid(dim3(g[0], g[1], g[2]), dim3(b[0], b[1], b[2]), shmem);
    body = nullptr;
    return rc;
}

// args[i] points at the i-th argument's value, as in cuLaunchKernel.
template <typename... A>
int launch(void (*kernel)(A...), const unsigned* g, const unsigned* b, size_t shmem, void** args) {
    return launch_impl(kernel, g, b, shmem, args, std::index_sequence_for<A...>{});
}

}  // namespace np_emu

inline void __syncthreads() { np_emu::syncthreads(); }
inline float atomicAdd(float* a, float v) { float old = *a; *a += v; return old; }
inline double atomicAdd(double* a, double v) { double old = *a; *a += v; return old; }
template <typename T> inline T __ldg(const T* p) { return *p; }
using std::exp;
using std::sqrt;

// One C entry point per kernel, for ctypes: np_emu_launch_<name>(grid[3], block[3], shmem, args).
#define NP_EMU_EXPORT(name)                                                                   \
    extern "C" int np_emu_launch_##name(const unsigned* g, const unsigned* b, size_t shmem,    \
                                        void** args) {                                        \
        return np_emu::launch(name, g, b, shmem, args);                                       \
    }

extern "C" const char* np_emu_last_error() { return np_emu::last_error.c_str(); }
