/* Loss and exact gradient over one pack (see loss.h for the definitions). */
#include "loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forces.h"
#include "gb_error.h"
#include "model.h"
#include "zbl.h"

gbnet_status gb_sample_init(gb_sample *s, const gbnet_frame *f, const gbnet_model *model, double min_distance) {
    memset(s, 0, sizeof *s);
    s->frame = f;
    s->species = gb_malloc((size_t)(f->n_atoms > 0 ? f->n_atoms : 1) * sizeof(int));
    if (!s->species) return GBNET_ERR_NO_MEMORY;
    for (int i = 0; i < f->n_atoms; ++i) {
        s->species[i] = gbnet_model_element_of_z(model, f->z[i]);
        if (s->species[i] < 0)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%s:%d: atom %d is %s, which is not among the model's elements",
                           f->source ? f->source : "?", f->line, i + 1, gbnet_element_symbol(f->z[i]));
    }
    gbnet_status st = gb_neighbor_build(&s->nl, f->pos, f->n_atoms, f->has_cell ? f->cell : NULL, f->pbc,
                                        model->hp.cutoff);
    if (st) return gb_fail(st, "%s:%d: %s", f->source ? f->source : "?", f->line, gbnet_last_error());
    for (int e = 0; e < s->nl.n_edges; ++e) {
        const double *v = s->nl.vec + 3 * (size_t)e;
        double d = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (d < min_distance) {
            int i = 0;
            while (s->nl.offsets[i + 1] <= e) ++i;
            return gb_fail(GBNET_ERR_NUMERIC, "%s:%d: atoms %d and %d are %.4f A apart (closer than %.2f A)",
                           f->source ? f->source : "?", f->line, i + 1, s->nl.neighbor[e] + 1, d, min_distance);
        }
    }
    return GBNET_OK;
}

gbnet_status gb_sample_set_repulsion(gb_sample *s, const gbnet_model *model) {
    free(s->zbl_forces);
    s->zbl_forces = NULL;
    s->zbl_energy = 0.0;
    memset(s->zbl_virial, 0, sizeof s->zbl_virial);
    if (!model->zbl) return GBNET_OK;
    int n = s->frame->n_atoms;
    s->zbl_forces = gb_malloc(3 * (size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!s->zbl_forces) return GBNET_ERR_NO_MEMORY;
    return gb_zbl_structure(model, n, s->species, s->nl.offsets, s->nl.neighbor, s->nl.vec, s->nl.n_edges,
                            &s->zbl_energy, s->zbl_forces, s->zbl_virial);
}

void gb_sample_free(gb_sample *s) {
    free(s->zbl_forces);
    free(s->species);
    gb_neighbor_free(&s->nl);
    memset(s, 0, sizeof *s);
}

static double cell_volume(const double *c) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

gbnet_status gb_pack_loss(gbnet_workspace *ws, gb_batch_buffer *bb, const gb_sample *const *samples, int n,
                          const gb_loss_weights *w, double scale, int static_atoms, int static_edges, double *grad,
                          gb_loss_stats *stats, double *predicted_energy, double *predicted_forces) {
    gbnet_status st = GBNET_OK;
    gb_batch_buffer_reset(bb);
    int need_dual = 0;
    for (int k = 0; k < n && !st; ++k) {
        const gb_sample *s = samples[k];
        const gbnet_frame *f = s->frame;
        st = gb_batch_buffer_append(bb, f->n_atoms, s->species, s->nl.n_edges, s->nl.offsets, s->nl.neighbor,
                                    s->nl.vec, k);
        if ((w->w_forces > 0 && f->forces) || (w->w_stress > 0 && f->has_virial && f->has_cell && !s->skip_stress))
            need_dual = 1;
    }
    if (!st && (static_atoms > 0 || static_edges > 0))
        st = gb_batch_buffer_pad(bb, static_atoms > 0 ? static_atoms : bb->batch.n_atoms,
                        static_edges > 0 ? static_edges : bb->batch.n_edges, ws->model->hp.cutoff);
    if (st) return st;
    bb->batch.n_graphs = n;
    const gb_batch *b = &bb->batch;
    int N = b->n_atoms, E = b->n_edges;
    if (!grad) need_dual = 0;

    double *buf = calloc((size_t)4 * N + 3 * (size_t)N + 2 * (size_t)E + (size_t)n + 9 * (size_t)n + 1,
                         sizeof(double));
    if (!buf) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory in the loss");
    double *atom_e = buf, *ebar = atom_e + N, *ebar_dot = ebar + N, *ones = ebar_dot + N, *forces = ones + N;
    double *dbar = forces + 3 * (size_t)N, *ddot = dbar + E, *graph_e = ddot + E, *virial = graph_e + n;

    st = gb_ws_forward(ws, b, grad != NULL, atom_e, graph_e);
    if (!st) {
        for (int i = 0; i < N; ++i) ones[i] = b->atom_graph[i] >= 0 ? 1.0 : 0.0;
        st = gb_ws_backward(ws, b, ones, NULL, NULL, dbar);
    }
    if (st) {
        free(buf);
        return st;
    }
    /* forces and virial per structure, residuals, seeds */
    int a0 = 0, e0 = 0;
    for (int k = 0; k < n; ++k) {
        const gb_sample *s = samples[k];
        const gbnet_frame *f = s->frame;
        int na = f->n_atoms, ne = s->nl.n_edges;
        double *fk = forces + 3 * (size_t)a0, *vk = virial + 9 * (size_t)k;
        gb_forces_from_dbar(fk, vk, dbar + e0, s->nl.vec, s->nl.offsets, s->nl.neighbor, na, na);
        if (predicted_energy) predicted_energy[k] = graph_e[k];
        if (predicted_forces) memcpy(predicted_forces + 3 * (size_t)a0, fk, 3 * (size_t)na * sizeof(double));
        double eseed = 0.0;
        if (f->has_energy) {
            double de = (graph_e[k] - (f->energy - s->zbl_energy)) / na;
            stats->se_energy += de * de;
            stats->ae_energy += fabs(de);
            stats->n_energy += 1;
            stats->loss += scale * w->w_energy * de * de;
            eseed = scale * w->w_energy * 2.0 * de / na;
        }
        for (int i = 0; i < na; ++i) ebar[a0 + i] = eseed;
        double cf = 0.0;
        const double *zf = s->zbl_forces; /* the network is fitted to the labels minus the repulsive core */
        if (f->forces) {
            double se = 0.0;
            for (int c = 0; c < 3 * na; ++c) {
                double r = fk[c] - (f->forces[c] - (zf ? zf[c] : 0.0));
                se += r * r;
                stats->ae_forces += fabs(r);
            }
            stats->se_forces += se;
            stats->n_forces += 3 * na;
            stats->loss += scale * w->w_forces * se / (3.0 * na);
            cf = scale * w->w_forces * 2.0 / (3.0 * na);
        }
        double u[9] = {0}, cs = 0.0;
        if (f->has_virial && f->has_cell && !s->skip_stress) {
            double V = cell_volume(f->cell), se = 0.0;
            for (int c = 0; c < 9; ++c) {
                double pred = -vk[c] / V * GB_GPA_PER_EV_A3, ref = -(f->virial[c] - s->zbl_virial[c]) / V * GB_GPA_PER_EV_A3;
                u[c] = pred - ref;
                se += u[c] * u[c];
                stats->ae_stress += fabs(u[c]);
            }
            stats->se_stress += se;
            stats->n_stress += 9;
            stats->loss += scale * w->w_stress * se / 9.0;
            cs = scale * w->w_stress * 2.0 / 9.0 * GB_GPA_PER_EV_A3 / V;
        }
        /* edge tangent: forces term -cf (v_j - v_i), stress term +cs u^T r_e */
        for (int i = 0; i < na; ++i)
            for (int e = s->nl.offsets[i]; e < s->nl.offsets[i + 1]; ++e) {
                const double *r = s->nl.vec + 3 * (size_t)e;
                int j = s->nl.neighbor[e];
                double len = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]), t[3] = {0, 0, 0};
                if (f->forces && cf != 0.0)
                    for (int c = 0; c < 3; ++c) {
                        double fi = f->forces[3 * i + c] - (zf ? zf[3 * i + c] : 0.0);
                        double fj = f->forces[3 * j + c] - (zf ? zf[3 * j + c] : 0.0);
                        double vi = fk[3 * i + c] - fi, vj = fk[3 * j + c] - fj;
                        t[c] -= cf * (vj - vi);
                    }
                if (cs != 0.0)
                    for (int bb_ = 0; bb_ < 3; ++bb_)
                        for (int a = 0; a < 3; ++a) t[bb_] += cs * u[3 * a + bb_] * r[a];
                ddot[e0 + e] = (r[0] * t[0] + r[1] * t[1] + r[2] * t[2]) / len;
            }
        a0 += na;
        e0 += ne;
    }
    if (grad) {
        if (need_dual) {
            for (int i = 0; i < N; ++i) ebar_dot[i] = b->atom_graph[i] >= 0 ? 1.0 : 0.0;
            st = gb_ws_tangent(ws, b, ddot, NULL);
            if (!st) st = gb_ws_backward(ws, b, ebar, ebar_dot, grad, NULL);
        } else {
            st = gb_ws_backward(ws, b, ebar, NULL, grad, NULL);
        }
    }
    free(buf);
    return st;
}
