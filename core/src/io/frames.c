/* Frames as a model sees them: element mapping and metadata filters
 * (gbnet_data.h). */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "gb_error.h"
#include "gbnet_data.h"

gbnet_status gbnet_frame_species(int *species, const gbnet_frame *frame, const gbnet_hyperparams *hp) {
    for (int i = 0; i < frame->n_atoms; ++i) {
        int found = -1;
        for (int e = 0; e < hp->n_elements && found < 0; ++e)
            if (hp->atomic_numbers[e] == frame->z[i]) found = e;
        if (found < 0) {
            char elements[4 * GBNET_MAX_ELEMENTS + 1];
            gbnet_format_elements(elements, sizeof elements, hp);
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "%s:%d: atom %d of this frame is %s (Z=%d), an element the model does not have (model "
                           "elements: %s)",
                           frame->source ? frame->source : "?", frame->line, i + 1,
                           gbnet_element_symbol(frame->z[i]), frame->z[i], elements);
        }
        species[i] = found;
    }
    return GBNET_OK;
}

int gbnet_frame_matches(const gbnet_frame *frame, const char *key, const char *pattern) {
    const char *value = gbnet_frame_info(frame, key);
    return value && fnmatch(pattern, value, 0) == 0;
}
