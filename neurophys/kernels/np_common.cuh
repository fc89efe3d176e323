// Shared by every neurophys kernel source (.cu).
//
// On the GPU (NVRTC through cupy.RawModule, or nvcc -ptx in the tests) this
// only adds a few helpers. Compiled for the host (NP_HOST_EMULATION defined),
// it first pulls in host_emulation.h, which stands in for threadIdx,
// blockIdx, __syncthreads and friends, so that the very same kernel text runs
// on the CPU and can be compared with the NumPy reference in CI.
//
// No standard headers here: NVRTC has none.
#pragma once

#ifdef NP_HOST_EMULATION
#include "host_emulation.h"
// dynamic shared memory, sized by the launch's shared_mem argument
#define NP_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(np_emu::dynamic_shared())
#else
#define NP_DYNAMIC_SHARED(type, name)                      \
    extern __shared__ __align__(16) unsigned char np_smem_raw_[]; \
    type* name = reinterpret_cast<type*>(np_smem_raw_)
#endif

// Complex numbers stored interleaved (re, im), exactly as numpy/cupy complex64
// and complex128 arrays are laid out in memory.
template <typename T> struct np_cplx { T re, im; };

template <typename T> struct np_vec2;
template <> struct np_vec2<float> { typedef float2 type; };
template <> struct np_vec2<double> { typedef double2 type; };

template <typename T>
__device__ __forceinline__ np_cplx<T> np_load(const T* a, long i) {
    // one 8-byte (complex64) or 16-byte (complex128) load
    typename np_vec2<T>::type v = reinterpret_cast<const typename np_vec2<T>::type*>(a)[i];
    np_cplx<T> z; z.re = v.x; z.im = v.y; return z;
}

template <typename T>
__device__ __forceinline__ void np_store(T* a, long i, np_cplx<T> z) {
    typename np_vec2<T>::type v; v.x = z.re; v.y = z.im;
    reinterpret_cast<typename np_vec2<T>::type*>(a)[i] = v;
}

template <typename T>
__device__ __forceinline__ np_cplx<T> np_mul(np_cplx<T> a, np_cplx<T> b) {
    np_cplx<T> z; z.re = a.re * b.re - a.im * b.im; z.im = a.re * b.im + a.im * b.re; return z;
}

template <typename T>
__device__ __forceinline__ np_cplx<T> np_conj(np_cplx<T> a) { a.im = -a.im; return a; }

template <typename T> __device__ __forceinline__ T np_exp(T x);
template <> __device__ __forceinline__ float np_exp<float>(float x) { return expf(x); }
template <> __device__ __forceinline__ double np_exp<double>(double x) { return exp(x); }

template <typename T> __device__ __forceinline__ T np_expm1(T x);
template <> __device__ __forceinline__ float np_expm1<float>(float x) { return expm1f(x); }
template <> __device__ __forceinline__ double np_expm1<double>(double x) { return expm1(x); }

template <typename T> __device__ __forceinline__ void np_sincos(T x, T* s, T* c);
template <> __device__ __forceinline__ void np_sincos<float>(float x, float* s, float* c) { sincosf(x, s, c); }
template <> __device__ __forceinline__ void np_sincos<double>(double x, double* s, double* c) { sincos(x, s, c); }

template <typename T> __device__ __forceinline__ T np_min(T a, T b) { return a < b ? a : b; }
template <typename T> __device__ __forceinline__ T np_max(T a, T b) { return a > b ? a : b; }
