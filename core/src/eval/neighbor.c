/* Neighbor lists by cell lists in fractional coordinates.
 *
 * Algorithm
 *   1. Fractional coordinates f = r . cell^-1 (a molecule uses the identity
 *      "cell", so f = r). Along a periodic direction each atom is wrapped
 *      into [0, 1): f' = f - k with an integer image k, remembered per atom.
 *   2. Bins: along direction d the cell's perpendicular height is
 *      h_d = V / |a_{d+1} x a_{d+2}|, and two atoms closer than rc differ by
 *      less than rc / h_d in f_d. Periodic directions get nb_d = floor(h_d/rc)
 *      bins (at least 1); open directions bin the atoms' fractional extent the
 *      same way. Every bin is then at least rc wide perpendicular to its
 *      faces, except when the cell itself is thinner than rc (nb_d = 1).
 *   3. Search: a center in bin b looks at "extended" bins b + t,
 *      |t| <= m_d = ceil(rc * nb_d / h_d) (1 for wide cells; more when the
 *      cell is thinner than rc, so several images of one atom, itself
 *      included, are found). Extended bin e is bin e mod nb_d of image
 *      floor(e / nb_d); distinct e are distinct (bin, image) pairs, so no
 *      pair is found twice. The total bin count is capped near the atom count
 *      (bins widened) so sparse or huge boxes stay O(N) in memory.
 *   4. Each candidate is screened with the wrapped coordinates, then its
 *      vector is recomputed from the caller's original coordinates:
 *      vec = r_j - r_i + S.cell with S = t_image + k_i - k_j, so S is the
 *      shift relative to the positions as given and forces / virials derived
 *      from vec agree with them.
 *   5. Each thread (OpenMP, for large systems) takes a contiguous range of
 *      centers, finds their edges and sorts each center's by an integer key
 *      that orders like (neighbor, shift), into its own buffer; after a
 *      prefix sum of the counts each buffer is copied to its place in the
 *      CSR arrays. The result does not depend on the number of threads.
 */
#include "neighbor.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gb_error.h"

/* Relative slack on the bin width and on the screening radius, so rounding in
 * fractional coordinates can never hide a pair; the final test is exact. */
#define BIN_SLACK 1e-9
/* |f| beyond this means an atom absurdly far outside its cell (int images). */
#define MAX_IMAGE 1e8
/* Below this many atoms the build runs on one thread. */
#define PARALLEL_MIN_ATOMS 4096

typedef struct {
    uint64_t key;   /* sorts like (neighbor, shift) for one center */
    int neighbor;
    int shift[3];
    double vec[3];
} edge_record;

/* One thread's edges for its contiguous range of centers, in output order. */
typedef struct {
    edge_record *records;
    size_t capacity, used;  /* in records */
    int first, last;        /* centers [first, last) */
    int failed;             /* out of memory */
} thread_edges;

struct gb_neighbor_scratch {
    int *image;            /* [n][3] k: wrapped position = r - k.cell */
    int *bin_of;           /* [n] linear bin index of each atom */
    int *bin_start;        /* [n_bins+1] CSR of atoms per bin */
    int *bin_atoms;        /* [n] atom indices grouped by bin, ascending */
    double *bin_pos;       /* [n][3] wrapped positions in bin_atoms order */
    double *wrapped;       /* [n][3] wrapped positions by atom */
    double *frac;          /* [n][3] fractional coordinates (wrapped where periodic) */
    thread_edges *threads; /* [n_thread_slots] */
    int n_thread_slots;
    size_t image_bytes, bin_of_bytes, bin_start_bytes, bin_atoms_bytes;
    size_t bin_pos_bytes, wrapped_bytes, frac_bytes;
};

/* Everything a center's search needs, read-only during the passes. */
typedef struct {
    const double *pos;        /* [n][3] original positions */
    double cell[9];           /* rows = lattice vectors (identity for molecules) */
    int periodic[3];
    int n_bins[3];
    int reach[3];             /* m_d: extended-bin offsets searched each side */
    int image_range[3];       /* 2 m_d + 3: the images a center can see per direction */
    double cut2, screen2;     /* exact and slightly enlarged squared cutoffs */
    const struct gb_neighbor_scratch *s;
} search_ctx;

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Sorts by key: insertion sort for short runs, quicksort (median of three)
 * above; a center has tens to hundreds of edges. */
static void sort_records(edge_record *r, int count) {
    while (count > 24) {
        int mid = count / 2, last = count - 1;
        edge_record t;
#define SWAP(x, y) (t = r[x], r[x] = r[y], r[y] = t)
        if (r[mid].key < r[0].key) SWAP(mid, 0);
        if (r[last].key < r[0].key) SWAP(last, 0);
        if (r[last].key < r[mid].key) SWAP(last, mid);
        uint64_t pivot = r[mid].key;
        int lo = 0, hi = last;
        while (lo <= hi) {
            while (r[lo].key < pivot) lo++;
            while (r[hi].key > pivot) hi--;
            if (lo <= hi) {
                SWAP(lo, hi);
                lo++;
                hi--;
            }
        }
#undef SWAP
        /* recurse into the smaller part, loop on the larger */
        if (hi + 1 < count - lo) {
            sort_records(r, hi + 1);
            r += lo;
            count -= lo;
        } else {
            sort_records(r + lo, count - lo);
            count = hi + 1;
        }
    }
    for (int a = 1; a < count; a++) {
        edge_record key = r[a];
        int b = a - 1;
        while (b >= 0 && r[b].key > key.key) {
            r[b + 1] = r[b];
            b--;
        }
        r[b + 1] = key;
    }
}

/* Room for extra more records; 0 when out of memory (no message: this may
 * run on a worker thread). */
static int grow_thread_edges(thread_edges *t, size_t extra) {
    if (t->used + extra <= t->capacity) return 1;
    size_t cap = t->capacity + t->capacity / 2;
    if (cap < t->used + extra) cap = t->used + extra;
    if (cap < 256) cap = 256;
    edge_record *p = realloc(t->records, cap * sizeof *p);
    if (!p) return 0;
    t->records = p;
    t->capacity = cap;
    return 1;
}

/* Appends the neighbors of center i to out (unsorted); returns their number,
 * or -1 when out of memory. */
static int search_center(const search_ctx *c, int i, thread_edges *out) {
    const struct gb_neighbor_scratch *s = c->s;
    const double *cell = c->cell;
    const double *wi = s->wrapped + 3 * (size_t)i;
    const double *ri = c->pos + 3 * (size_t)i;
    const int *ki = s->image + 3 * (size_t)i;
    int nb0 = c->n_bins[0], nb1 = c->n_bins[1], nb2 = c->n_bins[2];
    int home = s->bin_of[i];
    int hb[3] = {home / (nb1 * nb2), (home / nb2) % nb1, home % nb2};
    int count = 0;

    for (int t0 = -c->reach[0]; t0 <= c->reach[0]; t0++) {
        int e0 = hb[0] + t0;
        if (!c->periodic[0] && (e0 < 0 || e0 >= nb0)) continue;
        int img0 = floor_div(e0, nb0), b0 = e0 - img0 * nb0;
        for (int t1 = -c->reach[1]; t1 <= c->reach[1]; t1++) {
            int e1 = hb[1] + t1;
            if (!c->periodic[1] && (e1 < 0 || e1 >= nb1)) continue;
            int img1 = floor_div(e1, nb1), b1 = e1 - img1 * nb1;
            for (int t2 = -c->reach[2]; t2 <= c->reach[2]; t2++) {
                int e2 = hb[2] + t2;
                if (!c->periodic[2] && (e2 < 0 || e2 >= nb2)) continue;
                int img2 = floor_div(e2, nb2), b2 = e2 - img2 * nb2;
                /* offset from the center to the image frame, in wrapped coordinates */
                double off[3];
                for (int d = 0; d < 3; d++)
                    off[d] = img0 * cell[d] + img1 * cell[3 + d] + img2 * cell[6 + d] - wi[d];
                int bin = (b0 * nb1 + b1) * nb2 + b2;
                int same_image = img0 == 0 && img1 == 0 && img2 == 0;
                /* images in lexicographic order, offset to be non-negative */
                uint64_t image_code = ((uint64_t)(img0 + c->reach[0] + 1) * (uint64_t)c->image_range[1] +
                                       (uint64_t)(img1 + c->reach[1] + 1)) * (uint64_t)c->image_range[2] +
                                      (uint64_t)(img2 + c->reach[2] + 1);
                uint64_t n_codes = (uint64_t)c->image_range[0] * c->image_range[1] * c->image_range[2];
                if (!grow_thread_edges(out, (size_t)(s->bin_start[bin + 1] - s->bin_start[bin]))) return -1;
                for (int a = s->bin_start[bin]; a < s->bin_start[bin + 1]; a++) {
                    const double *wj = s->bin_pos + 3 * (size_t)a;
                    double dx = wj[0] + off[0], dy = wj[1] + off[1], dz = wj[2] + off[2];
                    if (dx * dx + dy * dy + dz * dz >= c->screen2) continue;
                    int j = s->bin_atoms[a];
                    if (j == i && same_image) continue;
                    const int *kj = s->image + 3 * (size_t)j;
                    int S[3] = {img0 + ki[0] - kj[0], img1 + ki[1] - kj[1], img2 + ki[2] - kj[2]};
                    const double *rj = c->pos + 3 * (size_t)j;
                    double v[3];
                    for (int d = 0; d < 3; d++)
                        v[d] = rj[d] - ri[d] + (S[0] * cell[d] + S[1] * cell[3 + d] + S[2] * cell[6 + d]);
                    if (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] >= c->cut2) continue;
                    /* for fixed i and j, S = image + k_i - k_j orders like the image */
                    edge_record *e = &out->records[out->used++];
                    e->key = (uint64_t)j * n_codes + image_code;
                    e->neighbor = j;
                    memcpy(e->shift, S, sizeof S);
                    memcpy(e->vec, v, sizeof v);
                    count++;
                }
            }
        }
    }
    return count;
}

static int reserve(void **buf, size_t *bytes_cap, size_t count, size_t elem) {
    return gb_reserve(buf, bytes_cap, (count ? count : 1) * elem);
}

/* Grows the list's own arrays (capacities counted in atoms and edges). */
static gbnet_status reserve_list(gb_neighbor_list *nl, int n, int n_edges) {
    if ((size_t)n > nl->cap_atoms || !nl->offsets) {
        size_t cap = nl->cap_atoms + nl->cap_atoms / 2;
        if (cap < (size_t)n) cap = (size_t)n;
        int *p = realloc(nl->offsets, (cap + 1) * sizeof *p);
        if (!p) return gb_fail(GBNET_ERR_NO_MEMORY, "neighbor list: out of memory for %d atoms", n);
        nl->offsets = p;
        nl->cap_atoms = cap;
    }
    if ((size_t)n_edges > nl->cap_edges || !nl->neighbor) {
        size_t cap = nl->cap_edges + nl->cap_edges / 2;
        if (cap < (size_t)n_edges) cap = (size_t)n_edges;
        if (cap == 0) cap = 1;
        int *nb = realloc(nl->neighbor, cap * sizeof *nb);
        if (nb) nl->neighbor = nb;
        int *sh = nb ? realloc(nl->shift, cap * 3 * sizeof *sh) : NULL;
        if (sh) nl->shift = sh;
        double *v = sh ? realloc(nl->vec, cap * 3 * sizeof *v) : NULL;
        if (!v) return gb_fail(GBNET_ERR_NO_MEMORY, "neighbor list: out of memory for %d edges", n_edges);
        nl->vec = v;
        nl->cap_edges = cap;
    }
    return GBNET_OK;
}

/* Inverse of a 3x3 row-major matrix; returns the determinant. */
static double invert3(double inv[9], const double m[9]) {
    double c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6];
    double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
    if (det == 0.0) return 0.0;
    double r = 1.0 / det;
    inv[0] = c00 * r;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) * r;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) * r;
    inv[3] = c01 * r;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) * r;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) * r;
    inv[6] = c02 * r;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) * r;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) * r;
    return det;
}

static double norm3(const double *v) { return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

static void cross3(double out[3], const double *a, const double *b) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Validates the input and sets up the frame: the effective cell, its
 * inverse, periodic flags and perpendicular heights. */
static gbnet_status setup_frame(search_ctx *c, double inv[9], double height[3], const double *pos, int n,
                                const double *cell, const int pbc[3], double cutoff) {
    if (n < 0) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: negative atom count %d", n);
    if (!(cutoff > 0.0) || !isfinite(cutoff))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: cutoff must be a positive number, got %g", cutoff);
    if (n > 0 && !pos) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: positions are NULL");
    int any_periodic = 0;
    for (int d = 0; d < 3; d++) {
        c->periodic[d] = pbc && pbc[d] ? 1 : 0;
        any_periodic |= c->periodic[d];
    }
    if (any_periodic && !cell)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: periodic boundaries requested without a cell");
    for (size_t a = 0; a < 3 * (size_t)n; a++)
        if (!isfinite(pos[a]))
            return gb_fail(GBNET_ERR_NUMERIC, "neighbor list: coordinate %zu of atom %zu is not finite", a % 3,
                           a / 3);
    if (!any_periodic) {  /* molecule: open boundaries in Cartesian coordinates */
        static const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        memcpy(c->cell, identity, sizeof identity);
        memcpy(inv, identity, sizeof identity);
        height[0] = height[1] = height[2] = 1.0;
        return GBNET_OK;
    }
    for (int a = 0; a < 9; a++)
        if (!isfinite(cell[a])) return gb_fail(GBNET_ERR_NUMERIC, "neighbor list: cell entry %d is not finite", a);
    memcpy(c->cell, cell, sizeof c->cell);
    double det = invert3(inv, cell);
    double scale = norm3(cell) * norm3(cell + 3) * norm3(cell + 6);
    if (!(fabs(det) > 1e-10 * scale))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: the cell is singular (volume %g)", det);
    for (int d = 0; d < 3; d++) {
        double x[3];
        cross3(x, cell + 3 * ((d + 1) % 3), cell + 3 * ((d + 2) % 3));
        height[d] = fabs(det) / norm3(x);
    }
    return GBNET_OK;
}

static gbnet_status reserve_scratch(struct gb_neighbor_scratch *s, int n, size_t n_bins) {
    size_t un = (size_t)n;
    if (!reserve((void **)&s->image, &s->image_bytes, 3 * un, sizeof(int)) ||
        !reserve((void **)&s->bin_of, &s->bin_of_bytes, un, sizeof(int)) ||
        !reserve((void **)&s->bin_start, &s->bin_start_bytes, n_bins + 1, sizeof(int)) ||
        !reserve((void **)&s->bin_atoms, &s->bin_atoms_bytes, un, sizeof(int)) ||
        !reserve((void **)&s->bin_pos, &s->bin_pos_bytes, 3 * un, sizeof(double)) ||
        !reserve((void **)&s->wrapped, &s->wrapped_bytes, 3 * un, sizeof(double)) ||
        !reserve((void **)&s->frac, &s->frac_bytes, 3 * un, sizeof(double)))
        return GBNET_ERR_NO_MEMORY;  /* gb_reserve set the message */
    return GBNET_OK;
}

/* Fractional coordinates, wrapped into [0,1) along periodic directions with
 * the integer image remembered. */
static gbnet_status wrap_atoms(struct gb_neighbor_scratch *s, const search_ctx *c, const double inv[9],
                               const double *pos, int n) {
    for (int i = 0; i < n; i++) {
        const double *r = pos + 3 * (size_t)i;
        double *f = s->frac + 3 * (size_t)i;
        int *k = s->image + 3 * (size_t)i;
        for (int d = 0; d < 3; d++) {
            f[d] = r[0] * inv[d] + r[1] * inv[3 + d] + r[2] * inv[6 + d];
            k[d] = 0;
            if (!c->periodic[d]) continue;
            double fl = floor(f[d]);
            if (fabs(fl) > MAX_IMAGE)
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                               "neighbor list: atom %d lies %g cells outside the cell along lattice vector %d", i,
                               fl, d);
            f[d] -= fl;
            k[d] = (int)fl;
            if (f[d] >= 1.0) {  /* -tiny - floor(-tiny) rounds to 1 */
                f[d] -= 1.0;
                k[d] += 1;
            }
        }
        double *w = s->wrapped + 3 * (size_t)i;
        for (int d = 0; d < 3; d++)
            w[d] = r[d] - (k[0] * c->cell[d] + k[1] * c->cell[3 + d] + k[2] * c->cell[6 + d]);
    }
    return GBNET_OK;
}

/* Chooses bins per direction: lo/width map a fractional coordinate to a bin. */
static void choose_bins(search_ctx *c, double lo[3], double width[3], const struct gb_neighbor_scratch *s,
                        const double height[3], int n, double cutoff) {
    double bin_cut = cutoff * (1.0 + BIN_SLACK);
    for (int d = 0; d < 3; d++) {
        double extent = 1.0;
        lo[d] = 0.0;
        if (!c->periodic[d]) {
            double fmin = INFINITY, fmax = -INFINITY;
            for (int i = 0; i < n; i++) {
                double f = s->frac[3 * (size_t)i + d];
                if (f < fmin) fmin = f;
                if (f > fmax) fmax = f;
            }
            if (n == 0) fmin = fmax = 0.0;
            lo[d] = fmin;
            extent = fmax - fmin;
        }
        double bins = floor(extent * height[d] / bin_cut);
        if (bins > 1 << 20) bins = 1 << 20;
        c->n_bins[d] = bins < 1 ? 1 : (int)bins;
    }
    /* cap the bin count near the atom count: widening bins is always safe */
    double limit = 2.0 * n + 8.0;
    while ((double)c->n_bins[0] * c->n_bins[1] * c->n_bins[2] > limit) {
        int d = 0;
        for (int e = 1; e < 3; e++)
            if (c->n_bins[e] > c->n_bins[d]) d = e;
        c->n_bins[d] = (c->n_bins[d] + 1) / 2;
    }
    for (int d = 0; d < 3; d++) {
        if (c->periodic[d]) {
            width[d] = 1.0 / c->n_bins[d];
            c->reach[d] = (int)ceil(bin_cut * c->n_bins[d] / height[d]);
        } else {
            double extent = 0.0;
            for (int i = 0; i < n; i++) {
                double f = s->frac[3 * (size_t)i + d] - lo[d];
                if (f > extent) extent = f;
            }
            width[d] = c->n_bins[d] > 1 ? extent / c->n_bins[d] : 1.0;
            c->reach[d] = c->n_bins[d] > 1 ? 1 : 0;
        }
    }
}

/* Counting sort of atoms into bins (ascending atom index within a bin). */
static void fill_bins(struct gb_neighbor_scratch *s, const search_ctx *c, const double lo[3],
                      const double width[3], int n) {
    int n_bins = c->n_bins[0] * c->n_bins[1] * c->n_bins[2];
    memset(s->bin_start, 0, ((size_t)n_bins + 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        int b[3];
        for (int d = 0; d < 3; d++) {
            double x = floor((s->frac[3 * (size_t)i + d] - lo[d]) / width[d]);
            b[d] = x < 0 ? 0 : x >= c->n_bins[d] ? c->n_bins[d] - 1 : (int)x;
        }
        int bin = (b[0] * c->n_bins[1] + b[1]) * c->n_bins[2] + b[2];
        s->bin_of[i] = bin;
        s->bin_start[bin + 1]++;
    }
    for (int b = 0; b < n_bins; b++) s->bin_start[b + 1] += s->bin_start[b];
    /* bin_start[b] runs as the fill cursor of bin b, then is shifted back */
    for (int i = 0; i < n; i++) {
        int a = s->bin_start[s->bin_of[i]]++;
        s->bin_atoms[a] = i;
    }
    for (int b = n_bins; b > 0; b--) s->bin_start[b] = s->bin_start[b - 1];
    s->bin_start[0] = 0;
    for (int a = 0; a < n; a++) memcpy(s->bin_pos + 3 * (size_t)a, s->wrapped + 3 * (size_t)s->bin_atoms[a], 3 * sizeof(double));
}

/* One edge buffer per thread the build may use. */
static gbnet_status reserve_threads(struct gb_neighbor_scratch *s, int n) {
    int want = 1;
#ifdef _OPENMP
    if (n >= PARALLEL_MIN_ATOMS) want = omp_get_max_threads();
#else
    (void)n;
#endif
    if (want > s->n_thread_slots) {
        thread_edges *t = realloc(s->threads, (size_t)want * sizeof *t);
        if (!t) return gb_fail(GBNET_ERR_NO_MEMORY, "neighbor list: out of memory for %d threads", want);
        memset(t + s->n_thread_slots, 0, (size_t)(want - s->n_thread_slots) * sizeof *t);
        s->threads = t;
        s->n_thread_slots = want;
    }
    return GBNET_OK;
}

gbnet_status gb_neighbor_build(gb_neighbor_list *nl, const double *pos, int n, const double *cell,
                               const int pbc[3], double cutoff) {
    search_ctx c;
    double inv[9] = {0}, height[3] = {0}, lo[3] = {0}, width[3] = {0};
    memset(&c, 0, sizeof c);
    gbnet_status st = setup_frame(&c, inv, height, pos, n, cell, pbc, cutoff);
    if (st) return st;
    if (!nl->scratch) {
        nl->scratch = calloc(1, sizeof *nl->scratch);
        if (!nl->scratch) return gb_fail(GBNET_ERR_NO_MEMORY, "neighbor list: out of memory");
    }
    struct gb_neighbor_scratch *s = nl->scratch;
    if ((st = reserve_scratch(s, n, 0))) return st;
    if ((st = wrap_atoms(s, &c, inv, pos, n))) return st;
    choose_bins(&c, lo, width, s, height, n, cutoff);
    size_t n_bins = (size_t)c.n_bins[0] * c.n_bins[1] * c.n_bins[2];
    if ((st = reserve_scratch(s, n, n_bins))) return st;
    fill_bins(s, &c, lo, width, n);
    c.pos = pos;
    c.cut2 = cutoff * cutoff;
    c.screen2 = c.cut2 * (1.0 + 4 * BIN_SLACK);
    c.s = s;

    for (int d = 0; d < 3; d++) c.image_range[d] = 2 * c.reach[d] + 3;
    if ((double)c.image_range[0] * c.image_range[1] * c.image_range[2] * ((double)n + 1) > 9e18)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "neighbor list: the cell is far too small for cutoff %g (%d x %d x %d images)", cutoff,
                       c.image_range[0], c.image_range[1], c.image_range[2]);
    if ((st = reserve_list(nl, n, 0))) return st;
    if ((st = reserve_threads(s, n))) return st;
    int *offsets = nl->offsets;
    int n_threads = 1;

    /* pass 1: each thread finds, sorts and keeps the edges of a contiguous
     * range of centers; counts go to offsets[i+1] */
#pragma omp parallel num_threads(s->n_thread_slots) if (n >= PARALLEL_MIN_ATOMS)
    {
        int thread = 0, team = 1;
#ifdef _OPENMP
        thread = omp_get_thread_num();
        team = omp_get_num_threads();
#endif
        if (thread == 0) n_threads = team;
        thread_edges *t = &s->threads[thread];
        t->first = (int)((long long)n * thread / team);
        t->last = (int)((long long)n * (thread + 1) / team);
        t->used = 0;
        t->failed = 0;
        for (int i = t->first; i < t->last && !t->failed; i++) {
            size_t start = t->used;
            int count = search_center(&c, i, t);
            if (count < 0) {
                t->failed = 1;
                break;
            }
            sort_records(t->records + start, count);
            offsets[i + 1] = count;
        }
    }
    long long total = 0;
    for (int t = 0; t < n_threads; t++) {
        if (s->threads[t].failed) return gb_fail(GBNET_ERR_NO_MEMORY, "neighbor list: out of memory for edges");
        total += (long long)s->threads[t].used;
    }
    if (total > 0x7fffffff)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "neighbor list: more than 2^31 edges (cutoff %g too large?)", cutoff);
    offsets[0] = 0;
    for (int i = 0; i < n; i++) offsets[i + 1] += offsets[i];
    if ((st = reserve_list(nl, n, (int)total))) return st;

    /* pass 2: each thread writes its range, already in output order */
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1)
    for (int thread = 0; thread < n_threads; thread++) {
        const thread_edges *t = &s->threads[thread];
        size_t base = (size_t)offsets[t->first];
        for (size_t e = 0; e < t->used; e++) {
            const edge_record *r = &t->records[e];
            nl->neighbor[base + e] = r->neighbor;
            memcpy(nl->shift + 3 * (base + e), r->shift, 3 * sizeof(int));
            memcpy(nl->vec + 3 * (base + e), r->vec, 3 * sizeof(double));
        }
    }
    nl->n_atoms = n;
    nl->n_edges = (int)total;
    return GBNET_OK;
}

void gb_neighbor_free(gb_neighbor_list *nl) {
    if (!nl) return;
    free(nl->offsets);
    free(nl->neighbor);
    free(nl->shift);
    free(nl->vec);
    if (nl->scratch) {
        struct gb_neighbor_scratch *s = nl->scratch;
        free(s->image);
        free(s->bin_of);
        free(s->bin_start);
        free(s->bin_atoms);
        free(s->bin_pos);
        free(s->wrapped);
        free(s->frac);
        for (int t = 0; t < s->n_thread_slots; t++) free(s->threads[t].records);
        free(s->threads);
        free(s);
    }
    memset(nl, 0, sizeof *nl);
}
