/* Committee evaluation: one neighbor list, packing and graph for all members,
 * and one set of the graph's in-edge lists, edge lengths and table cells
 * (built by member 0's forward, read by the others: gb_ws_share_graph);
 * every pack (or graph) runs through each member's network in member order,
 * and the mean and the spread are formed in that fixed order, so results do
 * not depend on the thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "committee.h"
#include "forces.h"
#include "gb_error.h"
#include "model.h"
#include "workspace.h"
#include "zbl.h"

struct gbnet_committee_workspace {
    const gbnet_committee *committee;
    int n_members;
    int output;                    /* -1: the mean; else that member's results */
    gbnet_workspace **members;     /* [n_members]; member 0's also holds lists, packing, graph */
    double *energies;              /* [M][n_graphs of a pack] */
    double *atom_energies;         /* [M][n_atoms] of a pack (or graph: n_local) */
    double *forces;                /* [M][n_atoms][3] */
    double *virials;               /* [M][9] */
    double *atom_virials;          /* [M][n_atoms][9] (graphs, when asked) */
    double *deviation_rows;        /* [n_atoms] per-atom force deviations of a pack */
    double *mean_dbar;             /* [n_edges] the members' mean dE/dd of a graph's edges */
    size_t cap_energies, cap_atom_energies, cap_forces, cap_virials, cap_atom_virials, cap_deviation_rows,
        cap_mean_dbar;
    int shared_core;               /* every member has member 0's repulsive core (or none) */
};

static gbnet_status grow(double **p, size_t *cap, size_t n) {
    return GB_GROW(*p, *cap, n + 1) ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

gbnet_status gbnet_committee_workspace_create(gbnet_committee_workspace **out, const gbnet_committee *c,
                                              gbnet_precision precision) {
    if (!out || !c) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "committee workspace: NULL argument");
    *out = NULL;
    gbnet_committee_workspace *cws = gb_calloc(1, sizeof *cws);
    if (!cws) return GBNET_ERR_NO_MEMORY;
    cws->committee = c;
    cws->n_members = c->n_members;
    cws->output = -1;
    cws->shared_core = 1;
    for (int m = 1; m < c->n_members; ++m) {
        const gb_zbl *z0 = c->members[0]->zbl, *zm = c->members[m]->zbl;
        if ((z0 == NULL) != (zm == NULL) || (z0 && memcmp(z0, zm, sizeof *z0))) cws->shared_core = 0;
    }
    cws->members = gb_calloc((size_t)c->n_members, sizeof *cws->members);
    if (!cws->members) {
        free(cws);
        return GBNET_ERR_NO_MEMORY;
    }
    for (int m = 0; m < c->n_members; ++m) {
        gbnet_status st = gbnet_workspace_create(&cws->members[m], c->members[m], precision);
        if (st) {
            gbnet_committee_workspace_free(cws);
            return st;
        }
    }
    *out = cws;
    return GBNET_OK;
}

void gbnet_committee_workspace_free(gbnet_committee_workspace *cws) {
    if (!cws) return;
    for (int m = 0; m < cws->n_members; ++m) gbnet_workspace_free(cws->members[m]);
    free(cws->members);
    free(cws->energies);
    free(cws->atom_energies);
    free(cws->forces);
    free(cws->virials);
    free(cws->atom_virials);
    free(cws->deviation_rows);
    free(cws->mean_dbar);
    free(cws);
}

void gbnet_committee_workspace_set_threads(gbnet_committee_workspace *cws, int n_threads) {
    for (int m = 0; m < cws->n_members; ++m) gbnet_workspace_set_threads(cws->members[m], n_threads);
}

size_t gbnet_committee_workspace_bytes(const gbnet_committee_workspace *cws) {
    size_t n = cws->cap_energies + cws->cap_atom_energies + cws->cap_forces + cws->cap_virials +
               cws->cap_atom_virials + cws->cap_deviation_rows + cws->cap_mean_dbar;
    for (int m = 0; m < cws->n_members; ++m) n += gbnet_workspace_bytes(cws->members[m]);
    return n;
}

gbnet_status gbnet_committee_workspace_set_output(gbnet_committee_workspace *cws, int member) {
    if (!cws || member < -1 || member >= cws->n_members)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "committee output: member %d is not -1 (the mean) or 0..%d", member,
                       cws ? cws->n_members - 1 : -1);
    cws->output = member;
    return GBNET_OK;
}

/* A member's failure st, its message prefixed with which member (of more than one). */
static gbnet_status member_status(gbnet_status st, int member, int n_members) {
    if (!st || n_members < 2) return st;
    char why[1024];
    snprintf(why, sizeof why, "%s", gbnet_last_error());
    return gb_fail(st, "committee member %d: %s", member, why);
}

/* ------------------------------------------------------------ reductions */

void gbnet_committee_force_deviations(double *deviations, const double *forces, int n_members, int n_atoms,
                                      int stride) {
    for (int i = 0; i < n_atoms; ++i) {
        double mean[3] = {0, 0, 0}, sum_sq = 0.0;
        for (int m = 0; m < n_members; ++m)
            for (int c = 0; c < 3; ++c) mean[c] += forces[3 * ((size_t)m * stride + i) + c];
        for (int c = 0; c < 3; ++c) mean[c] /= n_members;
        for (int m = 0; m < n_members; ++m)
            for (int c = 0; c < 3; ++c) {
                double d = forces[3 * ((size_t)m * stride + i) + c] - mean[c];
                sum_sq += d * d;
            }
        deviations[i] = sqrt(sum_sq / n_members);
    }
}

/* out[k] = mean over members of x[m*stride + k] for k < n (member order), or
 * member `output`'s own values. */
static void member_mean(double *out, const double *x, int n_members, size_t n, size_t stride, int output) {
    if (output >= 0) {
        memcpy(out, x + (size_t)output * stride, n * sizeof(double));
        return;
    }
    for (size_t k = 0; k < n; ++k) {
        double sum = 0.0;
        for (int m = 0; m < n_members; ++m) sum += x[(size_t)m * stride + k];
        out[k] = sum / n_members;
    }
}

/* Population standard deviation of x[m*stride] over members. */
static double member_std(const double *x, int n_members, size_t stride) {
    double mean = 0.0, sum_sq = 0.0;
    for (int m = 0; m < n_members; ++m) mean += x[(size_t)m * stride];
    mean /= n_members;
    for (int m = 0; m < n_members; ++m) sum_sq += (x[(size_t)m * stride] - mean) * (x[(size_t)m * stride] - mean);
    return sqrt(sum_sq / n_members);
}

/* Energy and virial deviations of one structure of n_atoms from energies[m*
 * energy_stride] and virials[m*9 + k]; force deviations from rows[n_atoms]. */
static void fill_deviation(gbnet_committee_deviation *d, int n_members, const double *energies, size_t energy_stride,
                           const double *virials, const double *rows, int n_atoms) {
    double per_atom = n_atoms > 0 ? 1.0 / n_atoms : 0.0;
    d->energy_deviation = member_std(energies, n_members, energy_stride) * per_atom;
    if (d->member_energies)
        for (int m = 0; m < n_members; ++m) d->member_energies[m] = energies[(size_t)m * energy_stride];
    double vmax = 0.0, vmin = INFINITY, vsq = 0.0;
    for (int k = 0; k < 9; ++k) {
        double s = member_std(virials + k, n_members, 9) * per_atom;
        vmax = s > vmax ? s : vmax;
        vmin = s < vmin ? s : vmin;
        vsq += s * s;
    }
    d->virial_deviation_max = vmax;
    d->virial_deviation_min = vmin;
    d->virial_deviation_mean = sqrt(vsq / 9);
    double fmax = 0.0, fmin = n_atoms > 0 ? INFINITY : 0.0, fsum = 0.0;
    for (int i = 0; i < n_atoms; ++i) {
        fmax = rows[i] > fmax ? rows[i] : fmax;
        fmin = rows[i] < fmin ? rows[i] : fmin;
        fsum += rows[i];
    }
    d->force_deviation_max = fmax;
    d->force_deviation_min = fmin;
    d->force_deviation_mean = n_atoms > 0 ? fsum / n_atoms : 0.0;
    if (d->atom_force_deviations) memcpy(d->atom_force_deviations, rows, (size_t)n_atoms * sizeof(double));
}

/* ------------------------------------------------------------ structures */

/* After a committee evaluation, successful or not: no member keeps a share
 * of member 0's graph arrays that its next forward (perhaps on another
 * graph, as one member alone) could take up. */
static void clear_shares(gbnet_committee_workspace *cws) {
    for (int m = 1; m < cws->n_members; ++m) gb_ws_share_graph(cws->members[m], NULL);
}

static gbnet_status evaluate_structures(gbnet_committee_workspace *cws, int n, const gbnet_structure *structures,
                                        gbnet_result *results, gbnet_committee_deviation *deviations);

gbnet_status gbnet_committee_evaluate(gbnet_committee_workspace *cws, int n, const gbnet_structure *structures,
                                      gbnet_result *results, gbnet_committee_deviation *deviations) {
    if (!cws || n < 0 || (n > 0 && (!structures || !results)))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_evaluate: invalid arguments");
    gbnet_status st = evaluate_structures(cws, n, structures, results, deviations);
    clear_shares(cws);
    return st;
}

static gbnet_status evaluate_structures(gbnet_committee_workspace *cws, int n, const gbnet_structure *structures,
                                        gbnet_result *results, gbnet_committee_deviation *deviations) {
    const int M = cws->n_members;
    gbnet_workspace *lead = cws->members[0];
    int *atoms = gb_malloc(2 * (size_t)n * sizeof(int) + 1);
    if (!atoms) return GBNET_ERR_NO_MEMORY;
    int *edges = atoms + n;
    gbnet_status st = gb_ws_pack_structures(lead, n, structures, atoms, edges);
    for (int k = 0; k < lead->packing.n_packs && !st; ++k) {
        int first = lead->packing.pack_offsets[k], last = lead->packing.pack_offsets[k + 1];
        if ((st = gb_ws_fill_pack(lead, k, structures))) break;
        const gb_batch *b = &lead->bb.batch;
        size_t A = (size_t)b->n_atoms, G = (size_t)b->n_graphs;
        if ((st = grow(&cws->energies, &cws->cap_energies, M * G))) break;
        if ((st = grow(&cws->atom_energies, &cws->cap_atom_energies, M * A))) break;
        if ((st = grow(&cws->forces, &cws->cap_forces, 3 * M * A))) break;
        if ((st = grow(&cws->virials, &cws->cap_virials, 9 * (size_t)M))) break;
        if ((st = grow(&cws->deviation_rows, &cws->cap_deviation_rows, A))) break;
        for (int m = 0; m < M && !st; ++m) {
            gbnet_workspace *ws = cws->members[m];
            if (m > 0) gb_ws_share_graph(ws, lead);
            if ((st = gb_ws_evaluate_batch(ws, b))) break;
            memcpy(cws->energies + m * G, ws->graph_energy, G * sizeof(double));
            memcpy(cws->atom_energies + m * A, ws->atom_energy, A * sizeof(double));
            memcpy(cws->forces + 3 * m * A, ws->atom_forces, 3 * A * sizeof(double));
        }
        if (st) break;
        gbnet_committee_force_deviations(cws->deviation_rows, cws->forces, M, (int)A, (int)A);
        int a0 = 0;
        for (int q = first; q < last; ++q) {
            int s = lead->packing.items[q], g = q - first;
            size_t na = (size_t)atoms[s];
            gbnet_result *r = &results[s];
            for (int m = 0; m < M; ++m)
                gb_sum_center_virials(cws->virials + 9 * m, cws->members[m]->center_virials + 9 * (size_t)a0, atoms[s]);
            member_mean(&r->energy, cws->energies + g, M, 1, G, cws->output);
            member_mean(r->virial, cws->virials, M, 9, 9, cws->output);
            if (r->atom_energies) member_mean(r->atom_energies, cws->atom_energies + a0, M, na, A, cws->output);
            if (r->forces) member_mean(r->forces, cws->forces + 3 * (size_t)a0, M, 3 * na, 3 * A, cws->output);
            if (deviations)
                fill_deviation(&deviations[s], M, cws->energies + g, G, cws->virials, cws->deviation_rows + a0,
                               atoms[s]);
            a0 += atoms[s];
            for (int m = 0; m < M && !st; ++m)
                if (!gb_finite_result(cws->energies[m * G + g], cws->virials + 9 * m))
                    st = gb_fail(GBNET_ERR_NUMERIC,
                                 "structure %d: committee member %d's energy, forces or virial are not finite (NaN or "
                                 "Inf): the model cannot evaluate it", s, m);
        }
    }
    free(atoms);
    return st;
}

/* ------------------------------------------------------------ graphs */

gbnet_status gbnet_committee_graph_from_full_list(gbnet_committee_workspace *cws, gbnet_graph *graph,
                                                  const double *positions, const gbnet_full_list *list,
                                                  int overlap[2]) {
    if (!cws) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_graph_from_full_list: NULL workspace");
    return gbnet_graph_from_full_list(cws->members[0], graph, positions, list, overlap);
}

gbnet_status gbnet_committee_evaluate_graph_member(gbnet_committee_workspace *cws, int member, const gbnet_graph *g,
                                                   gbnet_graph_result *r) {
    if (!cws || !g || !r)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_evaluate_graph_member: NULL argument");
    if (member < 0 || member >= cws->n_members)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_evaluate_graph_member: member %d is not in 0..%d",
                       member, cws->n_members - 1);
    gbnet_status st = gbnet_evaluate_graph(cws->members[member], g, r);
    return member_status(st, member, cws->n_members);
}

/* The committee mean on a graph when no member's own forces or virial are
 * asked for: every member runs forward and backward, the edges' dE/dd are
 * averaged in member order, and forces and virials (linear in dE/dd) are
 * assembled once from that mean. A core shared by all members is evaluated
 * once and added to the mean. Needs n_local > 0 (a rank without atoms takes
 * the per-member path, which makes the same exchanges in the same order). */
static gbnet_status committee_mean_graph(gbnet_committee_workspace *cws, const gbnet_graph *g,
                                         gbnet_graph_result *r, double *member_energies) {
    const int M = cws->n_members;
    gbnet_workspace *lead = cws->members[0];
    gb_batch b;
    gb_graph_batch(&b, g);
    size_t L = (size_t)b.n_centers, E = (size_t)b.n_edges;
    gbnet_status st = gb_batch_check(&b, lead->model->hp.n_elements);
    if (st) return st;
    if ((st = grow(&cws->energies, &cws->cap_energies, (size_t)M))) return st;
    if ((st = grow(&cws->mean_dbar, &cws->cap_mean_dbar, E))) return st;
    if (r->atom_energies && (st = grow(&cws->atom_energies, &cws->cap_atom_energies, M * L))) return st;
    double *mean_dbar = cws->mean_dbar;
    for (int m = 0; m < M; ++m) {
        gbnet_workspace *ws = cws->members[m];
        if (m > 0) gb_ws_share_graph(ws, lead);
        /* a shared core: member 0 computes it, its gradient joins the mean once */
        if ((st = gb_ws_dbar(ws, &b, m == 0 || !cws->shared_core, !cws->shared_core))) return member_status(st, m, M);
        if (m > 0 && cws->shared_core && lead->model->zbl) /* member 0's core energy */
            for (size_t i = 0; i < L; ++i) {
                ws->atom_energy[i] += lead->zbl_energy[i];
                ws->graph_energy[0] += lead->zbl_energy[i];
            }
        cws->energies[m] = ws->graph_energy[0];
        if (r->atom_energies) memcpy(cws->atom_energies + m * L, ws->atom_energy, L * sizeof(double));
        const double *dbar = ws->dbar;
        int last = m == M - 1;
#pragma omp parallel for schedule(static) num_threads(lead->n_threads) if (E > 16384)
        for (size_t e = 0; e < E; ++e) { /* member order, one writer per edge */
            double sum = m == 0 ? dbar[e] : mean_dbar[e] + dbar[e];
            mean_dbar[e] = last ? sum / M : sum;
        }
    }
    if (cws->shared_core) gb_ws_add_repulsion_gradient(lead, &b, mean_dbar);
    if (!GB_GROW(lead->center_virials, lead->cap_center_virials, 9 * L + 1)) return GBNET_ERR_NO_MEMORY;
    const int *in_offsets, *in_edges;
    gb_ws_in_edges(lead, &in_offsets, &in_edges);
    gb_forces_from_dbar_threaded(r->forces, r->atom_virials, lead->center_virials, NULL, mean_dbar, b.vec, b.offsets,
                                 in_offsets, in_edges, b.n_centers, b.n_atoms, lead->n_threads);
    gb_sum_center_virials(r->virial, lead->center_virials, b.n_centers);
    member_mean(&r->energy, cws->energies, M, 1, 1, -1);
    if (r->atom_energies) member_mean(r->atom_energies, cws->atom_energies, M, L, L, -1);
    if (member_energies) memcpy(member_energies, cws->energies, (size_t)M * sizeof(double));
    for (int m = 0; m < M; ++m)
        if (!isfinite(cws->energies[m]))
            return gb_fail(GBNET_ERR_NUMERIC, "committee member %d's energy is not finite (NaN or Inf): the model "
                           "cannot evaluate this graph", m);
    if (!gb_finite_result(r->energy, r->virial)) {
        int atom = gb_first_nonfinite_force(r->forces, b.n_atoms);
        return gb_fail(GBNET_ERR_NUMERIC, "the committee's mean forces or virial are not finite (NaN or Inf), first at "
                       "atom %d (index in the graph; -1: not located): a member cannot evaluate this graph", atom);
    }
    return GBNET_OK;
}

static gbnet_status evaluate_graph(gbnet_committee_workspace *cws, const gbnet_graph *g, gbnet_graph_result *r,
                                   double *member_energies, double *member_virials, double *member_forces);

gbnet_status gbnet_committee_evaluate_graph(gbnet_committee_workspace *cws, const gbnet_graph *g,
                                            gbnet_graph_result *r, double *member_energies, double *member_virials,
                                            double *member_forces) {
    if (!cws || !g || !r) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_evaluate_graph: NULL argument");
    gbnet_status st = evaluate_graph(cws, g, r, member_energies, member_virials, member_forces);
    clear_shares(cws);
    return st;
}

static gbnet_status evaluate_graph(gbnet_committee_workspace *cws, const gbnet_graph *g, gbnet_graph_result *r,
                                   double *member_energies, double *member_virials, double *member_forces) {
    if (g->n_local < 0 || g->n_total < g->n_local)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph: need 0 <= n_local <= n_total (got %d, %d)", g->n_local,
                       g->n_total);
    if (r->edge_gradients)
        return gb_fail(GBNET_ERR_UNSUPPORTED, "gbnet_committee_evaluate_graph: edge gradients are not available");
    const int M = cws->n_members;
    if (!member_forces && !member_virials && cws->output < 0 && M > 1 && g->n_local > 0) {
        memset(r->virial, 0, sizeof r->virial);
        r->energy = 0.0;
        return committee_mean_graph(cws, g, r, member_energies);
    }
    size_t L = (size_t)g->n_local, N = (size_t)g->n_total;
    gbnet_status st;
    if ((st = grow(&cws->energies, &cws->cap_energies, (size_t)M))) return st;
    if ((st = grow(&cws->virials, &cws->cap_virials, 9 * (size_t)M))) return st;
    if ((st = grow(&cws->forces, &cws->cap_forces, 3 * M * N))) return st;
    if (r->atom_energies && (st = grow(&cws->atom_energies, &cws->cap_atom_energies, M * L))) return st;
    if (r->atom_virials && (st = grow(&cws->atom_virials, &cws->cap_atom_virials, 9 * M * N))) return st;
    for (int m = 0; m < M; ++m) {
        gbnet_graph_result one;
        memset(&one, 0, sizeof one);
        one.forces = cws->forces + 3 * m * N;
        one.atom_energies = r->atom_energies ? cws->atom_energies + m * L : NULL;
        one.atom_virials = r->atom_virials ? cws->atom_virials + 9 * m * N : NULL;
        if (m > 0 && g->n_local > 0) gb_ws_share_graph(cws->members[m], cws->members[0]);
        st = gbnet_evaluate_graph(cws->members[m], g, &one);
        if (st) return member_status(st, m, M);
        cws->energies[m] = one.energy;
        memcpy(cws->virials + 9 * m, one.virial, 9 * sizeof(double));
    }
    member_mean(&r->energy, cws->energies, M, 1, 1, cws->output);
    member_mean(r->virial, cws->virials, M, 9, 9, cws->output);
    if (r->forces) member_mean(r->forces, cws->forces, M, 3 * N, 3 * N, cws->output);
    if (r->atom_energies) member_mean(r->atom_energies, cws->atom_energies, M, L, L, cws->output);
    if (r->atom_virials) member_mean(r->atom_virials, cws->atom_virials, M, 9 * N, 9 * N, cws->output);
    if (member_energies) memcpy(member_energies, cws->energies, (size_t)M * sizeof(double));
    if (member_virials) memcpy(member_virials, cws->virials, 9 * (size_t)M * sizeof(double));
    if (member_forces) memcpy(member_forces, cws->forces, 3 * M * N * sizeof(double));
    return GBNET_OK;
}

gbnet_status gbnet_committee_feature_check_graph(gbnet_committee_workspace *cws, int member, const gbnet_graph *graph,
                                                 double margin, gbnet_feature_report *report) {
    if (!cws) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_feature_check_graph: NULL workspace");
    if (member < 0 || member >= cws->n_members)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_feature_check_graph: member %d is not in 0..%d",
                       member, cws->n_members - 1);
    return gbnet_feature_check_graph(cws->members[member], graph, margin, report);
}
