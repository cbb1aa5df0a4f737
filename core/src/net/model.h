/* The model: hyperparameters, normalization and one parameter blob with a
 * pointer table (offsets). Gradients and optimizer state use the same layout. */
#ifndef GB_MODEL_H
#define GB_MODEL_H

#include "gbnet.h"

/* Offsets (in numbers) of every tensor in the parameter blob. Weights are
 * stored [out][in] row-major (like torch.nn.Linear.weight). Order in the blob:
 *   embedding [n_elements][F]
 *   per block t: filter1_w [F][K], filter1_b [F], filter2_w [F][F], filter2_b [F],
 *                in_w [F][F], out1_w [F][F], out1_b [F], out2_w [F][F], out2_b [F]
 *   readout1_w [R][F], readout1_b [R], readout2_w [1][R], readout2_b [1]
 * A factored dense layer (ranks.X > 0, gbnet_ranks) holds A [out][r] at X_w
 * and B [r][in] right after it at X_wb, where the full W would be.          */
typedef struct {
    size_t embedding;
    struct {
        size_t filter1_w, filter1_b, filter2_w, filter2_b;
        size_t in_w, out1_w, out1_b, out2_w, out2_b;
        size_t in_wb, out1_wb, out2_wb; /* B factors; 0 for full layers */
    } block[GBNET_MAX_BLOCKS];
    size_t readout1_w, readout1_b, readout2_w, readout2_b;
    size_t readout1_wb;
    gbnet_ranks ranks; /* 0: full */
    size_t total;
} gb_layout;

/* One dense layer Y = X W^T: W (or A) at w, B at wb, rank 0 when full. */
typedef struct {
    size_t w, wb;
    int rank, out, in;
} gb_dense;

/* The dense layer of a kind (block t; ignored for the readout). */
static inline gb_dense gb_layout_dense(const gb_layout *L, const gbnet_hyperparams *hp, gbnet_dense_kind kind,
                                       int t) {
    gb_dense d;
    int F = hp->n_features;
    d.out = d.in = F;
    switch (kind) {
    case GBNET_DENSE_IN: d.w = L->block[t].in_w; d.wb = L->block[t].in_wb; d.rank = L->ranks.in[t]; break;
    case GBNET_DENSE_OUT1: d.w = L->block[t].out1_w; d.wb = L->block[t].out1_wb; d.rank = L->ranks.out1[t]; break;
    case GBNET_DENSE_OUT2: d.w = L->block[t].out2_w; d.wb = L->block[t].out2_wb; d.rank = L->ranks.out2[t]; break;
    default:
        d.w = L->readout1_w; d.wb = L->readout1_wb; d.rank = L->ranks.readout; d.out = hp->readout_width; break;
    }
    return d;
}

/* Tabulated filters (gbnet compress): per block, W(d) and dW/dd on a uniform
 * grid of n_points in [0, rc]; evaluated by cubic Hermite interpolation, so the
 * filter is C1 in d. NULL when the model is exact. */
typedef struct {
    int n_points;          /* grid points, spacing rc/(n_points-1) */
    double *values;        /* [T][n_points][F] W_t(d_p) (cutoff included) */
    double *derivs;        /* [T][n_points][F] dW_t/dd at d_p */
} gb_filter_table;

/* Quantized dense layers (gbnet compress --quantize, section QUNT; quant.h).
 * Float evaluation uses them; double evaluation and training ignore them. */
#define GB_QUANT_MAX_LAYERS (3 * GBNET_MAX_BLOCKS + 1)
typedef struct {
    int mode;         /* GBNET_QUANT_BF16 or GBNET_QUANT_INT8 */
    int n_layers;     /* int8: 3T+1 activation scales; bf16: 0 */
    double act_clip[GB_QUANT_MAX_LAYERS]; /* int8: |x| mapped to 127 at dense layer l's input (> 0) */
} gb_quant_record;

/* The readout-input ranges (gbnet_feature_ranges, section FRNG) and the
 * weights they were measured on (gb_params_hash), so that a record outliving
 * a change of the network is never used. */
typedef struct {
    gbnet_feature_ranges ranges; /* min, max point into data */
    uint64_t params_hash;
    double *data;                /* [2][n_elements][n_features]: min, then max */
} gb_feature_record;

struct gbnet_model {
    gbnet_hyperparams hp;
    gb_layout layout;
    double *params;          /* [layout.total] */
    double energy_scale;     /* sigma */
    double energy_shift;     /* mu */
    double e_ref[GBNET_MAX_ELEMENTS];
    char *provenance;        /* NUL-terminated, heap */
    gb_filter_table *table;  /* NULL unless tabulated */
    struct gb_zbl_s *zbl;    /* repulsive core (zbl.h), NULL when off */
    gbnet_coverage *coverage; /* what the training data covered, NULL if unknown */
    gb_quant_record *quant;   /* quantized dense layers, NULL when float */
    gb_feature_record *features; /* readout-input ranges, NULL if unknown */
};

/* FNV-1a of the parameter blob's little-endian bytes (what PARM holds). */
uint64_t gb_params_hash(const gbnet_model *m);
/* Sets a copy of ranges (checked) with the given weight hash. */
gbnet_status gb_model_set_feature_record(gbnet_model *m, const gbnet_feature_ranges *ranges, uint64_t params_hash);
/* The record when it belongs to the model's present weights and size, else NULL. */
const gbnet_feature_ranges *gb_model_current_features(const gbnet_model *m);

/* Computes the layout for hp; returns the total number of parameters. */
size_t gb_layout_compute(gb_layout *layout, const gbnet_hyperparams *hp);
/* The same with factored dense layers (ranks NULL: all full; checked by gb_ranks_check). */
size_t gb_layout_compute_ranked(gb_layout *layout, const gbnet_hyperparams *hp, const gbnet_ranks *ranks);
/* Every rank 0 (full) or in 1..min(out,in)-1; else an error naming the layer
 * ("rank of block 2 out1 is 200, valid: 1..127, or 0 for full"). */
gbnet_status gb_ranks_check(const gbnet_ranks *ranks, const gbnet_hyperparams *hp);
/* Checks hyperparameters; returns GBNET_OK or an error with a message. */
gbnet_status gb_hyperparams_check(const gbnet_hyperparams *hp);
/* The size and element-count ranges of gb_hyperparams_check, on values read
 * from a file before their int conversion (same messages). */
gbnet_status gb_hyperparams_check_sizes(long long n_features, long long n_blocks, long long n_rbf,
                                        long long readout_width, long long n_elements);
/* 1..118, or "element INDEX has invalid atomic number Z". */
gbnet_status gb_atomic_number_check(int element_index, long long z);
/* Allocates a model with zeroed parameters for hp (checked). */
gbnet_status gb_model_alloc(gbnet_model **out, const gbnet_hyperparams *hp);
/* The same with factored dense layers (ranks NULL: all full; checked). */
gbnet_status gb_model_alloc_ranked(gbnet_model **out, const gbnet_hyperparams *hp, const gbnet_ranks *ranks);
/* Name of a dense kind ("in", "out1", "out2", "readout"). */
const char *gb_dense_name(gbnet_dense_kind kind);
/* Fills parameters with a deterministic random initialisation. */
void gb_model_init_params(gbnet_model *m, uint64_t seed);

#endif
