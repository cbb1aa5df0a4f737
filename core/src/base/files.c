/* Whole-file reading and text copies, shared by the readers, the training
 * configuration and checkpoints. See files.h. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"

char *gb_copy_text(const char *text, size_t length) {
    char *copy = gb_malloc(length + 1);
    if (!copy) return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

gbnet_status gb_load_file(const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return gb_fail(GBNET_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *buffer = NULL;
    size_t capacity = 0, used = 0;
    for (;;) {
        if (!gb_reserve((void **)&buffer, &capacity, used + (1u << 20) + 1)) {
            fclose(file);
            free(buffer);
            return GBNET_ERR_NO_MEMORY;
        }
        size_t got = fread(buffer + used, 1, capacity - used - 1, file);
        used += got;
        if (got == 0) break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(buffer);
        return gb_fail(GBNET_ERR_IO, "cannot read %s", path);
    }
    buffer[used] = '\0';
    *data = buffer;
    *size = used;
    return GBNET_OK;
}
