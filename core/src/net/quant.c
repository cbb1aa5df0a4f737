/* Quantized dense layers: packing, the reference and AVX512 GEMM kernels,
 * runtime dispatch and the per-network state. See quant.h. */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define GB_QUANT_X86 1
#else
#define GB_QUANT_X86 0
#endif

#include "gb_error.h"
#include "model.h"

/* A row or channel whose largest |value| is below this counts as zero: every
 * scale is then >= GB_QMIN / 127 and a product of two scales stays a normal
 * float (docs/performance.md "No subnormal numbers"). */
#define GB_QMIN 1e-15f

/* Rows per parallel block: each output element is computed by one thread in
 * a fixed order whatever the split, so results do not depend on it. */
#define GB_QROWS 64

/* ------------------------------------------------------------ CPU detection */

#if GB_QUANT_X86
static uint64_t gb_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
/* AVX512F with the OS saving zmm state (XCR0 bits 1,2 and 5,6,7). */
static int gb_avx512_os(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    if ((gb_xgetbv0() & 0xe6u) != 0xe6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1u;
}
int gb_cpu_has_avx512_bf16(void) {
    unsigned a, b, c, d;
    if (!gb_avx512_os() || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1u;
}
int gb_cpu_has_avx512_vnni(void) {
    unsigned a, b, c, d;
    if (!gb_avx512_os() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 11) & 1u;
}
/* AMX tiles: CPUID leaf 7 EDX (22 AMX-BF16, 24 AMX-TILE, 25 AMX-INT8), and Linux
 * must grant the tile data state to the process (arch_prctl ARCH_REQ_XCOMP_PERM,
 * asked once; XCR0 bits 17, 18). */
static int gb_amx_os(void) {
    static _Atomic int state = -1; /* -1 unknown, 0 no, 1 yes */
    int st = state;
    if (st >= 0) return st;
    unsigned a, b, c, d;
    st = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 24) & 1u) && gb_avx512_os()) {
#ifdef SYS_arch_prctl
        if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0)
            st = (gb_xgetbv0() & 0x60000u) == 0x60000u;
#endif
    }
    state = st;
    return st;
}
int gb_cpu_has_amx_bf16(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 22) & 1u) && gb_cpu_has_avx512_bf16() && gb_amx_os();
}
int gb_cpu_has_amx_int8(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 25) & 1u) && gb_cpu_has_avx512_vnni() && gb_amx_os();
}
#else
int gb_cpu_has_avx512_bf16(void) { return 0; }
int gb_cpu_has_avx512_vnni(void) { return 0; }
int gb_cpu_has_amx_bf16(void) { return 0; }
int gb_cpu_has_amx_int8(void) { return 0; }
#endif

static _Atomic int g_forced_isa = -1;
void gb_quant_force_isa(int isa) { g_forced_isa = isa; }
gb_qisa gb_quant_isa(int mode) {
    int best = GB_QISA_REF;
    if (mode == GBNET_QUANT_BF16) best = gb_cpu_has_amx_bf16() ? GB_QISA_AMX : gb_cpu_has_avx512_bf16() ? GB_QISA_AVX512 : GB_QISA_REF;
    if (mode == GBNET_QUANT_INT8) best = gb_cpu_has_amx_int8() ? GB_QISA_AMX : gb_cpu_has_avx512_vnni() ? GB_QISA_AVX512 : GB_QISA_REF;
    int forced = g_forced_isa;
    return (gb_qisa)(forced >= 0 && forced < best ? forced : best);
}

/* ------------------------------------------------------------ packing */

static int gb_ceil16(int n) { return (n + 15) / 16; }
/* k padded to whole AMX tiles (64 bytes of a row: 32 bf16 or 64 int8), for every ISA */
int gb_qpack_kp_bf16(int k) { return (k + 31) / 32 * 32; }
int gb_qpack_kp_s8(int k) { return (k + 63) / 64 * 64; }
size_t gb_qpack_bf16_size(int n, int k) { return (size_t)gb_ceil16(n) * (size_t)(gb_qpack_kp_bf16(k) / 2) * 32; }
size_t gb_qpack_s8_size(int n, int k) { return (size_t)gb_ceil16(n) * (size_t)(gb_qpack_kp_s8(k) / 4) * 64; }

void gb_qpack_bf16(uint16_t *P, const uint16_t *M, int n, int k) {
    int kp2 = gb_qpack_kp_bf16(k) / 2;
    for (int cb = 0; cb < gb_ceil16(n); ++cb)
        for (int p = 0; p < kp2; ++p)
            for (int j = 0; j < 16; ++j)
                for (int s = 0; s < 2; ++s) {
                    int row = cb * 16 + j, col = 2 * p + s;
                    P[(((size_t)cb * kp2 + p) * 16 + j) * 2 + s] = row < n && col < k ? M[(size_t)row * k + col] : 0;
                }
}

void gb_qpack_s8(int8_t *P, const int8_t *M, int n, int k) {
    int kp4 = gb_qpack_kp_s8(k) / 4;
    for (int cb = 0; cb < gb_ceil16(n); ++cb)
        for (int p = 0; p < kp4; ++p)
            for (int j = 0; j < 16; ++j)
                for (int s = 0; s < 4; ++s) {
                    int row = cb * 16 + j, col = 4 * p + s;
                    P[(((size_t)cb * kp4 + p) * 16 + j) * 4 + s] = row < n && col < k ? M[(size_t)row * k + col] : 0;
                }
}

/* ------------------------------------------------------------ reference twins */

static inline float gb_qflush(float x) { return fabsf(x) < FLT_MIN ? 0.0f : x; }

void gb_qgemm_bf16_ref(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate) {
    int kp2 = kp / 2;
    for (int i = 0; i < rows; ++i) {
        const uint16_t *x = X + (size_t)i * kp;
        for (int o = 0; o < n; ++o) {
            const uint16_t *b = P + (size_t)(o / 16) * kp2 * 32 + (size_t)(o % 16) * 2;
            float acc = 0.0f;
            for (int p = 0; p < kp2; ++p) {
                const uint16_t *bp = b + (size_t)p * 32;
                /* bf16 x bf16 products are exact in float: one rounding per addition,
                 * whether or not the compiler contracts this into an FMA */
                acc = gb_qflush(acc + gb_bf16_to_float(x[2 * p + 1]) * gb_bf16_to_float(bp[1]));
                acc = gb_qflush(acc + gb_bf16_to_float(x[2 * p]) * gb_bf16_to_float(bp[0]));
            }
            float *y = Y + (size_t)i * n + o;
            *y = accumulate ? *y + acc : acc;
        }
    }
}

void gb_qgemm_s8_ref(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                     const float *col_scale, int rows, int kp, int n, int accumulate) {
    int kp4 = kp / 4;
    for (int i = 0; i < rows; ++i) {
        const uint8_t *x = X + (size_t)i * kp;
        for (int o = 0; o < n; ++o) {
            const int8_t *b = P + (size_t)(o / 16) * kp4 * 64 + (size_t)(o % 16) * 4;
            int32_t acc = 0;
            for (int p = 0; p < kp4; ++p)
                for (int s = 0; s < 4; ++s) acc += (int32_t)x[4 * p + s] * (int32_t)b[(size_t)p * 64 + s];
            /* one explicit FMA when accumulating, as the kernel (no contraction left to the compiler) */
            float c = (float)(acc - comp[o]), sc = row_scale[i] * col_scale[o];
            float *y = Y + (size_t)i * n + o;
            *y = accumulate ? fmaf(c, sc, *y) : c * sc;
        }
    }
}

/* ------------------------------------------------------------ AVX512 kernels */

#if GB_QUANT_X86
/* One tile: NR rows x NB blocks of 16 outputs; the k-loop order per output is the
 * reference's. always_inline so NR and NB are constants in each instance. */
#define GB_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define GB_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni,fma")))

static inline __attribute__((always_inline)) GB_TARGET_BF16 void
gb_bf16_tile(float *Y, const uint16_t *X, const uint16_t *P, int i0, int cb0, int kp, int n, int accumulate,
             const int NR, const int NB) {
    int kp2 = kp / 2;
    __m512 acc[4][4];
    for (int r = 0; r < NR; ++r)
        for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_setzero_ps();
    const uint16_t *pb[4];
    for (int c = 0; c < NB; ++c) pb[c] = P + (size_t)(cb0 + c) * kp2 * 32;
    const uint16_t *xr[4];
    for (int r = 0; r < NR; ++r) xr[r] = X + (size_t)(i0 + r) * kp;
    for (int p = 0; p < kp2; ++p) {
        __m512bh b[4];
        for (int c = 0; c < NB; ++c) b[c] = (__m512bh)_mm512_loadu_si512((const void *)(pb[c] + (size_t)p * 32));
        for (int r = 0; r < NR; ++r) {
            uint32_t pair;
            memcpy(&pair, xr[r] + 2 * p, 4);
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair);
            for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a, b[c]);
        }
    }
    for (int c = 0; c < NB; ++c) {
        int o = (cb0 + c) * 16, left = n - o;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        for (int r = 0; r < NR; ++r) {
            float *y = Y + (size_t)(i0 + r) * n + o;
            __m512 v = acc[r][c];
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y), v);
            _mm512_mask_storeu_ps(y, m, v);
        }
    }
}

GB_TARGET_BF16 void gb_qgemm_bf16_avx512(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n,
                                         int accumulate) {
    int nb = gb_ceil16(n), i = 0;
    for (; i + 4 <= rows; i += 4) {
        int c = 0;
        for (; c + 4 <= nb; c += 4) gb_bf16_tile(Y, X, P, i, c, kp, n, accumulate, 4, 4);
        for (; c < nb; ++c) gb_bf16_tile(Y, X, P, i, c, kp, n, accumulate, 4, 1);
    }
    for (; i < rows; ++i) {
        int c = 0;
        for (; c + 4 <= nb; c += 4) gb_bf16_tile(Y, X, P, i, c, kp, n, accumulate, 1, 4);
        for (; c < nb; ++c) gb_bf16_tile(Y, X, P, i, c, kp, n, accumulate, 1, 1);
    }
}

static inline __attribute__((always_inline)) GB_TARGET_VNNI void
gb_s8_tile(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
           const float *col_scale, int i0, int cb0, int kp, int n, int accumulate, const int NR, const int NB) {
    int kp4 = kp / 4;
    __m512i acc[4][4];
    for (int r = 0; r < NR; ++r)
        for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_setzero_si512();
    const int8_t *pb[4];
    for (int c = 0; c < NB; ++c) pb[c] = P + (size_t)(cb0 + c) * kp4 * 64;
    const uint8_t *xr[4];
    for (int r = 0; r < NR; ++r) xr[r] = X + (size_t)(i0 + r) * kp;
    for (int p = 0; p < kp4; ++p) {
        __m512i b[4];
        for (int c = 0; c < NB; ++c) b[c] = _mm512_loadu_si512((const void *)(pb[c] + (size_t)p * 64));
        for (int r = 0; r < NR; ++r) {
            uint32_t quad;
            memcpy(&quad, xr[r] + 4 * p, 4);
            __m512i a = _mm512_set1_epi32((int)quad);
            for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], a, b[c]);
        }
    }
    for (int c = 0; c < NB; ++c) {
        int o = (cb0 + c) * 16, left = n - o;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        __m512i cp = _mm512_maskz_loadu_epi32(m, comp + o);
        __m512 cs = _mm512_maskz_loadu_ps(m, col_scale + o);
        for (int r = 0; r < NR; ++r) {
            float *y = Y + (size_t)(i0 + r) * n + o;
            __m512 s = _mm512_mul_ps(_mm512_set1_ps(row_scale[i0 + r]), cs);
            __m512 cv = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][c], cp));
            __m512 v = accumulate ? _mm512_fmadd_ps(cv, s, _mm512_maskz_loadu_ps(m, y)) : _mm512_mul_ps(cv, s);
            _mm512_mask_storeu_ps(y, m, v);
        }
    }
}

GB_TARGET_VNNI void gb_qgemm_s8_avx512(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp,
                                       const float *row_scale, const float *col_scale, int rows, int kp, int n,
                                       int accumulate) {
    int nb = gb_ceil16(n), i = 0;
    for (; i + 4 <= rows; i += 4) {
        int c = 0;
        for (; c + 4 <= nb; c += 4) gb_s8_tile(Y, X, P, comp, row_scale, col_scale, i, c, kp, n, accumulate, 4, 4);
        for (; c < nb; ++c) gb_s8_tile(Y, X, P, comp, row_scale, col_scale, i, c, kp, n, accumulate, 4, 1);
    }
    for (; i < rows; ++i) {
        int c = 0;
        for (; c + 4 <= nb; c += 4) gb_s8_tile(Y, X, P, comp, row_scale, col_scale, i, c, kp, n, accumulate, 1, 4);
        for (; c < nb; ++c) gb_s8_tile(Y, X, P, comp, row_scale, col_scale, i, c, kp, n, accumulate, 1, 1);
    }
}
/* AMX: 16 x 16 output tiles, four side by side (tiles 0-3), the input rows in
 * tile 4 and each weight block in tile 5, k in chunks of one tile row (64
 * bytes). X must be readable for rows rounded up to 16 (those results are
 * dropped). Integer sums are exact, so the int8 result is the reference's. */
#define GB_TARGET_AMX __attribute__((target("amx-tile,amx-int8,amx-bf16,avx512f,avx512bw,fma")))
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} gb_tilecfg;

GB_TARGET_AMX static void gb_amx_config(void) {
    gb_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 6; ++t) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

GB_TARGET_AMX void gb_qgemm_s8_amx(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp,
                                    const float *row_scale, const float *col_scale, int rows, int kp, int n,
                                    int accumulate) {
    int nb = gb_ceil16(n), kc = kp / 64, kp4 = kp / 4;
    int32_t buf[4][16][16] __attribute__((aligned(64)));
    gb_amx_config();
    for (int i0 = 0; i0 < rows; i0 += 16) {
        int rr = rows - i0 < 16 ? rows - i0 : 16;
        for (int c0 = 0; c0 < nb; c0 += 4) {
            int nc = nb - c0 < 4 ? nb - c0 : 4;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            const int8_t *pb = P + (size_t)c0 * kp4 * 64;
            size_t bstep = (size_t)kp4 * 64;
            for (int kk = 0; kk < kc; ++kk) {
                _tile_loadd(4, X + (size_t)i0 * kp + (size_t)kk * 64, kp);
                const int8_t *pk = pb + (size_t)kk * 16 * 64;
                _tile_loadd(5, pk, 64);
                _tile_dpbusd(0, 4, 5);
                if (nc > 1) {
                    _tile_loadd(5, pk + bstep, 64);
                    _tile_dpbusd(1, 4, 5);
                }
                if (nc > 2) {
                    _tile_loadd(5, pk + 2 * bstep, 64);
                    _tile_dpbusd(2, 4, 5);
                }
                if (nc > 3) {
                    _tile_loadd(5, pk + 3 * bstep, 64);
                    _tile_dpbusd(3, 4, 5);
                }
            }
            _tile_stored(0, buf[0], 64);
            if (nc > 1) _tile_stored(1, buf[1], 64);
            if (nc > 2) _tile_stored(2, buf[2], 64);
            if (nc > 3) _tile_stored(3, buf[3], 64);
            for (int c = 0; c < nc; ++c) {
                int o = (c0 + c) * 16, left = n - o;
                __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                __m512i cp = _mm512_maskz_loadu_epi32(m, comp + o);
                __m512 cs = _mm512_maskz_loadu_ps(m, col_scale + o);
                for (int r = 0; r < rr; ++r) {
                    float *y = Y + (size_t)(i0 + r) * n + o;
                    __m512 sc = _mm512_mul_ps(_mm512_set1_ps(row_scale[i0 + r]), cs);
                    __m512 cv = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(buf[c][r]), cp));
                    __m512 v = accumulate ? _mm512_fmadd_ps(cv, sc, _mm512_maskz_loadu_ps(m, y)) : _mm512_mul_ps(cv, sc);
                    _mm512_mask_storeu_ps(y, m, v);
                }
            }
        }
    }
    _tile_release();
}

GB_TARGET_AMX void gb_qgemm_bf16_amx(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n,
                                      int accumulate) {
    int nb = gb_ceil16(n), kc = kp / 32, kp2 = kp / 2;
    float buf[4][16][16] __attribute__((aligned(64)));
    gb_amx_config();
    for (int i0 = 0; i0 < rows; i0 += 16) {
        int rr = rows - i0 < 16 ? rows - i0 : 16;
        for (int c0 = 0; c0 < nb; c0 += 4) {
            int nc = nb - c0 < 4 ? nb - c0 : 4;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            const uint16_t *pb = P + (size_t)c0 * kp2 * 32;
            size_t bstep = (size_t)kp2 * 32;
            for (int kk = 0; kk < kc; ++kk) {
                _tile_loadd(4, X + (size_t)i0 * kp + (size_t)kk * 32, kp * 2);
                const uint16_t *pk = pb + (size_t)kk * 16 * 32;
                _tile_loadd(5, pk, 64);
                _tile_dpbf16ps(0, 4, 5);
                if (nc > 1) {
                    _tile_loadd(5, pk + bstep, 64);
                    _tile_dpbf16ps(1, 4, 5);
                }
                if (nc > 2) {
                    _tile_loadd(5, pk + 2 * bstep, 64);
                    _tile_dpbf16ps(2, 4, 5);
                }
                if (nc > 3) {
                    _tile_loadd(5, pk + 3 * bstep, 64);
                    _tile_dpbf16ps(3, 4, 5);
                }
            }
            _tile_stored(0, buf[0], 64);
            if (nc > 1) _tile_stored(1, buf[1], 64);
            if (nc > 2) _tile_stored(2, buf[2], 64);
            if (nc > 3) _tile_stored(3, buf[3], 64);
            for (int c = 0; c < nc; ++c) {
                int o = (c0 + c) * 16, left = n - o;
                __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                for (int r = 0; r < rr; ++r) {
                    float *y = Y + (size_t)(i0 + r) * n + o;
                    __m512 v = _mm512_load_ps(buf[c][r]);
                    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y), v);
                    _mm512_mask_storeu_ps(y, m, v);
                }
            }
        }
    }
    _tile_release();
}

/* The input rounding of the dense layers, vectorized; the same results as the
 * scalar loops in gb_quantize_rows (VCVTNEPS2BF16 rounds to nearest even and
 * treats subnormal inputs as 0, like gb_bf16_round; max and products are exact
 * or rounded once, in the same order). */
GB_TARGET_BF16 static void gb_round_bf16_avx512(uint16_t *x, const float *a, int k) {
    int j = 0;
    for (; j + 16 <= k; j += 16)
        _mm256_storeu_si256((__m256i *)(x + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a + j)));
    for (; j < k; ++j) x[j] = gb_bf16_round(a[j]);
}

/* |a * ks| maximum (ks may be NULL: |a|) */
GB_TARGET_VNNI static float gb_absmax_avx512(const float *a, const float *ks, int k) {
    __m512 m = _mm512_setzero_ps();
    for (int j = 0; j < k; j += 16) {
        __mmask16 mk = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(mk, a + j);
        if (ks) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, ks + j));
        m = _mm512_max_ps(m, _mm512_abs_ps(v));
    }
    return _mm512_reduce_max_ps(m);
}

GB_TARGET_VNNI static void gb_q8_row_avx512(uint8_t *x, const float *a, const float *ks, float inv, int k) {
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f), vinv = _mm512_set1_ps(inv);
    const __m512i off = _mm512_set1_epi32(128);
    for (int j = 0; j < k; j += 16) {
        __mmask16 mk = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(mk, a + j);
        if (ks) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, ks + j));
        v = _mm512_roundscale_ps(_mm512_mul_ps(v, vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm512_mask_cvtepi32_storeu_epi8(x + j, mk, _mm512_add_epi32(_mm512_cvtps_epi32(v), off));
    }
}
#define GB_HAVE_VECTOR_QUANTIZE 1
#else
void gb_qgemm_bf16_avx512(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate) {
    gb_qgemm_bf16_ref(Y, X, P, rows, kp, n, accumulate);
}
void gb_qgemm_bf16_amx(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate) {
    gb_qgemm_bf16_ref(Y, X, P, rows, kp, n, accumulate);
}
void gb_qgemm_s8_amx(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                     const float *col_scale, int rows, int kp, int n, int accumulate) {
    gb_qgemm_s8_ref(Y, X, P, comp, row_scale, col_scale, rows, kp, n, accumulate);
}
void gb_qgemm_s8_avx512(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                        const float *col_scale, int rows, int kp, int n, int accumulate) {
    gb_qgemm_s8_ref(Y, X, P, comp, row_scale, col_scale, rows, kp, n, accumulate);
}
#endif

/* ------------------------------------------------------------ per network */

/* One direction of one layer: the packed matrix M [n][k] (forward: W [out][in];
 * backward: W^T [in][out]) and, for int8, its compensation and column scales. */
typedef struct {
    int n, k, kp;
    void *P;          /* packed bf16 or int8 */
    int32_t *comp;    /* [n] int8 */
    float *col_scale; /* [n] int8: weight scale per output (forward), 1 (backward) */
    float *k_scale;   /* [k] int8 backward: weight scale of each reduction index (folded into A) */
} gb_qmat;

struct gb_qnet {
    int mode, n_layers, isa;
    const gbnet_model *model;
    gb_qmat fwd[GB_QUANT_MAX_LAYERS], bwd[GB_QUANT_MAX_LAYERS];
    float act_scale[GB_QUANT_MAX_LAYERS]; /* int8: clip / 127 */
    float inv_act_scale[GB_QUANT_MAX_LAYERS];
    void *xq; size_t cap_xq;          /* [rows][kp] quantized inputs */
    float *rs; size_t cap_rs;         /* [rows] row scales */
    int rows_reserved;
};

static void gb_qmat_free(gb_qmat *m) {
    free(m->P);
    free(m->comp);
    free(m->col_scale);
    free(m->k_scale);
    memset(m, 0, sizeof *m);
}

void gb_qnet_free(gb_qnet *q) {
    if (!q) return;
    for (int l = 0; l < GB_QUANT_MAX_LAYERS; ++l) {
        gb_qmat_free(&q->fwd[l]);
        gb_qmat_free(&q->bwd[l]);
    }
    free(q->xq);
    free(q->rs);
    free(q);
}

/* Dense layer l (3t + 0/1/2, 3T readout): weight offset, shape; returns its rank
 * (factored, rank-reduced layers are not quantized: they stay float). */
static int gb_layer_shape(const gbnet_model *m, int l, size_t *off, int *out, int *in) {
    int T = m->hp.n_blocks;
    gbnet_dense_kind kind = l == 3 * T ? GBNET_DENSE_READOUT : (gbnet_dense_kind)(l % 3);
    gb_dense d = gb_layout_dense(&m->layout, &m->hp, kind, l == 3 * T ? 0 : l / 3);
    *off = d.w;
    *out = d.out;
    *in = d.in;
    return d.rank;
}

int gb_quant_layer_of(const gbnet_model *m, size_t w_offset, int rank) {
    if (rank) return -1;
    int layers = 3 * m->hp.n_blocks + 1;
    for (int l = 0; l < layers; ++l) {
        size_t off;
        int out, in;
        if (!gb_layer_shape(m, l, &off, &out, &in) && off == w_offset) return l;
    }
    return -1;
}

static int gb_qmat_alloc(gb_qmat *q, int mode, int n, int k, int backward) {
    q->n = n;
    q->k = k;
    q->kp = mode == GBNET_QUANT_BF16 ? gb_qpack_kp_bf16(k) : gb_qpack_kp_s8(k);
    size_t bytes = mode == GBNET_QUANT_BF16 ? gb_qpack_bf16_size(n, k) * 2 : gb_qpack_s8_size(n, k);
    q->P = gb_malloc(bytes);
    if (mode == GBNET_QUANT_INT8) {
        q->comp = gb_malloc((size_t)n * sizeof(int32_t));
        q->col_scale = gb_malloc((size_t)n * sizeof(float));
        q->k_scale = backward ? gb_malloc((size_t)k * sizeof(float)) : NULL; /* marks the backward */
        return q->P && q->comp && q->col_scale && (q->k_scale || !backward);
    }
    return q->P != NULL;
}

/* Rounds one layer's weights W [out][in] (float) and packs both directions. */
static int gb_qnet_load_layer(gb_qnet *q, int l, const float *W, int out, int in) {
    size_t count = (size_t)out * in;
    gb_qmat *f = &q->fwd[l], *b = &q->bwd[l];
    if (q->mode == GBNET_QUANT_BF16) {
        uint16_t *M = gb_malloc(count * sizeof(uint16_t)), *Mt = gb_malloc(count * sizeof(uint16_t));
        if (!M || !Mt) {
            free(M);
            free(Mt);
            return 0;
        }
        for (int o = 0; o < out; ++o)
            for (int k = 0; k < in; ++k) {
                uint16_t v = gb_bf16_round(W[(size_t)o * in + k]);
                M[(size_t)o * in + k] = v;
                Mt[(size_t)k * out + o] = v;
            }
        gb_qpack_bf16(f->P, M, out, in);
        gb_qpack_bf16(b->P, Mt, in, out);
        free(M);
        free(Mt);
        return 1;
    }
    int8_t *M = gb_malloc(count), *Mt = gb_malloc(count);
    if (!M || !Mt) {
        free(M);
        free(Mt);
        return 0;
    }
    for (int o = 0; o < out; ++o) {
        float amax = 0;
        for (int k = 0; k < in; ++k) amax = fabsf(W[(size_t)o * in + k]) > amax ? fabsf(W[(size_t)o * in + k]) : amax;
        /* symmetric per output channel; a (near) zero row gets scale 0 and weights 0 */
        if (amax < GB_QMIN) amax = 0;
        float s = amax > 0 ? amax / 127.0f : 0.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int k = 0; k < in; ++k) {
            float r = nearbyintf(W[(size_t)o * in + k] * inv);
            int v = r > 127 ? 127 : r < -127 ? -127 : (int)r;
            M[(size_t)o * in + k] = (int8_t)v;
            Mt[(size_t)k * out + o] = (int8_t)v;
            sum += v;
        }
        f->comp[o] = 128 * sum;
        f->col_scale[o] = s;
        b->k_scale[o] = s;
    }
    for (int k = 0; k < in; ++k) {
        int32_t sum = 0;
        for (int o = 0; o < out; ++o) sum += Mt[(size_t)k * out + o];
        b->comp[k] = 128 * sum;
        b->col_scale[k] = 1.0f;
    }
    gb_qpack_s8(f->P, M, out, in);
    gb_qpack_s8(b->P, Mt, in, out);
    free(M);
    free(Mt);
    return 1;
}

void gb_qnet_load(gb_qnet *q, const float *w) {
    for (int l = 0; l < q->n_layers; ++l) {
        size_t off;
        int out, in;
        if (gb_layer_shape(q->model, l, &off, &out, &in)) continue; /* factored: float */
        gb_qnet_load_layer(q, l, w + off, out, in); /* buffers exist: cannot fail but for scratch */
    }
}

gb_qnet *gb_qnet_create(const gbnet_model *model, const float *w, gbnet_status *status) {
    *status = GBNET_OK;
    const gb_quant_record *rec = model->quant;
    if (!rec) return NULL;
    gb_qnet *q = gb_calloc(1, sizeof *q);
    if (!q) {
        *status = GBNET_ERR_NO_MEMORY;
        return NULL;
    }
    q->mode = rec->mode;
    q->model = model;
    q->n_layers = 3 * model->hp.n_blocks + 1;
    q->isa = gb_quant_isa(rec->mode);
    int ok = 1;
    for (int l = 0; l < q->n_layers && ok; ++l) {
        size_t off;
        int out, in;
        if (gb_layer_shape(model, l, &off, &out, &in)) continue; /* factored: float */
        ok = gb_qmat_alloc(&q->fwd[l], q->mode, out, in, 0) && gb_qmat_alloc(&q->bwd[l], q->mode, in, out, 1) &&
             gb_qnet_load_layer(q, l, w + off, out, in);
        if (q->mode == GBNET_QUANT_INT8) {
            q->act_scale[l] = (float)(rec->act_clip[l] / 127.0);
            q->inv_act_scale[l] = (float)(127.0 / rec->act_clip[l]);
        }
    }
    if (!ok) {
        gb_qnet_free(q);
        *status = GBNET_ERR_NO_MEMORY;
        return NULL;
    }
    return q;
}

size_t gb_qnet_bytes(const gb_qnet *q) {
    if (!q) return 0;
    size_t n = sizeof *q + q->cap_xq + q->cap_rs * sizeof(float);
    for (int l = 0; l < q->n_layers; ++l)
        for (int d = 0; d < 2; ++d) {
            const gb_qmat *m = d ? &q->bwd[l] : &q->fwd[l];
            n += q->mode == GBNET_QUANT_BF16 ? gb_qpack_bf16_size(m->n, m->k) * 2
                                             : gb_qpack_s8_size(m->n, m->k) + (size_t)m->n * 8 + (size_t)m->k * 4;
        }
    return n;
}

gbnet_status gb_qnet_reserve(gb_qnet *q, int rows) {
    int kmax = 0;
    for (int l = 0; l < q->n_layers; ++l) {
        kmax = q->fwd[l].kp > kmax ? q->fwd[l].kp : kmax;
        kmax = q->bwd[l].kp > kmax ? q->bwd[l].kp : kmax;
    }
    /* AMX reads whole 16-row tiles: rows rounded up to 16 must be readable */
    size_t bytes = (size_t)(rows + 16) * kmax * 2, r = (size_t)rows + 16;
    if (!gb_reserve(&q->xq, &q->cap_xq, bytes)) return GBNET_ERR_NO_MEMORY;
    size_t rbytes = q->cap_rs * sizeof(float);
    if (!gb_reserve((void **)&q->rs, &rbytes, r * sizeof(float))) return GBNET_ERR_NO_MEMORY;
    q->cap_rs = rbytes / sizeof(float);
    q->rows_reserved = rows;
    return GBNET_OK;
}

/* int8 value of x / scale (round to nearest even), clipped to [-127, 127], + 128 */
static inline uint8_t gb_q8(float x, float inv_scale) {
    float r = nearbyintf(x * inv_scale);
    r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
    return (uint8_t)((int)r + 128);
}

static float gb_absmax(const float *a, const float *ks, int k) {
    float m = 0;
    for (int j = 0; j < k; ++j) {
        float v = fabsf(ks ? a[j] * ks[j] : a[j]);
        m = v > m ? v : m;
    }
    return m;
}

static void gb_q8_row(uint8_t *x, const float *a, const float *ks, float inv, int k) {
    for (int j = 0; j < k; ++j) x[j] = gb_q8(ks ? a[j] * ks[j] : a[j], inv);
}

/* Quantizes rows [r0, r1) of A [rows][k] into q->xq [rows][kp]. int8: the forward
 * uses the layer's calibrated scale; the backward (m->k_scale set) first folds
 * the weight scale of each index in and gives each row its own scale from its
 * largest |value| (gradients have no calibrated range). */
static void gb_quantize_rows(gb_qnet *q, const gb_qmat *m, const float *A, int r0, int r1, float fixed_scale,
                             float fixed_inv) {
    int k = m->k, kp = m->kp;
#ifdef GB_HAVE_VECTOR_QUANTIZE
    int vec = q->isa >= GB_QISA_AVX512;
#else
    int vec = 0;
#endif
    if (q->mode == GBNET_QUANT_BF16) {
        uint16_t *X = q->xq;
        for (int i = r0; i < r1; ++i) {
            const float *a = A + (size_t)i * k;
            uint16_t *x = X + (size_t)i * kp;
#ifdef GB_HAVE_VECTOR_QUANTIZE
            if (vec) gb_round_bf16_avx512(x, a, k);
            else
#endif
                for (int j = 0; j < k; ++j) x[j] = gb_bf16_round(a[j]);
            for (int j = k; j < kp; ++j) x[j] = 0;
        }
        return;
    }
    uint8_t *X = q->xq;
    const float *ks = m->k_scale;
    for (int i = r0; i < r1; ++i) {
        const float *a = A + (size_t)i * k;
        uint8_t *x = X + (size_t)i * kp;
        float inv = fixed_inv, s = fixed_scale;
        if (ks) {
#ifdef GB_HAVE_VECTOR_QUANTIZE
            float amax = vec ? gb_absmax_avx512(a, ks, k) : gb_absmax(a, ks, k);
#else
            float amax = gb_absmax(a, ks, k);
#endif
            if (amax < GB_QMIN) amax = 0;
            s = amax > 0 ? amax / 127.0f : 0.0f;
            inv = amax > 0 ? 127.0f / amax : 0.0f;
        }
#ifdef GB_HAVE_VECTOR_QUANTIZE
        if (vec) gb_q8_row_avx512(x, a, ks, inv, k);
        else
#endif
            gb_q8_row(x, a, ks, inv, k);
        for (int j = k; j < kp; ++j) x[j] = 128;
        q->rs[i] = s;
    }
}

static void gb_qgemm_rows(gb_qnet *q, const gb_qmat *m, float *Y, int r0, int r1, int accumulate) {
    int rows = r1 - r0, kp = m->kp;
    if (q->mode == GBNET_QUANT_BF16) {
        const uint16_t *X = (const uint16_t *)q->xq + (size_t)r0 * kp;
        if (q->isa == GB_QISA_AMX) gb_qgemm_bf16_amx(Y + (size_t)r0 * m->n, X, m->P, rows, kp, m->n, accumulate);
        else if (q->isa == GB_QISA_AVX512) gb_qgemm_bf16_avx512(Y + (size_t)r0 * m->n, X, m->P, rows, kp, m->n, accumulate);
        else gb_qgemm_bf16_ref(Y + (size_t)r0 * m->n, X, m->P, rows, kp, m->n, accumulate);
    } else {
        const uint8_t *X = (const uint8_t *)q->xq + (size_t)r0 * kp;
        if (q->isa == GB_QISA_AMX)
            gb_qgemm_s8_amx(Y + (size_t)r0 * m->n, X, m->P, m->comp, q->rs + r0, m->col_scale, rows, kp, m->n,
                            accumulate);
        else if (q->isa == GB_QISA_AVX512)
            gb_qgemm_s8_avx512(Y + (size_t)r0 * m->n, X, m->P, m->comp, q->rs + r0, m->col_scale, rows, kp, m->n,
                               accumulate);
        else
            gb_qgemm_s8_ref(Y + (size_t)r0 * m->n, X, m->P, m->comp, q->rs + r0, m->col_scale, rows, kp, m->n,
                            accumulate);
    }
}

/* Both directions: quantize and multiply fixed 64-row blocks, shared among threads. */
static void gb_qdense_run(gb_qnet *q, const gb_qmat *m, float *Y, const float *A, int rows, int accumulate, int nt,
                          float fixed_scale, float fixed_inv) {
    if (rows <= 0) return;
    int blocks = (rows + GB_QROWS - 1) / GB_QROWS;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (blocks > 1 && nt > 1)
    for (int blk = 0; blk < blocks; ++blk) {
        int r0 = blk * GB_QROWS, r1 = r0 + GB_QROWS < rows ? r0 + GB_QROWS : rows;
        gb_quantize_rows(q, m, A, r0, r1, fixed_scale, fixed_inv);
        gb_qgemm_rows(q, m, Y, r0, r1, accumulate);
    }
}

void gb_qdense_forward(gb_qnet *q, int layer, float *Y, const float *X, const float *bias, int rows, int bias_rows,
                       int accumulate, int nt) {
    const gb_qmat *m = &q->fwd[layer];
    gb_qdense_run(q, m, Y, X, rows, accumulate, nt, q->act_scale[layer], q->inv_act_scale[layer]);
    if (!bias) return;
    for (int i = 0; i < bias_rows; ++i) {
        float *y = Y + (size_t)i * m->n;
        for (int o = 0; o < m->n; ++o) y[o] += bias[o];
    }
}

void gb_qdense_backward(gb_qnet *q, int layer, float *C, const float *A, int rows, int accumulate, int nt) {
    gb_qdense_run(q, &q->bwd[layer], C, A, rows, accumulate, nt, 0.0f, 0.0f);
}

/* The weights the quantized layers multiply by, back in the float blob. */
gbnet_status gbnet_model_dequantize_weights(gbnet_model *m) {
    if (!m || !m->quant) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dequantize weights: the model is not quantized");
    gb_model_set_feature_record(m, NULL, 0); /* the weights change */
    int layers = 3 * m->hp.n_blocks + 1;
    for (int l = 0; l < layers; ++l) {
        size_t off;
        int out, in;
        if (gb_layer_shape(m, l, &off, &out, &in)) continue; /* factored layers stay float */
        double *W = m->params + off;
        for (int o = 0; o < out; ++o) {
            float amax = 0;
            for (int k = 0; k < in; ++k) amax = fmaxf(amax, fabsf((float)W[(size_t)o * in + k]));
            if (amax < GB_QMIN) amax = 0;
            float s = amax > 0 ? amax / 127.0f : 0.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
            for (int k = 0; k < in; ++k) {
                float w = (float)W[(size_t)o * in + k];
                w = fabsf(w) < FLT_MIN ? 0.0f : w; /* as the float network loads it */
                if (m->quant->mode == GBNET_QUANT_BF16) {
                    W[(size_t)o * in + k] = gb_bf16_to_float(gb_bf16_round(w));
                } else {
                    float r = nearbyintf(w * inv);
                    r = r > 127 ? 127 : r < -127 ? -127 : r;
                    W[(size_t)o * in + k] = (double)r * (double)s;
                }
            }
        }
    }
    free(m->quant);
    m->quant = NULL;
    return GBNET_OK;
}

/* ------------------------------------------------------------ calibration */

struct gb_calib {
    int n_layers;
    size_t max_values;
    float *v[GB_QUANT_MAX_LAYERS];
    size_t n[GB_QUANT_MAX_LAYERS];
    int failed;
};

gb_calib *gb_calib_create(int n_layers, size_t max_values_per_layer) {
    gb_calib *c = gb_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n_layers = n_layers;
    c->max_values = max_values_per_layer;
    for (int l = 0; l < n_layers && !c->failed; ++l) {
        c->v[l] = gb_malloc(max_values_per_layer * sizeof(float));
        if (!c->v[l]) c->failed = 1;
    }
    if (c->failed) {
        gb_calib_free(c);
        return NULL;
    }
    return c;
}

void gb_calib_free(gb_calib *c) {
    if (!c) return;
    for (int l = 0; l < GB_QUANT_MAX_LAYERS; ++l) free(c->v[l]);
    free(c);
}

/* Keeps the first max_values values of each layer (frames in the caller's order). */
void gb_calib_record(gb_calib *c, int layer, const float *X, int rows, int in) {
    if (!c || layer < 0 || layer >= c->n_layers) return;
    size_t total = (size_t)rows * in;
    for (size_t j = 0; j < total && c->n[layer] < c->max_values; ++j) c->v[layer][c->n[layer]++] = fabsf(X[j]);
}

static int gb_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

double gb_calib_quantile(gb_calib *c, int layer, double quantile) {
    size_t n = c->n[layer];
    if (n == 0) return 0.0;
    qsort(c->v[layer], n, sizeof(float), gb_cmp_float);
    double pos = quantile * (double)(n - 1);
    size_t k = (size_t)ceil(pos);
    return (double)c->v[layer][k < n ? k : n - 1];
}
