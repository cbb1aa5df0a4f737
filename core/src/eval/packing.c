/* Longest-pack-first histogram packing of graphs into packs of fixed
 * capacity in atoms and in edges.
 *
 * Algorithm
 *   1. Order: a counting pass over atom counts (a histogram, O(n + max size))
 *      lists graphs by decreasing atom count, ties by increasing index, so
 *      the result is deterministic and needs no comparison sort.
 *   2. Best fit: open packs sit in buckets by their remaining atom room
 *      (0..cap_atoms) and a coarse class of their edge room, with bitmaps of
 *      non-empty buckets. A graph of a atoms and e edges goes to the pack
 *      with the least atom room >= a that also has edge room >= e (among
 *      those, the least edge room, then the lowest pack index); a new pack
 *      is opened when none fits. The edge classes only narrow the search:
 *      a pack in a class above e's always fits.
 *   3. Packs that can no longer take any of the graphs still to come (room
 *      below the smallest remaining atom or edge count, from suffix minima)
 *      are closed, which keeps the buckets short.
 *   4. A graph larger than either capacity gets a pack of its own and never
 *      shares it.
 * Large graphs first leaves the small ones to fill the gaps, which is what
 * makes the packs nearly full (the classic first-fit-decreasing argument).
 */
#include "packing.h"

#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"

/* Open packs are filed by (atom room r, edge-room class c): c is the edge
 * room scaled to 0..EDGE_CLASSES-1, monotone, so every pack of a class above
 * class(e) has room for e edges and only class(e) itself needs checking. */
#define EDGE_CLASSES 64

typedef struct {
    int *room_atoms;       /* [n_packs] */
    int *room_edges;       /* [n_packs] */
    int *next, *prev;      /* [n_packs] doubly linked bucket lists, -1 ends */
    int *bucket_head;      /* [cap_atoms+1][EDGE_CLASSES] first pack, or -1 */
    uint64_t *class_mask;  /* [cap_atoms+1] bit c: bucket (r, c) has packs */
    uint64_t *nonempty;    /* [(cap_atoms+1+63)/64] bit r: some bucket (r, .) has packs */
    int cap_atoms, cap_edges;
} pack_buckets;

static int edge_class(const pack_buckets *b, int edge_room) {
    return (int)((long long)edge_room * EDGE_CLASSES / ((long long)b->cap_edges + 1));
}

static int *bucket_of(pack_buckets *b, int pack) {
    return &b->bucket_head[(size_t)b->room_atoms[pack] * EDGE_CLASSES + edge_class(b, b->room_edges[pack])];
}

static void bucket_insert(pack_buckets *b, int pack) {
    int *head = bucket_of(b, pack), r = b->room_atoms[pack];
    b->prev[pack] = -1;
    b->next[pack] = *head;
    if (*head >= 0) b->prev[*head] = pack;
    *head = pack;
    b->class_mask[r] |= (uint64_t)1 << edge_class(b, b->room_edges[pack]);
    b->nonempty[r >> 6] |= (uint64_t)1 << (r & 63);
}

static void bucket_remove(pack_buckets *b, int pack) {
    int *head = bucket_of(b, pack), r = b->room_atoms[pack];
    if (b->prev[pack] >= 0)
        b->next[b->prev[pack]] = b->next[pack];
    else
        *head = b->next[pack];
    if (b->next[pack] >= 0) b->prev[b->next[pack]] = b->prev[pack];
    if (*head < 0) {
        b->class_mask[r] &= ~((uint64_t)1 << edge_class(b, b->room_edges[pack]));
        if (!b->class_mask[r]) b->nonempty[r >> 6] &= ~((uint64_t)1 << (r & 63));
    }
}

/* Smallest r >= from with an open pack, or -1. */
static int next_nonempty(const pack_buckets *b, int from) {
    if (from > b->cap_atoms) return -1;
    int word = from >> 6;
    uint64_t bits = b->nonempty[word] & (~(uint64_t)0 << (from & 63));
    int n_words = (b->cap_atoms >> 6) + 1;
    while (!bits) {
        if (++word >= n_words) return -1;
        bits = b->nonempty[word];
    }
    return (word << 6) + __builtin_ctzll(bits);
}

/* In bucket (r, c): the pack with the least edge room >= e (then the lowest
 * index), or -1. Packs that none of the remaining graphs fit are closed. */
static int best_in_bucket(pack_buckets *b, int r, int c, int e, int min_edges_left) {
    int best = -1;
    for (int p = b->bucket_head[(size_t)r * EDGE_CLASSES + c]; p >= 0;) {
        int following = b->next[p];
        if (b->room_edges[p] < min_edges_left)
            bucket_remove(b, p);
        else if (b->room_edges[p] >= e && (best < 0 || b->room_edges[p] < b->room_edges[best] ||
                                           (b->room_edges[p] == b->room_edges[best] && p < best)))
            best = p;
        p = following;
    }
    return best;
}

/* Best fit for a graph of a atoms and e edges: least atom room, then least
 * edge room; -1 if no open pack fits. */
static int find_best_pack(pack_buckets *b, int a, int e, int min_edges_left) {
    int ce = edge_class(b, e);
    for (int r = next_nonempty(b, a); r >= 0; r = next_nonempty(b, r + 1)) {
        uint64_t mask = b->class_mask[r] & (~(uint64_t)0 << ce);
        if (mask & ((uint64_t)1 << ce)) {  /* same class: only some packs fit */
            int p = best_in_bucket(b, r, ce, e, min_edges_left);
            if (p >= 0) return p;
            mask = b->class_mask[r] & (~(uint64_t)0 << ce) & ~((uint64_t)1 << ce);
        }
        if (mask) return best_in_bucket(b, r, __builtin_ctzll(mask), e, min_edges_left);
    }
    return -1;
}

/* Graph indices by decreasing atom count, ties by increasing index. */
static gbnet_status order_by_size(int *order, const int *atoms, int n) {
    int max_atoms = 0;
    for (int g = 0; g < n; g++)
        if (atoms[g] > max_atoms) max_atoms = atoms[g];
    int *start = calloc((size_t)max_atoms + 2, sizeof *start);
    if (!start) return gb_fail(GBNET_ERR_NO_MEMORY, "packing: out of memory for a histogram of %d sizes", max_atoms);
    for (int g = 0; g < n; g++) start[max_atoms - atoms[g] + 1]++;  /* slot 0 = largest size */
    for (int s = 0; s <= max_atoms; s++) start[s + 1] += start[s];
    for (int g = 0; g < n; g++) order[start[max_atoms - atoms[g]]++] = g;
    free(start);
    return GBNET_OK;
}

static int is_oversize(int atoms, int edges, int cap_atoms, int cap_edges) {
    return atoms > cap_atoms || edges > cap_edges;
}

/* Assigns every graph a pack (pack_of) by best fit in size order; returns the
 * number of packs through n_packs. */
static gbnet_status assign_packs(int *pack_of, int *n_packs, const int *order, const int *atoms, const int *edges,
                                 int n, int cap_atoms, int cap_edges) {
    pack_buckets b = {0};
    /* suffix minima over the graphs still to place (oversize ones excluded) */
    int *min_atoms_after = malloc(((size_t)n + 1) * sizeof *min_atoms_after);
    int *min_edges_after = malloc(((size_t)n + 1) * sizeof *min_edges_after);
    size_t n_buckets = ((size_t)cap_atoms + 1) * EDGE_CLASSES;
    b.cap_atoms = cap_atoms;
    b.cap_edges = cap_edges;
    b.room_atoms = malloc(((size_t)n + 1) * sizeof *b.room_atoms);
    b.room_edges = malloc(((size_t)n + 1) * sizeof *b.room_edges);
    b.next = malloc(((size_t)n + 1) * sizeof *b.next);
    b.prev = malloc(((size_t)n + 1) * sizeof *b.prev);
    b.bucket_head = malloc(n_buckets * sizeof *b.bucket_head);
    b.class_mask = calloc((size_t)cap_atoms + 1, sizeof *b.class_mask);
    b.nonempty = calloc(((size_t)cap_atoms >> 6) + 1, sizeof *b.nonempty);
    gbnet_status st = GBNET_OK;
    if (!min_atoms_after || !min_edges_after || !b.room_atoms || !b.room_edges || !b.next || !b.prev ||
        !b.bucket_head || !b.class_mask || !b.nonempty) {
        st = gb_fail(GBNET_ERR_NO_MEMORY, "packing: out of memory for %d graphs", n);
        goto done;
    }
    for (size_t q = 0; q < n_buckets; q++) b.bucket_head[q] = -1;
    min_atoms_after[n] = cap_atoms + 1;
    min_edges_after[n] = cap_edges + 1;
    for (int k = n - 1; k >= 0; k--) {
        int g = order[k];
        min_atoms_after[k] = min_atoms_after[k + 1];
        min_edges_after[k] = min_edges_after[k + 1];
        if (is_oversize(atoms[g], edges[g], cap_atoms, cap_edges)) continue;
        if (atoms[g] < min_atoms_after[k]) min_atoms_after[k] = atoms[g];
        if (edges[g] < min_edges_after[k]) min_edges_after[k] = edges[g];
    }

    int packs = 0;
    for (int k = 0; k < n; k++) {
        int g = order[k], a = atoms[g], e = edges[g];
        if (is_oversize(a, e, cap_atoms, cap_edges)) {
            pack_of[g] = packs++;
            continue;
        }
        int best = find_best_pack(&b, a, e, min_edges_after[k]);
        if (best >= 0) {
            bucket_remove(&b, best);
        } else {
            best = packs++;
            b.room_atoms[best] = cap_atoms;
            b.room_edges[best] = cap_edges;
        }
        pack_of[g] = best;
        b.room_atoms[best] -= a;
        b.room_edges[best] -= e;
        if (b.room_atoms[best] >= min_atoms_after[k + 1] && b.room_edges[best] >= min_edges_after[k + 1])
            bucket_insert(&b, best);
    }
    *n_packs = packs;
done:
    free(min_atoms_after);
    free(min_edges_after);
    free(b.room_atoms);
    free(b.room_edges);
    free(b.next);
    free(b.prev);
    free(b.bucket_head);
    free(b.class_mask);
    free(b.nonempty);
    return st;
}

gbnet_status gb_pack(gb_packing *p, int n, const int *atoms, const int *edges, int cap_atoms, int cap_edges) {
    if (n < 0) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "packing: negative graph count %d", n);
    if (cap_atoms <= 0 || cap_edges <= 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "packing: capacities must be positive, got %d atoms and %d edges",
                       cap_atoms, cap_edges);
    if (n > 0 && (!atoms || !edges)) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "packing: graph sizes are NULL");
    long long atoms_used = 0, edges_used = 0;
    for (int g = 0; g < n; g++) {
        if (atoms[g] < 0 || edges[g] < 0)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "packing: graph %d has a negative size (%d atoms, %d edges)", g,
                           atoms[g], edges[g]);
        atoms_used += atoms[g];
        edges_used += edges[g];
    }
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    int *pack_of = malloc(((size_t)n + 1) * sizeof *pack_of);
    int *offsets = NULL, *items = NULL;
    int n_packs = 0;
    gbnet_status st = GBNET_OK;
    if (!order || !pack_of) {
        st = gb_fail(GBNET_ERR_NO_MEMORY, "packing: out of memory for %d graphs", n);
        goto fail;
    }
    if ((st = order_by_size(order, atoms, n))) goto fail;
    if ((st = assign_packs(pack_of, &n_packs, order, atoms, edges, n, cap_atoms, cap_edges))) goto fail;

    /* group by pack, graphs ascending by index within a pack */
    offsets = calloc((size_t)n_packs + 1, sizeof *offsets);
    items = malloc(((size_t)n + 1) * sizeof *items);
    if (!offsets || !items) {
        st = gb_fail(GBNET_ERR_NO_MEMORY, "packing: out of memory for %d packs", n_packs);
        goto fail;
    }
    for (int g = 0; g < n; g++) offsets[pack_of[g] + 1]++;
    for (int q = 0; q < n_packs; q++) offsets[q + 1] += offsets[q];
    for (int g = 0; g < n; g++) items[offsets[pack_of[g]]++] = g;
    for (int q = n_packs; q > 0; q--) offsets[q] = offsets[q - 1];
    offsets[0] = 0;

    free(p->pack_offsets);
    free(p->items);
    p->n_packs = n_packs;
    p->pack_offsets = offsets;
    p->items = items;
    p->atoms_used = atoms_used;
    p->edges_used = edges_used;
    p->cap_atoms = cap_atoms;
    p->cap_edges = cap_edges;
    free(order);
    free(pack_of);
    return GBNET_OK;
fail:
    free(order);
    free(pack_of);
    free(offsets);
    free(items);
    return st;
}

double gb_packing_atom_efficiency(const gb_packing *p) {
    if (p->n_packs <= 0) return 0.0;
    return (double)p->atoms_used / ((double)p->n_packs * p->cap_atoms);
}

double gb_packing_edge_efficiency(const gb_packing *p) {
    if (p->n_packs <= 0) return 0.0;
    return (double)p->edges_used / ((double)p->n_packs * p->cap_edges);
}

void gb_packing_free(gb_packing *p) {
    if (!p) return;
    free(p->pack_offsets);
    free(p->items);
    memset(p, 0, sizeof *p);
}

gbnet_status gb_pack_auto(gb_packing *p, int n, const int *atoms, const int *edges, int requested,
                          double edge_ratio) {
    int max_atoms = 1;
    for (int i = 0; i < n; ++i)
        if (atoms[i] > max_atoms) max_atoms = atoms[i];
    if (requested < max_atoms) requested = max_atoms;
    int lo = (int)(0.8 * requested), hi = (int)(1.25 * requested);
    if (lo < max_atoms) lo = max_atoms;
    if (hi < lo) hi = lo;
    /* Every capacity tried holds all graphs in one pack, which the trim below
     * would cut to their total: the same packing without the ~230 tries (a
     * single small structure, e.g. every gbnet_evaluate of a molecule, spent
     * milliseconds there, found by fuzzing) */
    long long total = 0;
    for (int i = 0; i < n; ++i) total += atoms[i];
    if (total <= lo) {
        int cap = total > max_atoms ? (int)total : max_atoms;
        return gb_pack(p, n, atoms, edges, cap, (int)ceil(cap * edge_ratio) + 1);
    }
    int stride = (hi - lo) / 256 + 1, chosen = -1;
    double best = -1.0;
    double *eff = malloc(((size_t)(hi - lo) / stride + 1) * sizeof *eff);
    if (!eff) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory choosing the pack capacity");
    gbnet_status st = GBNET_OK;
    for (int c = lo, k = 0; c <= hi && !st; c += stride, ++k) {
        st = gb_pack(p, n, atoms, edges, c, (int)ceil(c * edge_ratio) + 1);
        eff[k] = st ? 0.0 : gb_packing_atom_efficiency(p);
        if (eff[k] > best) best = eff[k];
    }
    for (int c = lo, k = 0; c <= hi && !st; c += stride, ++k)
        if (eff[k] >= best - 0.0025 && (chosen < 0 || abs(c - requested) < abs(chosen - requested))) chosen = c;
    free(eff);
    if (!st) st = gb_pack(p, n, atoms, edges, chosen, (int)ceil(chosen * edge_ratio) + 1);
    if (st) return st;
    /* no slack: the capacity is the fullest pack's atom count */
    int fullest = max_atoms;
    for (int k = 0; k < p->n_packs; ++k) {
        int used = 0;
        for (int q = p->pack_offsets[k]; q < p->pack_offsets[k + 1]; ++q) used += atoms[p->items[q]];
        if (used > fullest) fullest = used;
    }
    if (fullest < chosen) chosen = fullest;
    return gb_pack(p, n, atoms, edges, chosen, (int)ceil(chosen * edge_ratio) + 1);
}
