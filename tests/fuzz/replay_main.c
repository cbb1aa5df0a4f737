/* Replays fuzz inputs through a harness without libFuzzer (ctest builds this
 * with the normal compiler): each argument is a file, or a folder whose
 * files are all replayed. Exits 1 if an argument cannot be read; a finding
 * traps inside the harness (fuzz_common.h). */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "replay: cannot open %s\n", path), 0;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return fprintf(stderr, "replay: out of memory reading %s\n", path), 0;
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int files = 0;
    for (int a = 1; a < argc; ++a) {
        struct stat st;
        if (stat(argv[a], &st) != 0) return fprintf(stderr, "replay: no such file %s\n", argv[a]), 1;
        if (!S_ISDIR(st.st_mode)) {
            if (!replay_file(argv[a])) return 1;
            ++files;
            continue;
        }
        DIR *dir = opendir(argv[a]);
        if (!dir) return fprintf(stderr, "replay: cannot open %s\n", argv[a]), 1;
        char **names = NULL;
        int n = 0;
        for (struct dirent *e; (e = readdir(dir));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (size_t)(n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
        closedir(dir);
        qsort(names, (size_t)n, sizeof *names, compare_names);
        for (int i = 0; i < n; ++i) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            if (!replay_file(path)) return 1;
            ++files;
            free(names[i]);
        }
        free(names);
    }
    printf("replay: %d inputs, no finding\n", files);
    return files > 0 ? 0 : 1;
}
