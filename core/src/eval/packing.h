/* Packing graphs of different sizes into fixed-capacity packs (a maximum
 * number of atoms and of edges per pack), longest-pack-first histogram
 * packing: structures are taken largest first (by a histogram of sizes, not a
 * sort, so it is O(n + max size)) and put into the pack with the least room
 * left that still fits them (best fit), a new pack opened when none fits. */
#ifndef GB_PACKING_H
#define GB_PACKING_H

#include "gbnet.h"

typedef struct {
    int n_packs;
    int *pack_offsets;   /* [n_packs+1] into items */
    int *items;          /* [n_graphs] graph indices, grouped by pack */
    long long atoms_used, edges_used;   /* sums over all packs */
    int cap_atoms, cap_edges;
} gb_packing;

/* Packs n graphs with sizes atoms[i], edges[i]. A graph larger than a
 * capacity gets a pack of its own (the capacity is then exceeded for that
 * pack, and the caller sizes buffers by the largest pack). p must be
 * zero-initialised or hold an earlier packing (which is replaced); within a
 * pack, items are in increasing graph index. */
gbnet_status gb_pack(gb_packing *p, int n, const int *atoms, const int *edges,
                     int cap_atoms, int cap_edges);
/* Packs with an atom capacity chosen near `requested` rather than exactly
 * at it: capacities from 0.8x to 1.25x the request (never below the largest
 * graph) are tried, the most efficient kept (within 0.25% of the best, the
 * one nearest the request), then trimmed to the fullest pack so that no atom
 * slot goes unused in every pack. Edge capacity: ceil(cap * edge_ratio) + 1,
 * with edge_ratio at least the densest graph's edges per atom, so atoms are
 * the binding limit. p->cap_atoms / p->cap_edges hold the result. */
gbnet_status gb_pack_auto(gb_packing *p, int n, const int *atoms, const int *edges, int requested,
                          double edge_ratio);
/* Fraction of atom slots used: atoms_used / (n_packs * cap_atoms). */
double gb_packing_atom_efficiency(const gb_packing *p);
double gb_packing_edge_efficiency(const gb_packing *p);
void gb_packing_free(gb_packing *p);

#endif
