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
struct GpeGrid {
    int B, Ny, Nx;
};

// Index of the periodic neighbour (y + dy, x + dx) of point (y, x).
__device__ __forceinline__ long np_wrap(int y, int x, int dy, int dx, int Ny, int Nx) {
    int yy = y + dy, xx = x + dx;
    yy = yy < 0 ? yy + Ny : (yy >= Ny ? yy - Ny : yy);
    xx = xx < 0 ? xx + Nx : (xx >= Nx ? xx - Nx : xx);
    return (long)yy * Nx + xx;
}

// lap(f) at (y, x) of one field f (Ny, Nx) complex: 5-point stencil / dx^2, periodic.
template <typename T>
__device__ __forceinline__ np_cplx<T> np_laplacian(const T* f, int y, int x, int Ny, int Nx, T inv_dx2) {
    np_cplx<T> c = np_load(f, (long)y * Nx + x);
    np_cplx<T> e = np_load(f, np_wrap(y, x, 0, 1, Ny, Nx));
    np_cplx<T> w = np_load(f, np_wrap(y, x, 0, -1, Ny, Nx));
    np_cplx<T> n = np_load(f, np_wrap(y, x, -1, 0, Ny, Nx));
    np_cplx<T> s = np_load(f, np_wrap(y, x, 1, 0, Ny, Nx));
    np_cplx<T> lap;
    lap.re = (e.re + w.re + n.re + s.re - T(4) * c.re) * inv_dx2;
    lap.im = (e.im + w.im + n.im + s.im - T(4) * c.im) * inv_dx2;
    return lap;
}

template <typename T>
__device__ __forceinline__ T np_potential(const T* V, T V0, long v_index) {
    return V ? V[v_index] : V0;
}

// psi' = psi + c dt [-1/2 lap(psi) + (V + g|psi|^2) psi]   at one point
template <typename T>
__device__ __forceinline__ np_cplx<T> euler_point(const T* f, int y, int x, int Ny, int Nx, T Vp, T g,
                                                  T dt, T cr, T ci, T inv_dx2) {
    np_cplx<T> psi = np_load(f, (long)y * Nx + x);
    np_cplx<T> lap = np_laplacian(f, y, x, Ny, Nx, inv_dx2);
    T a = Vp + g * (psi.re * psi.re + psi.im * psi.im);
    np_cplx<T> Hpsi;
    Hpsi.re = T(-0.5) * lap.re + a * psi.re;
    Hpsi.im = T(-0.5) * lap.im + a * psi.im;
    np_cplx<T> out;
    out.re = psi.re + dt * (cr * Hpsi.re - ci * Hpsi.im);
    out.im = psi.im + dt * (cr * Hpsi.im + ci * Hpsi.re);
    return out;
}

// Adjoint of euler_point, given psi (the step's input) and Gout = G' at this point:
//   G = G' + conj(c) dt [-1/2 lap(G') + a G'] + 2 g dt Re(conj(G') c psi) psi
//   dL/dV += dt Re(conj(G') c psi),   dL/dg += dt Re(conj(G') c psi) |psi|^2
template <typename T>
__device__ __forceinline__ np_cplx<T> euler_adjoint_point(const T* Gf, np_cplx<T> psi, int y, int x, int Ny,
                                                          int Nx, T Vp, T g, T dt, T cr, T ci, T inv_dx2,
                                                          T* dV, T* dg) {
    np_cplx<T> G1 = np_load(Gf, (long)y * Nx + x);
    np_cplx<T> lap = np_laplacian(Gf, y, x, Ny, Nx, inv_dx2);
    T rho = psi.re * psi.re + psi.im * psi.im;
    T a = Vp + g * rho;
    np_cplx<T> HG;
    HG.re = T(-0.5) * lap.re + a * G1.re;
    HG.im = T(-0.5) * lap.im + a * G1.im;
    // Re(conj(G') c psi) = G'.re (c psi).re + G'.im (c psi).im
    T cpsi_re = cr * psi.re - ci * psi.im, cpsi_im = cr * psi.im + ci * psi.re;
    T s = dt * (G1.re * cpsi_re + G1.im * cpsi_im);
    np_cplx<T> G;
    G.re = G1.re + dt * (cr * HG.re + ci * HG.im) + T(2) * g * s * psi.re;  // conj(c) = cr - i ci
    G.im = G1.im + dt * (cr * HG.im - ci * HG.re) + T(2) * g * s * psi.im;
    *dV = s;
    *dg = s * rho;
    return G;
}

// ---------------------------------------------------------------- Euler: one step per launch
// One thread per grid point (grid-stride), any field size. out must not alias psi.
template <typename T>
__device__ void gpe_euler_step(const T* psi, T* out, const T* V, T V0, long v_stride, T g, T dt, T cr, T ci,
                               T inv_dx2, int B, int Ny, int Nx) {
    long n = (long)B * Ny * Nx, plane = (long)Ny * Nx;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
        int b = (int)(i / plane);
        int r = (int)(i - b * plane);
        int y = r / Nx, x = r - y * Nx;
        T Vp = np_potential(V, V0, b * v_stride + r);
        np_store(out, i, euler_point(psi + 2 * b * plane, y, x, Ny, Nx, Vp, g, dt, cr, ci, inv_dx2));
    }
}

// ---------------------------------------------------------------- Euler: many steps per launch
// One block per field; the field lives in shared memory (two buffers, ping-pong) for
// all n_steps, so global memory is read once and written once (plus the optional
// trajectory psi_0..psi_{n-1} that the adjoint needs). Needs 2*Ny*Nx complex values of
// dynamic shared memory.
template <typename T>
__device__ void gpe_euler_multistep(const T* psi0, T* out, T* traj, const T* V, T V0, long v_stride, T g,
                                    T dt, T cr, T ci, T inv_dx2, int B, int Ny, int Nx, int n_steps) {
    NP_DYNAMIC_SHARED(T, smem);
    long plane = (long)Ny * Nx;
    int b = blockIdx.x;
    T* cur = smem;
    T* nxt = smem + 2 * plane;
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(cur, r, np_load(psi0 + 2 * b * plane, r));
    __syncthreads();
    for (int k = 0; k < n_steps; ++k) {
        for (long r = threadIdx.x; r < plane; r += blockDim.x) {
            int y = (int)(r / Nx), x = (int)(r - (long)y * Nx);
            if (traj) np_store(traj + 2 * ((long)k * B + b) * plane, r, np_load(cur, r));
            T Vp = np_potential(V, V0, b * v_stride + r);
            np_store(nxt, r, euler_point(cur, y, x, Ny, Nx, Vp, g, dt, cr, ci, inv_dx2));
        }
        __syncthreads();
        T* t = cur; cur = nxt; nxt = t;
    }
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(out + 2 * b * plane, r, np_load(cur, r));
}

// ---------------------------------------------------------------- Euler adjoint: one step per launch
// gin = adjoint of the step at psi applied to gout; gV[i] += dL/dV, gg[i] += dL/dg per point.
template <typename T>
__device__ void gpe_euler_adjoint_step(const T* psi, const T* gout, T* gin, T* gV, T* gg, const T* V, T V0,
                                       long v_stride, T g, T dt, T cr, T ci, T inv_dx2, int B, int Ny, int Nx) {
    long n = (long)B * Ny * Nx, plane = (long)Ny * Nx;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
        int b = (int)(i / plane);
        int r = (int)(i - b * plane);
        int y = r / Nx, x = r - y * Nx;
        T Vp = np_potential(V, V0, b * v_stride + r);
        T dV, dg;
        np_store(gin, i, euler_adjoint_point(gout + 2 * b * plane, np_load(psi, i), y, x, Ny, Nx, Vp, g, dt, cr,
                                             ci, inv_dx2, &dV, &dg));
        gV[i] += dV;
        gg[i] += dg;
    }
}

// ---------------------------------------------------------------- Euler adjoint: many steps per launch
// One block per field; G lives in shared memory (ping-pong) while k runs n_steps-1 .. 0,
// reading psi_k from the stored trajectory (n_steps, B, Ny, Nx).
template <typename T>
__device__ void gpe_euler_adjoint_multistep(const T* traj, const T* gout, T* gin, T* gV, T* gg, const T* V, T V0,
                                            long v_stride, T g, T dt, T cr, T ci, T inv_dx2, int B, int Ny,
                                            int Nx, int n_steps) {
    NP_DYNAMIC_SHARED(T, smem);
    long plane = (long)Ny * Nx;
    int b = blockIdx.x;
    T* cur = smem;
    T* nxt = smem + 2 * plane;
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(cur, r, np_load(gout + 2 * b * plane, r));
    __syncthreads();
    for (int k = n_steps - 1; k >= 0; --k) {
        const T* psi_k = traj + 2 * ((long)k * B + b) * plane;
        for (long r = threadIdx.x; r < plane; r += blockDim.x) {
            int y = (int)(r / Nx), x = (int)(r - (long)y * Nx);
            T Vp = np_potential(V, V0, b * v_stride + r);
            T dV, dg;
            np_store(nxt, r, euler_adjoint_point(cur, np_load(psi_k, r), y, x, Ny, Nx, Vp, g, dt, cr, ci, inv_dx2,
                                                 &dV, &dg));
            gV[b * plane + r] += dV;  // this block alone owns field b: no race
            gg[b * plane + r] += dg;
        }
        __syncthreads();
        T* t = cur; cur = nxt; nxt = t;
    }
    for (long r = threadIdx.x; r < plane; r += blockDim.x) np_store(gin + 2 * b * plane, r, np_load(cur, r));
}

// ---------------------------------------------------------------- split-step: the real-space step
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
        // exp(c h a) = exp(cr h a) (cos(ci h a) + i sin(ci h a))
        T s, co;
        np_sincos(ci * h * a, &s, &co);
        T m = np_exp(cr * h * a);
        np_cplx<T> e; e.re = m * co; e.im = m * s;
        np_store(out, i, np_mul(e, p));
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
        T s, co;
        np_sincos(ci * h * a, &s, &co);
        T m = np_exp(cr * h * a);
        np_cplx<T> e; e.re = m * co; e.im = m * s;
        np_cplx<T> p1 = np_mul(e, p);
        np_cplx<T> cp1; cp1.re = cr * p1.re - ci * p1.im; cp1.im = cr * p1.im + ci * p1.re;
        T q = h * (G1.re * cp1.re + G1.im * cp1.im);
        np_cplx<T> G = np_mul(np_conj(e), G1);
        G.re += T(2) * g * q * p.re;
        G.im += T(2) * g * q * p.im;
        np_store(gin, i, G);
        gV[i] += q;
        gg[i] += q * rho;
    }
}

// ---------------------------------------------------------------- exported entry points
#define NP_GPE_EXPORT(T, SUF)                                                                                     \
    extern "C" __global__ void gpe_euler_step_##SUF(const T* psi, T* out, const T* V, T V0, long v_stride, T g,    \
                                                    T dt, T cr, T ci, T inv_dx2, int B, int Ny, int Nx) {          \
        gpe_euler_step<T>(psi, out, V, V0, v_stride, g, dt, cr, ci, inv_dx2, B, Ny, Nx);                          \
    }                                                                                                             \
    extern "C" __global__ void gpe_euler_multistep_##SUF(const T* psi0, T* out, T* traj, const T* V, T V0,        \
                                                         long v_stride, T g, T dt, T cr, T ci, T inv_dx2, int B,  \
                                                         int Ny, int Nx, int n_steps) {                           \
        gpe_euler_multistep<T>(psi0, out, traj, V, V0, v_stride, g, dt, cr, ci, inv_dx2, B, Ny, Nx, n_steps);    \
    }                                                                                                             \
    extern "C" __global__ void gpe_euler_adjoint_step_##SUF(const T* psi, const T* gout, T* gin, T* gV, T* gg,    \
                                                            const T* V, T V0, long v_stride, T g, T dt, T cr,     \
                                                            T ci, T inv_dx2, int B, int Ny, int Nx) {             \
        gpe_euler_adjoint_step<T>(psi, gout, gin, gV, gg, V, V0, v_stride, g, dt, cr, ci, inv_dx2, B, Ny, Nx);    \
    }                                                                                                             \
    extern "C" __global__ void gpe_euler_adjoint_multistep_##SUF(const T* traj, const T* gout, T* gin, T* gV,     \
                                                                 T* gg, const T* V, T V0, long v_stride, T g,     \
                                                                 T dt, T cr, T ci, T inv_dx2, int B, int Ny,      \
                                                                 int Nx, int n_steps) {                           \
        gpe_euler_adjoint_multistep<T>(traj, gout, gin, gV, gg, V, V0, v_stride, g, dt, cr, ci, inv_dx2, B, Ny,   \
                                       Nx, n_steps);                                                              \
    }                                                                                                             \
    extern "C" __global__ void gpe_potential_step_##SUF(const T* psi, T* out, const T* V, T V0, long v_stride,    \
                                                        T g, T h, T cr, T ci, int B, int Ny, int Nx) {            \
        gpe_potential_step<T>(psi, out, V, V0, v_stride, g, h, cr, ci, B, Ny, Nx);                                \
    }                                                                                                             \
    extern "C" __global__ void gpe_potential_adjoint_##SUF(const T* psi, const T* gout, T* gin, T* gV, T* gg,     \
                                                           const T* V, T V0, long v_stride, T g, T h, T cr,       \
                                                           T ci, int B, int Ny, int Nx) {                         \
        gpe_potential_adjoint<T>(psi, gout, gin, gV, gg, V, V0, v_stride, g, h, cr, ci, B, Ny, Nx);               \
    }

NP_GPE_EXPORT(float, f32)
NP_GPE_EXPORT(double, f64)
