/* Quantized dense layers for float evaluation (gbnet compress --quantize;
 * docs/compression.md "Quantization").
 *
 * Modes: bf16 (weights and each dense layer's input rounded to bfloat16,
 * products summed in float) and int8 (weights int8 with one symmetric scale
 * per output channel, inputs int8 with one calibrated scale per layer,
 * products summed exactly in int32, then scaled back to float).
 *
 * The dense layers are numbered 3t + {0: in_w, 1: out1_w, 2: out2_w} for
 * block t and 3T for readout1_w; readout2 (a dot product) stays float.
 * The backward input gradients (ybar W) use the same quantized weights, so
 * they are the straight-through derivative of the quantized forward.
 *
 * Kernels: each has a plain-C reference twin with the same input rounding
 * and the same order of float additions (bf16) or exact integer sums (int8);
 * the AVX512-BF16 / AVX512-VNNI versions are chosen at run time by CPUID. */
#ifndef GB_QUANT_H
#define GB_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "gbnet.h"
#include "schnet.h"

/* Which implementation of the quantized GEMMs runs. */
typedef enum { GB_QISA_REF = 0, GB_QISA_AVX512 = 1, GB_QISA_AMX = 2 } gb_qisa;
/* What this CPU and OS support: AVX512-BF16 (bf16) and AVX512-VNNI (int8); AMX
 * tiles with BF16 / INT8 (asks Linux for the tile state once). */
int gb_cpu_has_avx512_bf16(void);
int gb_cpu_has_avx512_vnni(void);
int gb_cpu_has_amx_bf16(void);
int gb_cpu_has_amx_int8(void);
/* Caps the implementation (tests, benchmarks): at most isa; -1 restores the
 * CPUID choice. Applies to quantized networks created afterwards. */
void gb_quant_force_isa(int isa);
/* The implementation a network of this mode would use now. */
gb_qisa gb_quant_isa(int mode);

/* Round-to-nearest-even float -> bfloat16 bits, subnormals flushed to 0 (the
 * hardware treats bf16 subnormals as 0). Input finite. */
static inline uint16_t gb_bf16_round(float x) {
    union { float f; uint32_t u; } v = {x};
    if ((v.u & 0x7f800000u) == 0) return (uint16_t)((v.u >> 16) & 0x8000u);
    uint32_t r = v.u + 0x7fffu + ((v.u >> 16) & 1u);
    if ((r & 0x7f800000u) == 0) return (uint16_t)((r >> 16) & 0x8000u);
    return (uint16_t)(r >> 16);
}
static inline float gb_bf16_to_float(uint16_t b) {
    union { uint32_t u; float f; } v = {(uint32_t)b << 16};
    return v.f;
}

/* Packed B of the quantized GEMMs, for a matrix M[n][k] (row n = one output):
 * bf16: [ceil(n/16)][kp/2][16][2] (kp = gb_qpack_kp_bf16(k)), 16 outputs side by side,
 *       two consecutive k of each; int8: [ceil(n/16)][kp/4][16][4] (kp = gb_qpack_kp_s8(k)).
 *       Zero padding beyond n and k; kp covers whole AMX tiles. */
int gb_qpack_kp_bf16(int k);              /* k rounded up to 32 */
int gb_qpack_kp_s8(int k);                /* k rounded up to 64 */
size_t gb_qpack_bf16_size(int n, int k);  /* in uint16 */
size_t gb_qpack_s8_size(int n, int k);    /* in int8 */
void gb_qpack_bf16(uint16_t *P, const uint16_t *M, int n, int k);
void gb_qpack_s8(int8_t *P, const int8_t *M, int n, int k);

/* Y[rows][n] (= or +=) sum_k X[i][k] B[n][k] in float: for each output the
 * k-pairs p in order, acc += X[2p+1] B[2p+1], then acc += X[2p] B[2p] (what
 * VDPBF16PS does), subnormal sums flushed to 0.
 * X [rows][kp] bf16 (kp even, zero-padded), P packed from B [n][k]. */
void gb_qgemm_bf16_ref(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate);
void gb_qgemm_bf16_avx512(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate);
/* AMX (TDPBF16PS): X readable for rows rounded up to 16 */
void gb_qgemm_bf16_amx(float *Y, const uint16_t *X, const uint16_t *P, int rows, int kp, int n, int accumulate);
/* Y[rows][n] (= or +=) (float)(sum_k X[i][k] B[n][k] - comp[n]) * (row_scale[i] * col_scale[n]):
 * X [rows][kp] uint8 (the int8 value + 128, kp % 4 == 0, padded with 128), P packed from
 * B [n][k] int8, comp [n] = 128 sum_k B[n][k], row_scale [rows], col_scale [n].
 * The integer sums are exact (|sum| < 2^31 for kp < 65536). */
void gb_qgemm_s8_ref(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                     const float *col_scale, int rows, int kp, int n, int accumulate);
void gb_qgemm_s8_avx512(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                        const float *col_scale, int rows, int kp, int n, int accumulate);
/* AMX (TDPBUSD): X readable for rows rounded up to 16 */
void gb_qgemm_s8_amx(float *Y, const uint8_t *X, const int8_t *P, const int32_t *comp, const float *row_scale,
                     const float *col_scale, int rows, int kp, int n, int accumulate);

/* The dense layer number of the full layer whose weights are at w_offset, or -1
 * (a factored, rank-reduced layer: those stay float). */
int gb_quant_layer_of(const gbnet_model *model, size_t w_offset, int rank);

/* The quantized dense layers of one float network. */
typedef struct gb_qnet gb_qnet;
/* NULL when the model has no quantization record (or out of memory: *status says). */
gb_qnet *gb_qnet_create(const gbnet_model *model, const float *w, gbnet_status *status);
/* Scratch for up to rows rows (call before the dense functions; they do not allocate). */
gbnet_status gb_qnet_reserve(gb_qnet *q, int rows);
void gb_qnet_free(gb_qnet *q);
/* Re-quantizes the weights from the float blob w [layout.total]. */
void gb_qnet_load(gb_qnet *q, const float *w);
size_t gb_qnet_bytes(const gb_qnet *q);
/* Y[rows][out] (= or +=) Q(X[rows][in]) Q(W)^T, then + bias[out] on rows < bias_rows
 * (bias may be NULL). nt: OpenMP threads (fixed 64-row blocks). */
void gb_qdense_forward(gb_qnet *q, int layer, float *Y, const float *X, const float *bias, int rows, int bias_rows,
                       int accumulate, int nt);
/* C[rows][in] (= or +=) Q(A[rows][out]) Q(W) (input gradient of layer). */
void gb_qdense_backward(gb_qnet *q, int layer, float *C, const float *A, int rows, int accumulate, int nt);

/* Calibration: the float network reports each dense layer's input. */
typedef struct gb_calib gb_calib;
gb_calib *gb_calib_create(int n_layers, size_t max_values_per_layer);
void gb_calib_free(gb_calib *c);
void gb_calib_record(gb_calib *c, int layer, const float *X, int rows, int in);
/* The q-th quantile (0 < q <= 1) of |x| recorded at layer (0 if none recorded). */
double gb_calib_quantile(gb_calib *c, int layer, double q);
/* Records while set (NULL: off); f32 network only, GB_PASS_EVALUATE forwards. */
void gb_net_set_calibration_f32(gb_net_f32 *net, gb_calib *c);

#endif
