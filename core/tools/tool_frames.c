/* Element mapping and metadata filters for dataset frames. */
#include "tool_frames.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "gb_error.h"

void gb_format_elements(char *text, size_t size, const gbnet_hyperparams *hp) {
    size_t used = 0;
    text[0] = '\0';
    for (int e = 0; e < hp->n_elements && used < size; ++e) {
        int n = snprintf(text + used, size - used, "%s%s", e ? " " : "", gbnet_element_symbol(hp->atomic_numbers[e]));
        if (n < 0) break;
        used += (size_t)n;
    }
}

gbnet_status gb_frame_species(int *species, const gb_frame *frame, const gbnet_hyperparams *hp) {
    for (int i = 0; i < frame->n_atoms; ++i) {
        int found = -1;
        for (int e = 0; e < hp->n_elements && found < 0; ++e)
            if (hp->atomic_numbers[e] == frame->z[i]) found = e;
        if (found < 0) {
            char elements[4 * GBNET_MAX_ELEMENTS + 1];
            gb_format_elements(elements, sizeof elements, hp);
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

int gb_frame_matches(const gb_frame *frame, const char *key, const char *pattern) {
    const char *value = gb_frame_info(frame, key);
    return value && fnmatch(pattern, value, 0) == 0;
}
