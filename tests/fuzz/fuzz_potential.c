/* Potential files: load, and evaluate whatever loads on a small molecule in
 * float and double, exact and (when the file has a table) tabulated. Must
 * not crash; evaluation must give GBNET_OK with finite results or an error.
 * Every input is tried twice: as given (the envelope and checksum checks)
 * and with its END! checksum recomputed (the section parsers behind them). */
#include <math.h>

#include "fuzz_common.h"
#include "gbnet.h"
#include "potential_file.h"

static int finite_result(const gbnet_result *r, int n_atoms) {
    if (!isfinite(r->energy)) return 0;
    for (int k = 0; k < 9; ++k)
        if (!isfinite(r->virial[k])) return 0;
    for (int i = 0; i < 3 * n_atoms; ++i)
        if (!isfinite(r->forces[i])) return 0;
    return 1;
}

static void evaluate_all_ways(gbnet_model *model) {
    enum { N = 5 };
    static const double positions[3 * N] = {0.0, 0.0, 0.0, 0.96, 0.0, 0.0, -0.24, 0.93, 0.0,
                                            2.1, 0.3, 0.2, 2.7, -0.5, 0.4};
    int n_elements = gbnet_model_hyperparams(model)->n_elements;
    int species[N];
    for (int i = 0; i < N; ++i) species[i] = i % n_elements;
    gbnet_structure s = {N, species, positions, NULL, {0, 0, 0}};
    for (int pass = 0; pass < 2; ++pass) {
        for (int precision = 0; precision < 2; ++precision) {
            gbnet_workspace *ws = NULL;
            gbnet_status st = gbnet_workspace_create(&ws, model, precision ? GBNET_FLOAT : GBNET_DOUBLE);
            if (st != GBNET_OK) {
                fuzz_check_message(gbnet_last_error());
                continue;
            }
            gbnet_workspace_set_threads(ws, 1);
            double forces[3 * N], atom_energies[N];
            gbnet_result r = {0.0, {0}, atom_energies, forces};
            st = gbnet_evaluate(ws, 1, &s, &r);
            if (st == GBNET_OK && !finite_result(&r, N)) __builtin_trap(); /* a silent wrong number */
            if (st != GBNET_OK) fuzz_check_message(gbnet_last_error());
            gbnet_workspace_free(ws);
        }
        if (!gbnet_model_is_tabulated(model)) break;
        gbnet_model_untabulate(model); /* second pass: the exact filters */
    }
}

static void load_and_evaluate(const char *path) {
    gbnet_model *model = NULL;
    gbnet_status st = gbnet_model_load(&model, path);
    if (st != GBNET_OK) {
        if (model) __builtin_trap();
        fuzz_check_message(gbnet_last_error());
        return;
    }
    evaluate_all_ways(model);
    gbnet_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(0, "potential.gbnet");
    fuzz_write(path, data, size);
    load_and_evaluate(path);
    if (size >= 16 + 24 && memcmp(data + size - 24, "END!", 4) == 0) {
        uint8_t *fixed = malloc(size);
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        uint64_t sum = gb_fnv1a64(fixed, size - 24);
        for (int i = 0; i < 8; ++i) fixed[size - 8 + i] = (uint8_t)(sum >> (8 * i));
        fuzz_write(path, fixed, size);
        free(fixed);
        load_and_evaluate(path);
    }
    return 0;
}
