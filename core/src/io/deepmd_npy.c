/* DeePMD-kit "system" folder reader:
 *   type.raw        one element index per atom (same for all frames)
 *   type_map.raw    element symbols, one per index
 *   nopbc           optional: no periodic box (then no box.npy)
 *   set.XXX/        coord.npy (nf, 3n), box.npy (nf, 9), and optionally
 *                   energy.npy (nf), force.npy (nf, 3n), virial.npy (nf, 9) [eV]
 * Arrays are .npy (format 1/2/3), little-endian float32 or float64, C order.
 * Each set becomes one source "<dir>/set.XXX"; a frame's line is its 1-based
 * row in that set, and its subset is "<system folder name>/set.XXX".
 * A folder without type.raw whose subfolders are systems is read as all of
 * them, in name order. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gbnet_data.h"
#include "dataset_build.h"
#include "escape.h"
#include "gb_error.h"

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *path = gb_malloc(a + b + 2);
    if (!path) return NULL;
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    return path;
}

static int path_exists(const char *path, int want_directory) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return want_directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------------ .npy */

typedef struct {
    int ndim;
    long shape[8];
    size_t count;      /* product of shape */
    int item_size;     /* 4 (float32) or 8 (float64) */
    const unsigned char *data;
} npy_array;

static uint32_t read_le(const unsigned char *p, int bytes) {
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Finds 'key': in the header dict and returns a pointer past the colon. */
static const char *header_field(const char *header, const char *key) {
    char quoted[32];
    for (int q = 0; q < 2; q++) {
        snprintf(quoted, sizeof quoted, "%c%s%c", q ? '"' : '\'', key, q ? '"' : '\'');
        const char *at = strstr(header, quoted);
        if (at) {
            at += strlen(quoted);
            while (*at == ' ') at++;
            if (*at == ':') return at + 1;
        }
    }
    return NULL;
}

static gbnet_status parse_npy(npy_array *array, const char *path, const unsigned char *bytes, size_t size) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || memcmp(bytes, magic, 6) != 0)
        return gb_fail(GBNET_ERR_FORMAT, "%s: expected the .npy magic \\x93NUMPY but found other bytes", path);
    int major = bytes[6];
    size_t header_len, header_start;
    if (major == 1) header_len = read_le(bytes + 8, 2), header_start = 10;
    else if (major == 2 || major == 3) {
        if (size < 12) return gb_fail(GBNET_ERR_FORMAT, "%s: expected a .npy header but found end of file", path);
        header_len = read_le(bytes + 8, 4), header_start = 12;
    } else {
        return gb_fail(GBNET_ERR_FORMAT, "%s: expected .npy format version 1, 2 or 3 but found %d", path, major);
    }
    if (header_start + header_len > size)
        return gb_fail(GBNET_ERR_FORMAT, "%s: expected a .npy header of %zu bytes but found end of file", path,
                       header_len);
    char *header = gb_copy_text((const char *)bytes + header_start, header_len);
    if (!header) return GBNET_ERR_NO_MEMORY;

    gbnet_status status = GBNET_OK;
    char shown[GB_ESCAPE_SIZE];
    const char *descr = header_field(header, "descr");
    const char *fortran = header_field(header, "fortran_order");
    const char *shape = header_field(header, "shape");
    if (descr) while (*descr == ' ') descr++;
    if (fortran) while (*fortran == ' ') fortran++;
    if (shape) while (*shape == ' ') shape++;
    if (!descr || !fortran || !shape || *shape != '(' || strlen(descr) < 5) {
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected a .npy header with descr, fortran_order and shape but found '%s'",
                         path, gb_escape(shown, sizeof shown, bytes + header_start, header_len));
    } else if (strncmp(descr + 1, "<f4", 3) == 0 && (descr[4] == '\'' || descr[4] == '"')) {
        array->item_size = 4;
    } else if (strncmp(descr + 1, "<f8", 3) == 0 && (descr[4] == '\'' || descr[4] == '"')) {
        array->item_size = 8;
    } else {
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected dtype '<f4' or '<f8' but found %s", path,
                         gb_escape(shown, 24, descr, strlen(descr)));
    }
    array->ndim = 0;
    array->count = 1;
    if (status == GBNET_OK) {
        const char *p = shape + 1;
        for (;;) {
            while (*p == ' ' || *p == ',') p++;
            if (*p == ')') break;
            char *stop;
            long n = strtol(p, &stop, 10);
            if (stop == p || n < 0 || array->ndim >= 8) {
                status = gb_fail(GBNET_ERR_FORMAT, "%s: expected a shape of integers but found %s", path,
                                 gb_escape_text(shown, 48, shape));
                break;
            }
            if (n > 0 && array->count > SIZE_MAX / (size_t)n) {
                status = gb_fail(GBNET_ERR_FORMAT, "%s: expected a shape whose size fits in memory but found %s",
                                 path, gb_escape_text(shown, 48, shape));
                break;
            }
            array->shape[array->ndim++] = n;
            array->count *= (size_t)n;
            p = stop;
        }
    }
    if (status == GBNET_OK && strncmp(fortran, "False", 5) != 0 && array->ndim > 1)
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected fortran_order False but found %s", path,
                         gb_escape_text(shown, 16, fortran));
    free(header);
    if (status != GBNET_OK) return status;

    size_t data_start = header_start + header_len;
    if ((size - data_start) / (size_t)array->item_size < array->count)
        return gb_fail(GBNET_ERR_FORMAT, "%s: expected %zu numbers of data but found end of file", path,
                       array->count);
    array->data = bytes + data_start;
    return GBNET_OK;
}

/* Loads an .npy with n_rows rows of row_size numbers as doubles. When
 * n_rows < 0 it is taken from the file (first dimension) and returned. */
static gbnet_status load_npy_rows(double **values, long *n_rows, long row_size, const char *path) {
    *values = NULL;
    char *bytes;
    size_t size;
    gbnet_status status = gb_load_file(path, &bytes, &size);
    if (status != GBNET_OK) return status;
    npy_array array = {0};
    status = parse_npy(&array, path, (const unsigned char *)bytes, size);
    if (status == GBNET_OK) {
        long rows = array.ndim > 0 ? array.shape[0] : 1;
        if (rows < 1 || array.count == 0) {
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected at least one frame but found an empty array", path);
        } else if (*n_rows >= 0 && rows != *n_rows) {
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected %ld frames but found %ld", path, *n_rows, rows);
        } else if (array.count != (size_t)rows * (size_t)row_size) { /* rows <= count <= file size: no overflow */
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected %ld numbers per frame but found %zu in %ld frames",
                             path, row_size, array.count, rows);
        } else {
            *n_rows = rows;
        }
    }
    if (status == GBNET_OK) {
        double *out = gb_malloc(array.count * sizeof(double));
        if (!out) status = GBNET_ERR_NO_MEMORY;
        for (size_t i = 0; out && i < array.count; i++) {
            if (array.item_size == 4) {
                float f;
                memcpy(&f, array.data + 4 * i, 4);
                out[i] = f;
            } else {
                memcpy(&out[i], array.data + 8 * i, 8);
            }
            if (!isfinite(out[i])) { /* the extxyz reader refuses these too */
                status = gb_fail(GBNET_ERR_FORMAT, "%s: expected finite numbers but number %zu (frame %zu) is %s",
                                 path, i, i / (size_t)row_size, isnan(out[i]) ? "NaN" : "infinite");
                free(out);
                out = NULL;
                break;
            }
        }
        *values = out;
    }
    free(bytes);
    return status;
}

/* ------------------------------------------------------------- raw files */

/* type.raw -> element index per atom; type_map.raw -> Z per index; combined
 * into atomic numbers. */
static gbnet_status load_types(int **z_out, int *n_atoms_out, const char *dir) {
    *z_out = NULL;
    char *map_path = join_path(dir, "type_map.raw");
    char *type_path = join_path(dir, "type.raw");
    char *map_text = NULL, *type_text = NULL;
    int map_z[GBNET_MAX_ELEMENTS * 4], n_map = 0;
    int *z = NULL, n_atoms = 0, capacity = 0;
    gbnet_status status = map_path && type_path ? GBNET_OK : GBNET_ERR_NO_MEMORY;
    size_t size;
    if (status == GBNET_OK) status = gb_load_file(map_path, &map_text, &size);
    if (status == GBNET_OK) status = gb_load_file(type_path, &type_text, &size);

    char shown[GB_ESCAPE_SIZE];
    for (char *token = map_text ? strtok(map_text, " \t\r\n") : NULL; status == GBNET_OK && token;
         token = strtok(NULL, " \t\r\n")) {
        int atomic_number = gbnet_atomic_number(token);
        if (atomic_number <= 0)
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected a chemical symbol but found '%s'", map_path,
                            gb_escape_text(shown, 32, token));
        else if (n_map >= (int)(sizeof map_z / sizeof map_z[0]))
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected at most %d elements but found more", map_path, n_map);
        else
            map_z[n_map++] = atomic_number;
    }
    if (status == GBNET_OK && n_map == 0)
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected element symbols but found none", map_path);

    int line = 1;
    for (const char *p = type_text; status == GBNET_OK && p && *p;) {
        if (*p == '\n') line++;
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
            continue;
        }
        char *stop;
        long index = strtol(p, &stop, 10);
        if (stop == p || index < 0 || index >= n_map || (*stop && !strchr(" \t\r\n", *stop))) {
            status = gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a type index in 0..%d but found '%s'", type_path,
                             line, n_map - 1, gb_escape(shown, 32, p, strcspn(p, " \t\r\n")));
            break;
        }
        if (n_atoms == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            int *grown = realloc(z, (size_t)capacity * sizeof(int));
            if (!grown) {
                status = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory reading %s", type_path);
                break;
            }
            z = grown;
        }
        z[n_atoms++] = map_z[index];
        p = stop;
    }
    if (status == GBNET_OK && n_atoms == 0)
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected atom types but found none", type_path);
    free(map_path);
    free(type_path);
    free(map_text);
    free(type_text);
    if (status != GBNET_OK) {
        free(z);
        return status;
    }
    *z_out = z;
    *n_atoms_out = n_atoms;
    return GBNET_OK;
}

/* Sorted names of the entries of dir that start with prefix and are folders
 * (and, with required_file, contain that file). */
static gbnet_status list_subfolders(char ***names_out, int *n_out, const char *dir, const char *prefix,
                                    const char *required_file) {
    *names_out = NULL;
    *n_out = 0;
    DIR *handle = opendir(dir);
    if (!handle) return gb_fail(GBNET_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0;
    gbnet_status status = GBNET_OK;
    struct dirent *entry;
    while (status == GBNET_OK && (entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.' || strncmp(entry->d_name, prefix, strlen(prefix)) != 0) continue;
        char *full = join_path(dir, entry->d_name);
        char *marker = full && required_file ? join_path(full, required_file) : NULL;
        int wanted = full && path_exists(full, 1) && (!required_file || (marker && path_exists(marker, 0)));
        free(full);
        free(marker);
        if (!wanted) continue;
        char **grown = realloc(names, (size_t)(n + 1) * sizeof(char *));
        char *name = grown ? gb_copy_text(entry->d_name, strlen(entry->d_name)) : NULL;
        if (grown) names = grown;
        if (!name) status = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory listing %s", dir);
        else names[n++] = name;
    }
    closedir(handle);
    /* insertion sort: folders hold few sets */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *names_out = names;
    *n_out = n;
    return status;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ------------------------------------------------------------------ sets */

typedef struct {
    double *coord, *box, *energy, *force, *virial;
} set_arrays;

static void set_arrays_free(set_arrays *a) {
    free(a->coord);
    free(a->box);
    free(a->energy);
    free(a->force);
    free(a->virial);
}

/* Loads set_dir/name into *values if the file exists (or must exist). */
static gbnet_status load_set_array(double **values, long *n_frames, long row_size, const char *set_dir,
                                   const char *name, int required) {
    char *path = join_path(set_dir, name);
    if (!path) return GBNET_ERR_NO_MEMORY;
    gbnet_status status = GBNET_OK;
    if (path_exists(path, 0)) status = load_npy_rows(values, n_frames, row_size, path);
    else if (required) status = gb_fail(GBNET_ERR_IO, "cannot open %s: missing from DeePMD set", path);
    free(path);
    return status;
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--; /* ignore trailing slashes */
    const char *end = path + n;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    return start;
}

static gbnet_status read_set(gb_frame_batch *batch, const char *set_dir, const char *subset,
                             const int *z, int n_atoms, int periodic) {
    set_arrays a = {0};
    long n_frames = -1;
    long n3 = 3L * n_atoms;
    gbnet_status status = load_set_array(&a.coord, &n_frames, n3, set_dir, "coord.npy", 1);
    if (status == GBNET_OK && periodic) status = load_set_array(&a.box, &n_frames, 9, set_dir, "box.npy", 1);
    if (status == GBNET_OK) status = load_set_array(&a.energy, &n_frames, 1, set_dir, "energy.npy", 0);
    if (status == GBNET_OK) status = load_set_array(&a.force, &n_frames, n3, set_dir, "force.npy", 0);
    if (status == GBNET_OK) status = load_set_array(&a.virial, &n_frames, 9, set_dir, "virial.npy", 0);
    const char *source = status == GBNET_OK ? gb_frame_batch_add_source(batch, set_dir) : NULL;
    if (status == GBNET_OK && !source) status = GBNET_ERR_NO_MEMORY;

    for (long i = 0; status == GBNET_OK && i < n_frames; i++) {
        gbnet_frame *frame = gb_frame_batch_new_frame(batch);
        if (!frame) {
            status = GBNET_ERR_NO_MEMORY;
            break;
        }
        frame->n_atoms = n_atoms;
        frame->line = (int)i + 1;
        frame->source = source;
        frame->z = gb_malloc((size_t)n_atoms * sizeof(int));
        frame->pos = gb_malloc((size_t)n3 * sizeof(double));
        frame->forces = a.force ? gb_malloc((size_t)n3 * sizeof(double)) : NULL;
        frame->subset = gb_copy_text(subset, strlen(subset));
        if (!frame->z || !frame->pos || (a.force && !frame->forces) || !frame->subset) {
            status = GBNET_ERR_NO_MEMORY;
            break;
        }
        memcpy(frame->z, z, (size_t)n_atoms * sizeof(int));
        memcpy(frame->pos, a.coord + i * n3, (size_t)n3 * sizeof(double));
        if (a.force) memcpy(frame->forces, a.force + i * n3, (size_t)n3 * sizeof(double));
        if (a.box) {
            memcpy(frame->cell, a.box + 9 * i, 9 * sizeof(double));
            frame->has_cell = 1;
        }
        for (int k = 0; k < 3; k++) frame->pbc[k] = periodic;
        if (a.energy) frame->energy = a.energy[i], frame->has_energy = 1;
        if (a.virial) memcpy(frame->virial, a.virial + 9 * i, 9 * sizeof(double)), frame->has_virial = 1;
    }
    set_arrays_free(&a);
    return status;
}

static gbnet_status read_system(gb_frame_batch *batch, const char *dir) {
    int *z = NULL, n_atoms = 0;
    char **sets = NULL;
    int n_sets = 0;
    char *nopbc = join_path(dir, "nopbc");
    if (!nopbc) return GBNET_ERR_NO_MEMORY;
    int periodic = !path_exists(nopbc, 0);
    free(nopbc);
    gbnet_status status = load_types(&z, &n_atoms, dir);
    if (status == GBNET_OK) status = list_subfolders(&sets, &n_sets, dir, "set.", NULL);
    if (status == GBNET_OK && n_sets == 0)
        status = gb_fail(GBNET_ERR_FORMAT, "%s: expected set.* folders but found none", dir);
    for (int s = 0; status == GBNET_OK && s < n_sets; s++) {
        char *set_dir = join_path(dir, sets[s]);
        const char *system_name = base_name(dir);
        size_t name_len = strcspn(system_name, "/");
        char *subset = gb_malloc(name_len + strlen(sets[s]) + 2);
        if (!set_dir || !subset) status = GBNET_ERR_NO_MEMORY;
        else {
            snprintf(subset, name_len + strlen(sets[s]) + 2, "%.*s/%s", (int)name_len, system_name, sets[s]);
            status = read_set(batch, set_dir, subset, z, n_atoms, periodic);
        }
        free(set_dir);
        free(subset);
    }
    free_names(sets, n_sets);
    free(z);
    return status;
}

gbnet_status gbnet_read_deepmd(gbnet_dataset *ds, const char *dir) {
    if (!ds || !dir) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_read_deepmd: NULL argument");
    if (!path_exists(dir, 1)) return gb_fail(GBNET_ERR_IO, "cannot open DeePMD folder %s", dir);
    gb_frame_batch batch = {0};
    gbnet_status status = GBNET_OK;
    char *type_path = join_path(dir, "type.raw");
    if (!type_path) return GBNET_ERR_NO_MEMORY;
    int is_system = path_exists(type_path, 0);
    free(type_path);
    if (is_system) {
        status = read_system(&batch, dir);
    } else {
        char **systems = NULL;
        int n_systems = 0;
        status = list_subfolders(&systems, &n_systems, dir, "", "type.raw");
        if (status == GBNET_OK && n_systems == 0)
            status = gb_fail(GBNET_ERR_FORMAT, "%s: expected a DeePMD system (type.raw) or folders of them but found neither",
                             dir);
        for (int s = 0; status == GBNET_OK && s < n_systems; s++) {
            char *system_dir = join_path(dir, systems[s]);
            status = system_dir ? read_system(&batch, system_dir) : GBNET_ERR_NO_MEMORY;
            free(system_dir);
        }
        free_names(systems, n_systems);
    }
    if (status == GBNET_OK) status = gb_frame_batch_commit(ds, &batch);
    gb_frame_batch_free(&batch);
    return status;
}
