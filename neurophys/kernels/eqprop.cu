// Equilibrium Propagation kernels: the whole relaxation in one launch, and the
// weight-update reduction.
//
// Layers s_0 (the clamped input), s_1 .. s_L (free), weights W_l (n_l, n_{l+1}),
// row-major. One relaxation step of layer l:
//
//   drive_l = c_l + rho(s_{l-1}) W_{l-1} [l-1 >= 1] + rho(s_{l+1}) W_l^T [l < L]
//   dF/ds_l = s_l - rho'(s_l) drive_l + beta (s_l - t) [l = L]
//   s_l    <- clip(s_l - eps_l dF/ds_l, lo_l, hi_l),   eps_L = eps / (1 + |beta|) when nudged, else eps
//
// c_l is the part of the drive that does not change during the relaxation
// (b_{l-1}, plus x W_0 for the first hidden layer), computed once by the caller.
// Two orders, as neurophys.models.eqprop.relax_step:
//   synchronous (Jacobi): every layer reads the states from before the step
//     -> two copies of the states (ping-pong);
//   alternating: the odd layers first, then the even layers with the new odd states.
//     A layer couples only to its neighbours (of the other parity), so each half sweep
//     can update its layers in place -> one copy, and a barrier after each half sweep.
//
// relax: one block relaxes a tile of `tile` examples for all n_steps, with their
// states in shared memory, so a relaxation of 30 steps is one launch instead of ~150
// small ones. Weights are read from global memory (L1/L2-resident for small and
// medium layers) and reused across the tile.
#include "np_common.cuh"

#define NP_EQ_MAX_LAYERS 8  // L + 1 <= 8

// rho and rho' of a layer: kind 0 = identity (rho' = 1), kind 1 = hard sigmoid clip(s, 0, 1)
// with rho' = 1 on the closed box [0, 1] (as neurophys.models.eqprop takes it).
template <typename T> __device__ __forceinline__ T eq_rho(T s, int kind) {
    return kind == 1 ? np_min(np_max(s, T(0)), T(1)) : s;
}
template <typename T> __device__ __forceinline__ T eq_drho(T s, int kind) {
    return kind == 1 ? ((s >= T(0) && s <= T(1)) ? T(1) : T(0)) : T(1);
}

#define NP_EQ_THREADS 256  // the block size eqprop.py launches with (the split-K scratch below)

// The update of one unit once its drive is known.
template <typename T>
__device__ __forceinline__ T eq_new_state(T s, T drive, int kl, bool nudged, T beta, T t, T step, bool box, T lo,
                                          T hi) {
    T grad = s - eq_drho(s, kl) * drive;
    if (nudged) grad += beta * (s - t);
    T out = s - step * grad;
    return box ? np_min(np_max(out, lo), hi) : out;
}

// The drive's sums over the slice [k0, k1) of each neighbour layer of unit j, example e.
template <typename T>
__device__ __forceinline__ T eq_partial_drive(const T* src, const int* off, const T* Wd, const T* Wu, int l, int n,
                                              int m_d, int m_u, int kd, int ku, int e, int j, int slice, int S) {
    T acc = T(0);
    if (Wd) {
        const T* r = src + off[l - 1] + e * m_d;
        for (int i = slice; i < m_d; i += S) acc += eq_rho(r[i], kd) * Wd[(long)i * n + j];
    }
    if (Wu) {
        const T* r = src + off[l + 1] + e * m_u;
        const T* w = Wu + (long)j * m_u;
        for (int k = slice; k < m_u; k += S) acc += eq_rho(r[k], ku) * w[k];
    }
    return acc;
}

// New values of layer l for this block's tile, reading `src`, writing `dst` (may equal src
// for the alternating order: each unit's own entry is read and written by one thread only).
// Wide layers: one thread per (example, unit). Narrow layers (fewer than half as many units
// as threads, e.g. 10 output units): S threads share each unit's sums (split-K) and add
// their partials through shared memory, so the block is not idle while 10 threads do all.
// Every thread of the block calls this (the branch and its barriers are uniform).
template <typename T>
__device__ __forceinline__ void eq_update_layer(int l, const T* src, T* dst, const int* off,
                                                const long long* W_ptrs, const long long* c_ptrs,
                                                const int* sizes, const int* rho_kind, const T* lo, const T* hi,
                                                const int* has_box, const T* target, T beta, T eps, int L,
                                                int e0, int nt) {
    __shared__ T scratch[NP_EQ_THREADS];
    int n = sizes[l];
    const T* c = reinterpret_cast<const T*>(c_ptrs[l]);
    const T* Wd = l >= 2 ? reinterpret_cast<const T*>(W_ptrs[l - 1]) : 0;  // from below, (n_{l-1}, n_l)
    const T* Wu = l < L ? reinterpret_cast<const T*>(W_ptrs[l]) : 0;       // from above, (n_l, n_{l+1})
    int m_d = sizes[l - 1], m_u = l < L ? sizes[l + 1] : 0;
    int kd = rho_kind[l - 1], ku = l < L ? rho_kind[l + 1] : 0, kl = rho_kind[l];
    bool nudged = (l == L && beta != T(0));
    T step = nudged ? eps / (T(1) + (beta < T(0) ? -beta : beta)) : eps;
    bool box = has_box[l] != 0;
    int items = nt * n;
    int S = blockDim.x <= NP_EQ_THREADS ? (int)blockDim.x / np_max(items, 1) : 1;
    if (S >= 2) {  // split-K
        if (S > 32) S = 32;
        int item = threadIdx.x / S, slice = threadIdx.x - item * S;
        T acc = T(0);
        if (item < items) {
            int e = item / n, j = item - e * n;
            acc = eq_partial_drive(src, off, Wd, Wu, l, n, m_d, m_u, kd, ku, e, j, slice, S);
        }
        scratch[threadIdx.x] = acc;
        __syncthreads();
        if (item < items && slice == 0) {
            int e = item / n, j = item - e * n;
            T drive = c[(long)(e0 + e) * n + j];
            for (int q = 0; q < S; ++q) drive += scratch[threadIdx.x + q];
            T t = nudged ? target[(long)(e0 + e) * n + j] : T(0);
            dst[off[l] + item] = eq_new_state(src[off[l] + item], drive, kl, nudged, beta, t, step, box, lo[l], hi[l]);
        }
        __syncthreads();  // scratch is free again for the next layer
        return;
    }
    for (int t = threadIdx.x; t < items; t += blockDim.x) {
        int e = t / n, j = t - e * n;  // consecutive threads: consecutive units j (coalesced W reads)
        T drive = c[(long)(e0 + e) * n + j] + eq_partial_drive(src, off, Wd, Wu, l, n, m_d, m_u, kd, ku, e, j, 0, 1);
        T tg = nudged ? target[(long)(e0 + e) * n + j] : T(0);
        dst[off[l] + t] = eq_new_state(src[off[l] + t], drive, kl, nudged, beta, tg, step, box, lo[l], hi[l]);
    }
}

// Pointers travel as int64 arrays (cupy and the host emulation both pass addresses).
template <typename T>
__device__ void eqprop_relax(const long long* W_ptrs, const long long* c_ptrs, const long long* s_ptrs,
                             const int* sizes, const int* rho_kind, const T* lo, const T* hi, const int* has_box,
                             const T* target, T beta, T eps, int n_steps, int L, int batch, int tile,
                             int alternating) {
    NP_DYNAMIC_SHARED(T, smem);
    __shared__ int off[NP_EQ_MAX_LAYERS + 1];  // offset of layer l's tile in a state copy
    int e0 = blockIdx.x * tile;
    int nt = np_min(tile, batch - e0);  // examples in this block's tile
    if (threadIdx.x == 0) {
        int o = 0;
        for (int l = 1; l <= L; ++l) { off[l] = o; o += tile * sizes[l]; }
        off[L + 1] = o;
    }
    __syncthreads();
    T* cur = smem;
    T* nxt = smem + off[L + 1];  // second copy: synchronous order only
    // load the tile's states: cur[off[l] + e * n_l + j] = s_l[e0 + e, j]
    for (int l = 1; l <= L; ++l) {
        const T* s = reinterpret_cast<const T*>(s_ptrs[l]);
        int n = sizes[l];
        for (int t = threadIdx.x; t < nt * n; t += blockDim.x) cur[off[l] + t] = s[(long)e0 * n + t];
    }
    __syncthreads();
    for (int step = 0; step < n_steps; ++step) {
        if (alternating) {
            for (int parity = 1; parity >= 0; --parity) {  // odd layers, then even layers
                for (int l = parity == 1 ? 1 : 2; l <= L; l += 2)
                    eq_update_layer(l, cur, cur, off, W_ptrs, c_ptrs, sizes, rho_kind, lo, hi, has_box, target,
                                    beta, eps, L, e0, nt);
                __syncthreads();  // this half sweep's states are written before the other half reads them
            }
        } else {
            for (int l = 1; l <= L; ++l)
                eq_update_layer(l, cur, nxt, off, W_ptrs, c_ptrs, sizes, rho_kind, lo, hi, has_box, target, beta,
                                eps, L, e0, nt);
            __syncthreads();  // every layer's new state is written before anyone reads it
            T* tmp = cur; cur = nxt; nxt = tmp;
        }
    }
    for (int l = 1; l <= L; ++l) {
        T* s = reinterpret_cast<T*>(s_ptrs[l]);
        int n = sizes[l];
        for (int t = threadIdx.x; t < nt * n; t += blockDim.x) s[(long)e0 * n + t] = cur[off[l] + t];
    }
}

// The EqProp weight update, one layer, in one pass over the batch:
//   dW[i, j] = coef * sum_e (rho(A+[e, i]) rho(B+[e, j]) - rho(A-[e, i]) rho(B-[e, j]))
//   db[j]    = coef * sum_e (rho(B+[e, j]) - rho(B-[e, j]))
// with (A+, B+) = (s_l, s_{l+1}) at the nudged equilibrium and (A-, B-) at the reference
// (free, or -beta) one; coef = -1 / (scale * batch) makes it dE/dtheta's difference.
// 16 x 16 output tiles; the batch is walked in chunks of 16 through shared memory.
#define NP_EQ_TILE 16
template <typename T>
__device__ void eqprop_weight_grad(const T* Ap, const T* Bp, const T* Ar, const T* Br, T* dW, T* db, int batch,
                                   int n_in, int n_out, int kA, int kB, T coef) {
    __shared__ T sAp[NP_EQ_TILE][NP_EQ_TILE + 1], sAr[NP_EQ_TILE][NP_EQ_TILE + 1];
    __shared__ T sBp[NP_EQ_TILE][NP_EQ_TILE + 1], sBr[NP_EQ_TILE][NP_EQ_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int i = blockIdx.y * NP_EQ_TILE + ty;  // row of dW (input unit)
    int j = blockIdx.x * NP_EQ_TILE + tx;  // column of dW (output unit)
    T acc = T(0), accb = T(0);
    for (int e0 = 0; e0 < batch; e0 += NP_EQ_TILE) {
        // thread (ty, tx) loads example e0 + ty: A at input unit blockIdx.y*16 + tx, B at output unit j
        int e = e0 + ty;
        int ia = blockIdx.y * NP_EQ_TILE + tx;
        bool ok_a = e < batch && ia < n_in, ok_b = e < batch && j < n_out;
        sAp[ty][tx] = ok_a ? eq_rho(Ap[(long)e * n_in + ia], kA) : T(0);
        sAr[ty][tx] = ok_a ? eq_rho(Ar[(long)e * n_in + ia], kA) : T(0);
        sBp[ty][tx] = ok_b ? eq_rho(Bp[(long)e * n_out + j], kB) : T(0);
        sBr[ty][tx] = ok_b ? eq_rho(Br[(long)e * n_out + j], kB) : T(0);
        __syncthreads();
        for (int k = 0; k < NP_EQ_TILE; ++k) acc += sAp[k][ty] * sBp[k][tx] - sAr[k][ty] * sBr[k][tx];
        if (blockIdx.y == 0 && ty == 0)
            for (int k = 0; k < NP_EQ_TILE; ++k) accb += sBp[k][tx] - sBr[k][tx];
        __syncthreads();
    }
    if (i < n_in && j < n_out) dW[(long)i * n_out + j] = coef * acc;
    if (blockIdx.y == 0 && ty == 0 && j < n_out) db[j] = coef * accb;
}

#define NP_EQ_EXPORT(T, SUF)                                                                                 \
    extern "C" __global__ void eqprop_relax_##SUF(const long long* W_ptrs, const long long* c_ptrs,         \
                                                  const long long* s_ptrs, const int* sizes,                \
                                                  const int* rho_kind, const T* lo, const T* hi,            \
                                                  const int* has_box, const T* target, T beta, T eps,       \
                                                  int n_steps, int L, int batch, int tile, int alternating) { \
        eqprop_relax<T>(W_ptrs, c_ptrs, s_ptrs, sizes, rho_kind, lo, hi, has_box, target, beta, eps, n_steps, \
                        L, batch, tile, alternating);                                                       \
    }                                                                                                        \
    extern "C" __global__ void eqprop_weight_grad_##SUF(const T* Ap, const T* Bp, const T* Ar, const T* Br,  \
                                                        T* dW, T* db, int batch, int n_in, int n_out, int kA, \
                                                        int kB, T coef) {                                    \
        eqprop_weight_grad<T>(Ap, Bp, Ar, Br, dW, db, batch, n_in, n_out, kA, kB, coef);                      \
    }

NP_EQ_EXPORT(float, f32)
NP_EQ_EXPORT(double, f64)
