/* Dataset frames as the gbnet commands use them: element mapping onto a
 * model and metadata filters. */
#ifndef GB_TOOL_FRAMES_H
#define GB_TOOL_FRAMES_H

#include "dataset.h"
#include "gbnet.h"

/* species[i] = model element index of atom i of frame. Fails (INVALID_ARGUMENT,
 * message "FILE:LINE: ...") naming the element when the model lacks it. */
gbnet_status gb_frame_species(int *species /* [frame->n_atoms] */, const gb_frame *frame,
                              const gbnet_hyperparams *hp);

/* Space-separated element symbols of hp in model order, e.g. "O H". */
void gb_format_elements(char *text, size_t size, const gbnet_hyperparams *hp);

/* Whether frame's metadata value of key matches pattern (shell wildcards as
 * in fnmatch(3), e.g. "data_3*"). Frames without the key never match. */
int gb_frame_matches(const gb_frame *frame, const char *key, const char *pattern);

#endif
