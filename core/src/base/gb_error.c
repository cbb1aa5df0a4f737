/* Thread-local error messages and checked allocation. */
#include "gb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_message[2048];

const char *gbnet_last_error(void) { return g_message; }

void gb_clear_error(void) { g_message[0] = '\0'; }

gbnet_status gb_fail(gbnet_status status, const char *fmt, ...) {
    /* format into a scratch buffer first: an argument may be gbnet_last_error()
     * itself (adding context to a lower-level message) */
    char formatted[sizeof g_message];
    va_list args;
    va_start(args, fmt);
    vsnprintf(formatted, sizeof formatted, fmt, args);
    va_end(args);
    memcpy(g_message, formatted, sizeof g_message);
    return status;
}

const char *gbnet_status_name(gbnet_status status) {
    switch (status) {
    case GBNET_OK: return "ok";
    case GBNET_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GBNET_ERR_NO_MEMORY: return "out of memory";
    case GBNET_ERR_IO: return "I/O error";
    case GBNET_ERR_FORMAT: return "format error";
    case GBNET_ERR_VERSION: return "unsupported version";
    case GBNET_ERR_CHECKSUM: return "checksum mismatch";
    case GBNET_ERR_NUMERIC: return "numerical error";
    case GBNET_ERR_UNSUPPORTED: return "unsupported";
    case GBNET_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *gbnet_version(void) { return GBNET_VERSION_STRING; }

void *gb_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) gb_fail(GBNET_ERR_NO_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *gb_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) gb_fail(GBNET_ERR_NO_MEMORY, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

int gb_grow(void *ptr_address, size_t *capacity, size_t count, size_t elem_size) {
    void *p; /* the caller's T * through its object representation (no aliasing of T ** as void **) */
    memcpy(&p, ptr_address, sizeof p);
    if (count > (size_t)-1 / (elem_size ? elem_size : 1)) {
        gb_fail(GBNET_ERR_NO_MEMORY, "out of memory: %zu elements of %zu bytes", count, elem_size);
        return 0;
    }
    if (!gb_reserve(&p, capacity, count * elem_size)) return 0;
    memcpy(ptr_address, &p, sizeof p);
    return 1;
}

int gb_reserve(void **buf, size_t *capacity, size_t bytes) {
    if (bytes <= *capacity && *buf) return 1;
    size_t grown = *capacity + *capacity / 2;  /* grow by 1.5x so repeated small growth stays cheap */
    if (grown < bytes) grown = bytes;
    void *p = realloc(*buf, grown ? grown : 1);
    if (!p) {
        gb_fail(GBNET_ERR_NO_MEMORY, "out of memory growing a buffer to %zu bytes", grown);
        return 0;
    }
    *buf = p;
    *capacity = grown;
    return 1;
}
