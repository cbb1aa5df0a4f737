/* Internal error helpers: set the thread-local message and return a code. */
#ifndef GB_ERROR_H
#define GB_ERROR_H

#include "gbnet.h"

#if defined(__GNUC__)
#define GB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GB_PRINTF(a, b)
#endif

/* Formats the message into the thread-local buffer and returns status. */
gbnet_status gb_fail(gbnet_status status, const char *fmt, ...) GB_PRINTF(2, 3);
/* Clears the thread-local message. */
void gb_clear_error(void);

/* Allocation helpers that set GBNET_ERR_NO_MEMORY with a message on failure. */
void *gb_malloc(size_t bytes);
void *gb_calloc(size_t count, size_t size);
/* Grows *buf to hold at least bytes (keeps content); returns 0 on failure. */
int gb_reserve(void **buf, size_t *capacity, size_t bytes);
/* The typed form: grows the array ptr (any T *) to at least count elements,
 * capacity in bytes; returns 0 (message set) on failure:
 *     if (!GB_GROW(ws->dbar, ws->cap_dbar, n_edges)) return GBNET_ERR_NO_MEMORY; */
#define GB_GROW(ptr, cap_bytes, count) gb_grow(&(ptr), &(cap_bytes), (count), sizeof *(ptr))
int gb_grow(void *ptr_address, size_t *capacity, size_t count, size_t elem_size);

#endif
