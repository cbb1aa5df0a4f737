/* Whole-file reading and text copies, shared by the readers, the training
 * configuration and checkpoints. See files.h. */
#define _POSIX_C_SOURCE 200809L
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

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

/* fsync of the folder makes the rename itself durable (a crash of the
 * machine, not only of the process); best effort: some file systems refuse
 * fsync on a folder. */
static void sync_parent_folder(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* GBNET_TEST_SLOW_WRITES=MICROSECONDS (tests only: tests/crash/) sleeps that
 * long after each 4 KiB written and before the rename, so that a test which
 * kills the process lands inside a write often; the bytes and the calls are
 * those of a normal write. */
static long slow_write_delay_us(void) {
    const char *text = getenv("GBNET_TEST_SLOW_WRITES");
    long us = text ? strtol(text, NULL, 10) : 0;
    return us > 0 && us < 1000000 ? us : 0;
}

static void pause_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* Removes PATH.tmp.PID files whose process no longer exists: what a write
 * killed between create and rename left behind (a live writer's, another
 * process writing the same file, is kept). Best effort: errors are ignored. */
static void remove_stale_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    char folder[4200];
    const char *name = slash ? slash + 1 : path;
    if (slash) {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof folder) return;
        memcpy(folder, path, len);
        folder[len ? len : 1] = '\0';
        if (!len) folder[0] = '/';
    } else {
        strcpy(folder, ".");
    }
    size_t name_len = strlen(name);
    DIR *dir = opendir(folder);
    if (!dir) return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *e = entry->d_name;
        if (strncmp(e, name, name_len) != 0 || strncmp(e + name_len, ".tmp.", 5) != 0) continue;
        char *end;
        long pid = strtol(e + name_len + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        char stale[8400];
        int n = snprintf(stale, sizeof stale, "%s/%s", folder, e);
        if (n > 0 && (size_t)n < sizeof stale) remove(stale);
    }
    closedir(dir);
}

gbnet_status gb_write_file_atomically(const char *path, const void *data, size_t size, const char *what) {
    char tmp[4200];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "cannot save %s '%s': path too long", what, path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return gb_fail(GBNET_ERR_IO, "cannot save %s '%s': cannot create '%s': %s", what, path, tmp, strerror(errno));
    long delay = slow_write_delay_us();
    const char *bytes = data;
    int ok = 1;
    for (size_t at = 0; ok && at < size;) {
        size_t chunk = delay ? (size - at < 4096 ? size - at : 4096) : size - at;
        ok = fwrite(bytes + at, 1, chunk, f) == chunk;
        at += chunk;
        if (delay) {
            ok = ok && fflush(f) == 0;
            pause_us(delay);
        }
    }
    ok = ok && fflush(f) == 0;
    ok = ok && fsync(fileno(f)) == 0;
    int err = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return gb_fail(GBNET_ERR_IO, "cannot save %s '%s': writing '%s' failed: %s", what, path, tmp, strerror(err));
    }
    if (delay) pause_us(delay);
    if (rename(tmp, path) != 0) {
        err = errno;
        remove(tmp);
        return gb_fail(GBNET_ERR_IO, "cannot save %s '%s': rename from '%s' failed: %s", what, path, tmp,
                       strerror(err));
    }
    sync_parent_folder(path);
    remove_stale_temporaries(path);
    return GBNET_OK;
}
