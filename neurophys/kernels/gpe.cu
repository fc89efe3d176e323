// Gross-Pitaevskii kernels: the forward-Euler finite-difference step, the
// split-step's real-space (potential + nonlinearity) step, and their adjoints.
//
// The field psi is complex, (batch, Ny, Nx), stored interleaved (re, im) as numpy
// and cupy store complex64/complex128. Every kernel is written once as a template
// and exported for float (suffix _f32, complex64) and double (_f64, complex128).
//
// The equation, with H psi = -1/2 lap(psi) + (V + g|psi|^2) psi and a complex
// time factor c (c = -i: real time, i dpsi/dt = H psi; c = -1: imaginary time):
//
//   Euler:      psi' = psi + c dt H psi                     (5-point periodic Laplacian)
//   potential:  psi' = exp(c h (V + g|psi|^2)) psi          (h = dt/2 in Strang splitting)
//
// The adjoints use the convention of a real loss L of a complex field:
// G = dL/dRe(psi) + i dL/dIm(psi). For a step psi' = F(psi) they return G = F*(G')
// and add dL/dV and dL/dg per grid point into gV and gg maps (batch, Ny, Nx) that
// the caller sums (over the batch for a shared V, over everything for g).
#include "np_common.cuh"

// ---------------------------------------------------------------- helpers
// Index of the periodic neighbour (y + dy, x + dx) of point (y, x).
__device__ __forceinline__ long np_wrap(int y, int x, int dy, int dx, int Ny, int Nx) {
    int yy = y + dy, xx = x + dx;
    yy = yy < 0 ? yy + Ny : (yy >= Ny ? yy - Ny : yy);
    xx = xx < 0 ? xx + Nx : (xx >= Nx ? xx - Nx : xx);
    return (long)yy * Nx + xx;
}

// The grid and the step's constants, passed by value to the device helpers.
template <typename T> struct GpeStep {
    T g, dt, cr, ci, inv_dx2, inv_dy2;  // c = cr + i ci; 1/dx^2, 1/dy^2
    int Ny, Nx;
};

// lap(f) at (y, x) of one field f (Ny, Nx):
//   (f[y,x+1] - 2f + f[y,x-1]) / dx^2 + (f[y+1,x] - 2f + f[y-1,x]) / dy^2,  periodic.
template <typename T>
__device__ __forceinline__ np_cplx<T> np_laplacian(const T* f, int y, int x, const GpeStep<T>& p) {
    np_cplx<T> c = np_load(f, (long)y * p.Nx + x);
    np_cplx<T> e = np_load(f, np_wrap(y, x, 0, 1, p.Ny, p.Nx));
    np_cplx<T> w = np_load(f, np_wrap(y, x, 0, -1, p.Ny, p.Nx));
    np_cplx<T> n = np_load(f, np_wrap(y, x, -1, 0, p.Ny, p.Nx));
    np_cplx<T> s = np_load(f, np_wrap(y, x, 1, 0, p.Ny, p.Nx));
    np_cplx<T> lap;
    lap.re = (e.re + w.re - T(2) * c.re) * p.inv_dx2 + (n.re + s.re - T(2) * c.re) * p.inv_dy2;
    lap.im = (e.im + w.im - T(2) * c.im) * p.inv_dx2 + (n.im + s.im - T(2) * c.im) * p.inv_dy2;
    return lap;
}

template <typename T>
__device__ __forceinline__ T np_potential(const T* V, T V0, long v_index) {
    return V ? V[v_index] : V0;
}

// H(psi) psi = -1/2 lap(psi) + (V + g|psi|^2) psi   at one point of field f
template <typename T>
__device__ __forceinline__ np_cplx<T> hamiltonian_point(const T* f, int y, int x, T Vp, const GpeStep<T>& p,
                                                        np_cplx<T>* psi_out) {
    np_cplx<T> psi = np_load(f, (long)y * p.Nx + x);
    np_cplx<T> lap = np_laplacian(f, y, x, p);
    T a = Vp + p.g * (psi.re * psi.re + psi.im * psi.im);
    np_cplx<T> H;
    H.re = T(-0.5) * lap.re + a * psi.re;
    H.im = T(-0.5) * lap.im + a * psi.im;
    *psi_out = psi;
    return H;
}

// psi' = psi + c dt H(psi) psi   at one point
template <typename T>
__device__ __forceinline__ np_cplx<T> euler_point(const T* f, int y, int x, T Vp, const GpeStep<T>& p) {
    np_cplx<T> psi;
    np_cplx<T> H = hamiltonian_point(f, y, x, Vp, p, &psi);
    np_cplx<T> out;
    out.re = psi.re + p.dt * (p.cr * H.re - p.ci * H.im);
    out.im = psi.im + p.dt * (p.cr * H.im + p.ci * H.re);
    return out;
}

// Adjoint of euler_point at field Pf (the step's input), with Gf = G' (the gradient after it):
//   G       = G' + conj(c) dt [-1/2 lap(G') + (V + g|psi|^2) G'] + 2 g dt Re(conj(G') c psi) psi
//   dL/dV  += dt Re(conj(G') c psi),   dL/dg += dt Re(conj(G') c psi) |psi|^2
//   dL/ddt += Re(conj(G') c H(psi) psi)
// (the same as neurophys.physics.gpe.euler_step_backward, written with H_lin = H + 2g|psi|^2).
template <typename T>
__device__ __forceinline__ np_cplx<T> euler_adjoint_point(const T* Gf, const T* Pf, int y, int x, T Vp,
                                                          const GpeStep<T>& p, T* dV, T* dg, T* ddt) {
    np_cplx<T> psi;
    np_cplx<T> Hpsi = hamiltonian_point(Pf, y, x, Vp, p, &psi);
    np_cplx<T> G1 = np_load(Gf, (long)y * p.Nx + x);
    np_cplx<T> lap = np_laplacian(Gf, y, x, p);
    T rho = psi.re * psi.re + psi.im * psi.im;
    T a = Vp + p.g * rho;
    np_cplx<T> HG;
    HG.re = T(-0.5) * lap.re + a * G1.re;
    HG.im = T(-0.5) * lap.im + a * G1.im;
    // Re(conj(G') c z) = G'.re (c z).re + G'.im (c z).im
    T s = p.dt * (G1.re * (p.cr * psi.re - p.ci * psi.im) + G1.im * (p.cr * psi.im + p.ci * psi.re));
    np_cplx<T> G;
    G.re = G1.re + p.dt * (p.cr * HG.re + p.ci * HG.im) + T(2) * p.g * s * psi.re;  // conj(c) = cr - i ci
    G.im = G1.im + p.dt * (p.cr * HG.im - p.ci * HG.re) + T(2) * p.g * s * psi.im;
    *dV = s;
    *dg = s * rho;
    *ddt = G1.re * (p.cr * Hpsi.re - p.ci * Hpsi.im) + G1.im * (p.cr * Hpsi.im + p.ci * Hpsi.re);
    return G;
}

// ---------------------------------------------------------------- Euler: one step per launch
// One thread per grid point, any field size: the launch grid's x runs over the points r of
// one plane, its y over the fields b (both grid-stride). Within a plane the index is 32-bit
// (planes below 2^31 points), so finding (y, x) costs one 32-bit division, not the two 64-bit
// ones of a flat index over the batch. out must not alias psi.
template <typename T>
__device__ void gpe_euler_step(const T* psi, T* out, const T* V, T V0, long v_stride, GpeStep<T> p, int B) {
    unsigned plane = (unsigned)p.Ny * (unsigned)p.Nx;
    for (unsigned r = blockIdx.x * blockDim.x + threadIdx.x; r < plane; r += blockDim.x * gridDim.x) {
        int y = (int)(r / (unsigned)p.Nx), x = (int)(r - (unsigned)y * (unsigned)p.Nx);
        for (int b = blockIdx.y; b < B; b += gridDim.y) {
            long base = (long)b * plane;
            T Vp = np_potential(V, V0, b * v_stride + r);
            np_store(out, base + r, euler_point(psi + 2 * base, y, x, Vp, p));
        }
    }
}

// ---------------------------------------------------------------- Euler: many steps per launch
// One block per field; the field lives in shared memory (two buffers, ping-pong) for
// all n_steps, so global memory is read once and written once (plus the optional
// trajectory psi_0..psi_{n-1} that the adjoint needs). Needs 2*Ny*Nx complex values of
// dynamic shared memory.
template <typename T>
__device__ void gpe_euler_multistep(const T* psi0, T* out, T* traj, const T* V, T V0, long v_stride,
                                    GpeStep<T> p, int B, int n_steps) {
    NP_DYNAMIC_SHARED(T, smem);
    long plane = (long)p.Ny * p.Nx;
    int b = blockIdx.x;
    T* cur = smem;
    T* nxt = smem + 2 * plane;
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(cur, r, np_load(psi0 + 2 * b * plane, r));
    __syncthreads();
    for (int k = 0; k < n_steps; ++k) {
        for (long r = threadIdx.x; r < plane; r += blockDim.x) {
            int y = (int)(r / p.Nx), x = (int)(r - (long)y * p.Nx);
            if (traj) np_store(traj + 2 * ((long)k * B + b) * plane, r, np_load(cur, r));
            np_store(nxt, r, euler_point(cur, y, x, np_potential(V, V0, b * v_stride + r), p));
        }
        __syncthreads();
        T* t = cur; cur = nxt; nxt = t;
    }
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(out + 2 * b * plane, r, np_load(cur, r));
}

// ---------------------------------------------------------------- Euler adjoint: one step per launch
// gin = adjoint of the step at psi applied to gout; gV, gg, gdt += dL/dV, dL/dg, dL/ddt per point.
template <typename T>
__device__ void gpe_euler_adjoint_step(const T* psi, const T* gout, T* gin, T* gV, T* gg, T* gdt, const T* V,
                                       T V0, long v_stride, GpeStep<T> p, int B) {
    unsigned plane = (unsigned)p.Ny * (unsigned)p.Nx;  // launched as gpe_euler_step: x over r, y over b
    for (unsigned r = blockIdx.x * blockDim.x + threadIdx.x; r < plane; r += blockDim.x * gridDim.x) {
        int y = (int)(r / (unsigned)p.Nx), x = (int)(r - (unsigned)y * (unsigned)p.Nx);
        for (int b = blockIdx.y; b < B; b += gridDim.y) {
            long base = (long)b * plane, i = base + r;
            T dV, dg, ddt;
            np_store(gin, i, euler_adjoint_point(gout + 2 * base, psi + 2 * base, y, x,
                                                 np_potential(V, V0, b * v_stride + r), p, &dV, &dg, &ddt));
            gV[i] += dV;
            gg[i] += dg;
            gdt[i] += ddt;
        }
    }
}

// ---------------------------------------------------------------- Euler adjoint: many steps per launch
// One block per field; G lives in shared memory (ping-pong) while k runs n_steps-1 .. 0,
// reading psi_k from the stored trajectory (n_steps, B, Ny, Nx).
template <typename T>
__device__ void gpe_euler_adjoint_multistep(const T* traj, const T* gout, T* gin, T* gV, T* gg, T* gdt,
                                            const T* V, T V0, long v_stride, GpeStep<T> p, int B, int n_steps) {
    NP_DYNAMIC_SHARED(T, smem);
    long plane = (long)p.Ny * p.Nx;
    int b = blockIdx.x;
    T* cur = smem;
    T* nxt = smem + 2 * plane;
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(cur, r, np_load(gout + 2 * b * plane, r));
    __syncthreads();
    for (int k = n_steps - 1; k >= 0; --k) {
        const T* psi_k = traj + 2 * ((long)k * B + b) * plane;
        for (long r = threadIdx.x; r < plane; r += blockDim.x) {
            int y = (int)(r / p.Nx), x = (int)(r - (long)y * p.Nx);
            T dV, dg, ddt;
            np_store(nxt, r, euler_adjoint_point(cur, psi_k, y, x, np_potential(V, V0, b * v_stride + r), p,
                                                 &dV, &dg, &ddt));
            gV[b * plane + r] += dV;  // this block alone owns field b: no race
            gg[b * plane + r] += dg;
            gdt[b * plane + r] += ddt;
        }
        __syncthreads();
        T* t = cur; cur = nxt; nxt = t;
    }
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(gin + 2 * b * plane, r, np_load(cur, r));
}

// ---------------------------------------------------------------- split-step: the real-space step
// e^{c theta} - 1, kept small and to full relative precision (as neurophys.physics.gpe._phase):
//   = e^{cr theta} (-2 sin^2(ci theta / 2)) + expm1(cr theta)  +  i e^{cr theta} sin(ci theta)
// In float32, forming cos(theta) ~ 1 - theta^2/2 first would bias |e^{-i theta}| away from 1.
template <typename T>
__device__ __forceinline__ np_cplx<T> np_phase_minus_one(T theta, T cr, T ci) {
    T s, co, s2, c2;
    np_sincos(ci * theta, &s, &co);
    np_sincos(T(0.5) * ci * theta, &s2, &c2);
    T em = np_exp(cr * theta);
    np_cplx<T> m;
    m.re = em * (T(-2) * s2 * s2) + np_expm1(cr * theta);
    m.im = em * s;
    return m;
}

// psi' = exp(c h (V + g|psi|^2)) psi, pointwise (the kinetic step is cuFFT's, in Fourier space).
// out may alias psi.
template <typename T>
__device__ void gpe_potential_step(const T* psi, T* out, const T* V, T V0, long v_stride, T g, T h, T cr, T ci,
                                   int B, int Ny, int Nx) {
    long n = (long)B * Ny * Nx, plane = (long)Ny * Nx;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
        int b = (int)(i / plane);
        long r = i - b * plane;
        np_cplx<T> p = np_load(psi, i);
        T a = np_potential(V, V0, b * v_stride + r) + g * (p.re * p.re + p.im * p.im);
        np_cplx<T> m = np_phase_minus_one(h * a, cr, ci);
        np_cplx<T> mp = np_mul(m, p);
        p.re += mp.re; p.im += mp.im;  // psi' = psi + (e^{c h a} - 1) psi
        np_store(out, i, p);
    }
}

// Adjoint of gpe_potential_step at psi (its input), with psi' = e psi:
//   G = conj(e) G' + 2 g h Re(conj(G') c psi') psi
//   dL/dV += h Re(conj(G') c psi'),   dL/dg += h Re(conj(G') c psi') |psi|^2
// gin may alias gout.
template <typename T>
__device__ void gpe_potential_adjoint(const T* psi, const T* gout, T* gin, T* gV, T* gg, const T* V, T V0,
                                      long v_stride, T g, T h, T cr, T ci, int B, int Ny, int Nx) {
    long n = (long)B * Ny * Nx, plane = (long)Ny * Nx;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
        int b = (int)(i / plane);
        long r = i - b * plane;
        np_cplx<T> p = np_load(psi, i);
        np_cplx<T> G1 = np_load(gout, i);
        T rho = p.re * p.re + p.im * p.im;
        T a = np_potential(V, V0, b * v_stride + r) + g * rho;
        np_cplx<T> m = np_phase_minus_one(h * a, cr, ci);
        np_cplx<T> p1 = np_mul(m, p);
        p1.re += p.re; p1.im += p.im;  // psi'
        np_cplx<T> cp1; cp1.re = cr * p1.re - ci * p1.im; cp1.im = cr * p1.im + ci * p1.re;
        T q = h * (G1.re * cp1.re + G1.im * cp1.im);
        np_cplx<T> G = np_mul(np_conj(m), G1);
        G.re += G1.re + T(2) * g * q * p.re;  // conj(e) G' = G' + conj(e - 1) G'
        G.im += G1.im + T(2) * g * q * p.im;
        np_store(gin, i, G);
        gV[i] += q;
        gg[i] += q * rho;
    }
}

// ---------------------------------------------------------------- exported entry points
#define NP_GPE_EXPORT(T, SUF)                                                                                  \
    extern "C" __global__ void gpe_euler_step_##SUF(const T* psi, T* out, const T* V, T V0, long v_stride, T g, \
                                                    T dt, T cr, T ci, T inv_dx2, T inv_dy2, int B, int Ny,      \
                                                    int Nx) {                                                   \
        GpeStep<T> p = {g, dt, cr, ci, inv_dx2, inv_dy2, Ny, Nx};                                              \
        gpe_euler_step<T>(psi, out, V, V0, v_stride, p, B);                                                    \
    }                                                                                                          \
    extern "C" __global__ void gpe_euler_multistep_##SUF(const T* psi0, T* out, T* traj, const T* V, T V0,     \
                                                         long v_stride, T g, T dt, T cr, T ci, T inv_dx2,      \
                                                         T inv_dy2, int B, int Ny, int Nx, int n_steps) {      \
        GpeStep<T> p = {g, dt, cr, ci, inv_dx2, inv_dy2, Ny, Nx};                                              \
        gpe_euler_multistep<T>(psi0, out, traj, V, V0, v_stride, p, B, n_steps);                               \
    }                                                                                                          \
    extern "C" __global__ void gpe_euler_adjoint_step_##SUF(const T* psi, const T* gout, T* gin, T* gV, T* gg, \
                                                            T* gdt, const T* V, T V0, long v_stride, T g,      \
                                                            T dt, T cr, T ci, T inv_dx2, T inv_dy2, int B,     \
                                                            int Ny, int Nx) {                                  \
        GpeStep<T> p = {g, dt, cr, ci, inv_dx2, inv_dy2, Ny, Nx};                                              \
        gpe_euler_adjoint_step<T>(psi, gout, gin, gV, gg, gdt, V, V0, v_stride, p, B);                         \
    }                                                                                                          \
    extern "C" __global__ void gpe_euler_adjoint_multistep_##SUF(const T* traj, const T* gout, T* gin, T* gV,  \
                                                                 T* gg, T* gdt, const T* V, T V0,              \
                                                                 long v_stride, T g, T dt, T cr, T ci,         \
                                                                 T inv_dx2, T inv_dy2, int B, int Ny, int Nx,  \
                                                                 int n_steps) {                                \
        GpeStep<T> p = {g, dt, cr, ci, inv_dx2, inv_dy2, Ny, Nx};                                              \
        gpe_euler_adjoint_multistep<T>(traj, gout, gin, gV, gg, gdt, V, V0, v_stride, p, B, n_steps);          \
    }                                                                                                          \
    extern "C" __global__ void gpe_potential_step_##SUF(const T* psi, T* out, const T* V, T V0, long v_stride, \
                                                        T g, T h, T cr, T ci, int B, int Ny, int Nx) {         \
        gpe_potential_step<T>(psi, out, V, V0, v_stride, g, h, cr, ci, B, Ny, Nx);                             \
    }                                                                                                          \
    extern "C" __global__ void gpe_potential_adjoint_##SUF(const T* psi, const T* gout, T* gin, T* gV, T* gg,  \
                                                           const T* V, T V0, long v_stride, T g, T h, T cr,    \
                                                           T ci, int B, int Ny, int Nx) {                      \
        gpe_potential_adjoint<T>(psi, gout, gin, gV, gg, V, V0, v_stride, g, h, cr, ci, B, Ny, Nx);            \
    }

NP_GPE_EXPORT(float, f32)
NP_GPE_EXPORT(double, f64)
