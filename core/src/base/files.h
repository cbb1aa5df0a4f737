/* Whole-file reading and text copies. */
#ifndef GB_FILES_H
#define GB_FILES_H

#include <stddef.h>

#include "gbnet.h"

/* NUL-terminated copy of length bytes of text; NULL (message set) when out of memory. */
char *gb_copy_text(const char *text, size_t length);
/* Reads a whole file into a NUL-terminated heap buffer (GBNET_ERR_IO naming it). */
gbnet_status gb_load_file(const char *path, char **data, size_t *size);

/* Replaces path with data[0..size) so that a kill or crash at any moment
 * leaves either the old file or the new one, complete: writes path.tmp.PID
 * in the same folder, fsyncs it, renames it over path, fsyncs the folder.
 * what names the file in messages ("checkpoint", "potential file"). */
gbnet_status gb_write_file_atomically(const char *path, const void *data, size_t size, const char *what);

#endif
