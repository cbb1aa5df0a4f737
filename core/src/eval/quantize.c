/* gbnet_model_quantize: the quantization record (model.h, section QUNT) and
 * its int8 calibration, which runs the float model on the given structures
 * and takes a percentile of |input| at every dense layer (quant.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "model.h"
#include "quant.h"
#include "workspace.h"

/* Values kept per layer for the percentile (the first ones, in structure order). */
#define GB_CALIB_MAX_VALUES ((size_t)1 << 22)

gbnet_quant_mode gbnet_model_quantization(const gbnet_model *m) {
    return m && m->quant ? (gbnet_quant_mode)m->quant->mode : GBNET_QUANT_NONE;
}

const char *gbnet_quant_mode_name(gbnet_quant_mode mode) {
    return mode == GBNET_QUANT_BF16 ? "bf16" : mode == GBNET_QUANT_INT8 ? "int8" : "none";
}

const char *gbnet_quant_kernels(gbnet_quant_mode mode) {
    if (mode != GBNET_QUANT_BF16 && mode != GBNET_QUANT_INT8) return "none";
    gb_qisa isa = gb_quant_isa(mode);
    return isa == GB_QISA_AMX ? "AMX" : isa == GB_QISA_AVX512 ? "AVX-512" : "plain C";
}

double gbnet_model_quant_clip(const gbnet_model *m, int layer) {
    if (!m || !m->quant || layer < 0 || layer >= m->quant->n_layers) return 0.0;
    return m->quant->act_clip[layer];
}

static gbnet_status calibrate(gb_quant_record *rec, const gbnet_model *m, int n, const gbnet_structure *structures,
                              double percentile) {
    gbnet_model *plain = NULL;
    gbnet_status st = gbnet_model_clone(&plain, m);
    if (st) return st;
    free(plain->quant); /* calibrate on the float model's activations */
    plain->quant = NULL;
    gbnet_workspace *ws = NULL;
    int layers = 3 * m->hp.n_blocks + 1;
    gb_calib *c = gb_calib_create(layers, GB_CALIB_MAX_VALUES);
    if (!c) st = gb_fail(GBNET_ERR_NO_MEMORY, "quantize: out of memory for the calibration values");
    if (!st) st = gbnet_workspace_create(&ws, plain, GBNET_FLOAT);
    if (!st) {
        gbnet_workspace_set_threads(ws, 1);
        gb_net_set_calibration_f32(ws->net32, c);
    }
    for (int k = 0; k < n && !st; ++k) {
        gbnet_result r;
        memset(&r, 0, sizeof r);
        st = gbnet_evaluate(ws, 1, &structures[k], &r);
        if (st) {
            char why[1024];
            snprintf(why, sizeof why, "%s", gbnet_last_error());
            st = gb_fail(st, "quantize: calibration structure %d: %s", k, why);
        }
    }
    for (int l = 0; l < layers && !st; ++l) {
        double clip = gb_calib_quantile(c, l, percentile / 100.0);
        /* a layer whose inputs were all 0 keeps a harmless positive clip */
        rec->act_clip[l] = clip >= 1e-15 ? clip : 1.0;
    }
    rec->n_layers = layers;
    if (ws) gb_net_set_calibration_f32(ws->net32, NULL);
    gbnet_workspace_free(ws);
    gb_calib_free(c);
    gbnet_model_free(plain);
    return st;
}

gbnet_status gbnet_model_quantize(gbnet_model *m, gbnet_quant_mode mode, int n, const gbnet_structure *structures,
                                  double percentile) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "quantize: model is NULL");
    if (mode == GBNET_QUANT_NONE) {
        free(m->quant);
        m->quant = NULL;
        return GBNET_OK;
    }
    if (mode != GBNET_QUANT_BF16 && mode != GBNET_QUANT_INT8)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "quantize: unknown mode %d (bf16 or int8)", (int)mode);
    gb_quant_record rec;
    memset(&rec, 0, sizeof rec);
    rec.mode = mode;
    if (mode == GBNET_QUANT_INT8) {
        if (n < 1 || !structures)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "quantize: int8 needs calibration structures (the activation scale of each layer is "
                           "taken from them)");
        if (!(percentile > 50.0 && percentile <= 100.0))
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "quantize: percentile %g is outside (50, 100]", percentile);
        gbnet_status st = calibrate(&rec, m, n, structures, percentile);
        if (st) return st;
    }
    if (!m->quant && !(m->quant = gb_malloc(sizeof *m->quant))) return GBNET_ERR_NO_MEMORY;
    *m->quant = rec;
    gb_model_set_feature_record(m, NULL, 0); /* float evaluation reads other features now */
    return GBNET_OK;
}
