/* Internals of the .gbnet potential file shared with tests and tools
 * (gbnet_model_load / gbnet_model_save are the public entry points). */
#ifndef GB_POTENTIAL_FILE_H
#define GB_POTENTIAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The format version this library reads and writes (docs/potential-format.md). */

/* FNV-1a 64-bit hash of n bytes: the file's checksum. FNV-1a("a") = 0xaf63dc4c8601ec8c. */
uint64_t gb_fnv1a64(const void *data, size_t n);

#ifdef __cplusplus
}
#endif

#endif
