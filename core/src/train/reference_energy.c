/* Reference energies for `gbnet init --reference`: the trainer's least-squares
 * fit (gb_fit_normalization), with checks that name the file and element. */
#include "gbnet_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "normalization.h"

gbnet_status gbnet_fit_reference_energies(gbnet_reference_fit *fit, const gbnet_dataset *ds, const gbnet_hyperparams *hp) {
    const int n = hp->n_elements;
    memset(fit, 0, sizeof *fit);
    long long occurrences[GBNET_MAX_ELEMENTS] = {0};
    int max_atoms = 0;
    for (int f = 0; f < ds->n_frames; ++f)
        if (ds->frames[f].n_atoms > max_atoms) max_atoms = ds->frames[f].n_atoms;
    int *species = malloc(((size_t)max_atoms + 1) * sizeof(int));
    double(*counts)[GBNET_MAX_ELEMENTS] = calloc((size_t)ds->n_frames + 1, sizeof *counts);
    if (!species || !counts) {
        free(species);
        free(counts);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory fitting reference energies");
    }
    gbnet_status status = GBNET_OK;
    for (int f = 0; f < ds->n_frames && !status; ++f) {
        const gbnet_frame *frame = &ds->frames[f];
        if (!frame->has_energy || frame->n_atoms == 0) continue;
        status = gbnet_frame_species(species, frame, hp);
        if (status) break;
        for (int i = 0; i < frame->n_atoms; ++i) counts[f][species[i]] += 1.0;
        for (int e = 0; e < n; ++e) {
            occurrences[e] += (long long)counts[f][e];
        }
        fit->n_frames++;
    }
    if (!status && fit->n_frames == 0)
        status = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "no frame with an energy label: cannot fit reference energies");
    for (int e = 0; e < n && !status; ++e)
        if (occurrences[e] == 0)
            status = gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                             "element %s occurs in no frame with an energy: its reference energy cannot be fitted "
                             "(remove it from --elements or add data containing it)",
                             gbnet_element_symbol(hp->atomic_numbers[e]));
    if (!status) {
        /* the trainer's fit (gb_fit_normalization), so init and train agree on
         * the references, also where the compositions leave them undetermined */
        int element_of_z[119];
        for (int z = 0; z < 119; ++z) element_of_z[z] = -1;
        for (int e = 0; e < n; ++e) element_of_z[hp->atomic_numbers[e]] = e;
        int *idx = malloc(((size_t)ds->n_frames + 1) * sizeof(int));
        if (!idx) status = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory fitting reference energies");
        gb_normalization norm;
        if (!status) {
            for (int f = 0; f < ds->n_frames; ++f) idx[f] = f;
            status = gb_fit_normalization(&norm, ds->frames, idx, ds->n_frames, element_of_z, n);
        }
        free(idx);
        if (!status) {
            memcpy(fit->e_ref, norm.e_ref, sizeof fit->e_ref);
            fit->rank_deficient = norm.rank < n;
        }
    }
    if (!status) {
        /* two passes (mean, then spread) so a large shift cannot swamp the spread */
        double sum = 0.0, sum_sq = 0.0;
        for (int pass = 0; pass < 2; ++pass) {
            for (int f = 0; f < ds->n_frames; ++f) {
                const gbnet_frame *frame = &ds->frames[f];
                if (!frame->has_energy || frame->n_atoms == 0) continue;
                double predicted = 0.0;
                for (int e = 0; e < n; ++e) predicted += counts[f][e] * fit->e_ref[e];
                double residual = (frame->energy - predicted) / frame->n_atoms;
                if (pass == 0) sum += residual;
                else sum_sq += (residual - fit->shift) * (residual - fit->shift);
            }
            if (pass == 0) fit->shift = sum / fit->n_frames;
        }
        fit->scale = sqrt(sum_sq / fit->n_frames);
        /* A scale that is zero or at rounding level would make every
         * prediction the reference energy; fall back to 1 eV/atom. */
        if (fit->n_frames < 2 || !(fit->scale > 1e-9 * (fabs(fit->shift) + 1.0))) {
            fit->scale = 1.0;
            fit->scale_defaulted = 1;
        }
        if (!isfinite(fit->shift) || !isfinite(fit->scale))
            status = gb_fail(GBNET_ERR_NUMERIC, "reference energy fit gave a non-finite shift or scale");
    }
    free(species);
    free(counts);
    return status;
}
