/* Checking structures and graphs against what the training data covered
 * (gbnet_coverage, section COVR of the potential file). */
#include <math.h>
#include <string.h>

#include "coverage.h"
#include "gb_error.h"
#include "model.h"
#include "neighbor.h"

static void report_start(gbnet_coverage_report *r) {
    memset(r, 0, sizeof *r);
    r->closest_ratio = 1.0;
    r->closest_atom = r->closest_neighbor = -1;
}

/* edges of centers [0, n_centers): offsets [n_centers+1], neighbor, vec [n_edges][3] */
static void check_edges(const gbnet_coverage *c, int n_centers, const int *species, const int *offsets,
                        const int *neighbor, const double *vec, double margin, gbnet_coverage_report *r) {
    /* (1e-9: not outside by the last bit of a training frame's own distance) */
    double limit = (1.0 - margin) * (1.0 - 1e-9);
    r->atoms_checked += n_centers;
    for (int i = 0; i < n_centers; ++i) {
        int close = 0, a = species[i];
        for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
            const double *v = vec + 3 * (size_t)e;
            double d = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            double shortest = c->shortest_distance[a][species[neighbor[e]]];
            double ratio = shortest > 0.0 ? d / shortest : 0.0;
            if (ratio < limit) {
                r->pairs_too_close++;
                close = 1;
            }
            if (ratio < r->closest_ratio) {
                r->closest_ratio = ratio;
                r->closest_atom = i;
                r->closest_neighbor = neighbor[e];
            }
        }
        r->atoms_too_close += close;
    }
}

static void check_volume(const gbnet_coverage *c, double volume_per_atom, gbnet_coverage_report *r) {
    if (!(volume_per_atom > 0.0) || c->n_periodic == 0) return;
    r->volume_checked = 1;
    r->volume_per_atom = volume_per_atom;
    /* within a relative 1e-4 counts as inside: a training box written to a
     * LAMMPS data file with fewer digits is not "outside" by its rounding */
    r->volume_outside = volume_per_atom < c->volume_per_atom_min * (1.0 - 1e-4) ||
                        volume_per_atom > c->volume_per_atom_max * (1.0 + 1e-4);
}

static gbnet_status need_record(const gbnet_model *m, double margin) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "coverage check: NULL model");
    if (!(margin >= 0.0 && margin < 1.0))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "coverage check: distance margin %g, expected 0 <= margin < 1", margin);
    if (!m->coverage)
        return gb_fail(GBNET_ERR_UNSUPPORTED,
                       "coverage check: the potential holds no record of its training data (section COVR; written by "
                       "gbnet train since the repulsive core and coverage were added): retrain to get one");
    return GBNET_OK;
}

gbnet_status gbnet_coverage_check_graph(const gbnet_model *m, const gbnet_graph *g, double volume_per_atom,
                                        double margin, gbnet_coverage_report *r) {
    gbnet_status st = need_record(m, margin);
    if (st) return st;
    if (!g || !r) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_coverage_check_graph: NULL argument");
    report_start(r);
    for (int i = 0; i < g->n_total; ++i)
        if (g->species[i] < 0 || g->species[i] >= m->hp.n_elements)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "coverage check: atom %d has element index %d, not in the model",
                           i, g->species[i]);
    if (g->n_local > 0) check_edges(m->coverage, g->n_local, g->species, g->edge_offsets, g->edge_neighbor,
                                    g->edge_vector, margin, r);
    check_volume(m->coverage, volume_per_atom, r);
    return GBNET_OK;
}

static double cell_volume(const double *c) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

gbnet_status gbnet_coverage_check(const gbnet_model *m, const gbnet_structure *s, double margin,
                                  gbnet_coverage_report *r) {
    gbnet_status st = need_record(m, margin);
    if (st) return st;
    if (!s || !r || s->n_atoms < 0 || (s->n_atoms > 0 && (!s->species || !s->positions)))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_coverage_check: invalid arguments");
    for (int i = 0; i < s->n_atoms; ++i)
        if (s->species[i] < 0 || s->species[i] >= m->hp.n_elements)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "coverage check: atom %d has element index %d, not in the model",
                           i, s->species[i]);
    if ((s->pbc[0] || s->pbc[1] || s->pbc[2]) && !s->cell)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "coverage check: periodic but no cell given");
    report_start(r);
    gb_neighbor_list nl;
    memset(&nl, 0, sizeof nl);
    st = gb_neighbor_build(&nl, s->positions, s->n_atoms, s->cell, s->pbc, m->hp.cutoff);
    if (!st) check_edges(m->coverage, s->n_atoms, s->species, nl.offsets, nl.neighbor, nl.vec, margin, r);
    gb_neighbor_free(&nl);
    if (!st && s->cell && s->pbc[0] && s->pbc[1] && s->pbc[2] && s->n_atoms > 0)
        check_volume(m->coverage, cell_volume(s->cell) / s->n_atoms, r);
    return st;
}

/* ------------------------------------------------------------ recording */

void gb_coverage_add(gbnet_coverage *c, int n_atoms, const int *species, const int *offsets, const int *neighbor,
                     const double *vec, const double *cell) {
    c->n_frames++;
    for (int i = 0; i < n_atoms; ++i)
        for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
            const double *v = vec + 3 * (size_t)e;
            double dist = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            int a = species[i], b = species[neighbor[e]];
            if (c->shortest_distance[a][b] == 0.0 || dist < c->shortest_distance[a][b])
                c->shortest_distance[a][b] = c->shortest_distance[b][a] = dist;
        }
    if (cell && n_atoms > 0) {
        double v = cell_volume(cell) / n_atoms;
        if (c->n_periodic == 0 || v < c->volume_per_atom_min) c->volume_per_atom_min = v;
        if (c->n_periodic == 0 || v > c->volume_per_atom_max) c->volume_per_atom_max = v;
        c->n_periodic++;
    }
}

gbnet_status gbnet_coverage_measure(const gbnet_model *m, int n, const gbnet_structure *structures,
                                    gbnet_coverage *out) {
    if (!m || !out || n < 0 || (n > 0 && !structures))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_coverage_measure: invalid arguments");
    memset(out, 0, sizeof *out);
    gb_neighbor_list nl;
    memset(&nl, 0, sizeof nl);
    gbnet_status st = GBNET_OK;
    for (int k = 0; k < n && !st; ++k) {
        const gbnet_structure *s = &structures[k];
        if (s->n_atoms < 0 || (s->n_atoms > 0 && (!s->species || !s->positions)))
            st = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_coverage_measure: structure %d is not well formed", k);
        for (int i = 0; i < s->n_atoms && !st; ++i)
            if (s->species[i] < 0 || s->species[i] >= m->hp.n_elements)
                st = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d: atom %d has element index %d, not in the model",
                             k, i, s->species[i]);
        if (!st && (s->pbc[0] || s->pbc[1] || s->pbc[2]) && !s->cell)
            st = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d: periodic but no cell given", k);
        if (!st) st = gb_neighbor_build(&nl, s->positions, s->n_atoms, s->cell, s->pbc, m->hp.cutoff);
        if (!st) {
            int periodic = s->cell && s->pbc[0] && s->pbc[1] && s->pbc[2];
            gb_coverage_add(out, s->n_atoms, s->species, nl.offsets, nl.neighbor, nl.vec, periodic ? s->cell : NULL);
        }
    }
    gb_neighbor_free(&nl);
    return st;
}
