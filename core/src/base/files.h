/* Whole-file reading and text copies. */
#ifndef GB_FILES_H
#define GB_FILES_H

#include <stddef.h>

#include "gbnet.h"

/* NUL-terminated copy of length bytes of text; NULL (message set) when out of memory. */
char *gb_copy_text(const char *text, size_t length);
/* Reads a whole file into a NUL-terminated heap buffer (GBNET_ERR_IO naming it). */
gbnet_status gb_load_file(const char *path, char **data, size_t *size);

#endif
