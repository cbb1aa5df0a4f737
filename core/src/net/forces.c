/* Forces and virials from dE/dd per edge: see forces.h. */
#include "forces.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels.h"

void gb_forces_from_dbar(double *forces, double *virial, const double *dbar, const double *vec, const int *offsets,
                         const int *neighbor, int n_centers, int n_atoms) {
    if (forces) memset(forces, 0, 3 * (size_t)n_atoms * sizeof(double));
    for (int i = 0; i < n_centers; ++i)
        for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
            const double *v = vec + 3 * (size_t)e;
            double len = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            double g[3] = {dbar[e] * v[0] / len, dbar[e] * v[1] / len, dbar[e] * v[2] / len}; /* dE/dr_ij */
            if (forces) {
                int j = neighbor[e];
                for (int c = 0; c < 3; ++c) {
                    forces[3 * (size_t)i + c] += g[c];
                    forces[3 * (size_t)j + c] -= g[c];
                }
            }
            if (virial)
                for (int a = 0; a < 3; ++a)
                    for (int c = 0; c < 3; ++c) virial[3 * a + c] -= v[a] * g[c];
        }
}


/* g = dE/dr_ij of edge e */
static inline void edge_gradient(double g[3], const double *dbar, const double *vec, int e) {
    const double *v = vec + 3 * (size_t)e;
    double s = dbar[e] / sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    g[0] = s * v[0];
    g[1] = s * v[1];
    g[2] = s * v[2];
}

/* w[9] += scale * v (x) g */
static inline void add_outer(double *w, double scale, const double *v, const double g[3]) {
    for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c) w[3 * a + c] += scale * v[a] * g[c];
}

void gb_forces_from_dbar_threaded(double *forces, double *atom_virials, double *center_virials,
                                  double *edge_gradients, const double *dbar, const double *vec,
                                  const int *offsets, const int *in_offsets, const int *in_edges,
                                  int n_centers, int n_atoms, int n_threads) {
    (void)n_threads;
    int parallel = n_threads > 1 && n_atoms > 256;
    (void)parallel; /* used only by the OpenMP pragmas */
    /* pass 1, over centers: their out-edges (+g) */
#pragma omp parallel num_threads(n_threads) if (parallel)
    {
        int i0, i1;
        gb_thread_rows(offsets, n_centers, &i0, &i1);
        for (int i = i0; i < i1; ++i) {
            double f[3] = {0, 0, 0}, wi[9] = {0}, wc[9] = {0};
            for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
                double g[3];
                edge_gradient(g, dbar, vec, e);
                const double *v = vec + 3 * (size_t)e;
                f[0] += g[0];
                f[1] += g[1];
                f[2] += g[2];
                if (atom_virials) add_outer(wi, -0.5, v, g);
                if (center_virials) add_outer(wc, -1.0, v, g);
                if (edge_gradients) memcpy(edge_gradients + 3 * (size_t)e, g, sizeof g);
            }
            if (forces) memcpy(forces + 3 * (size_t)i, f, sizeof f);
            if (atom_virials) memcpy(atom_virials + 9 * (size_t)i, wi, sizeof wi);
            if (center_virials) memcpy(center_virials + 9 * (size_t)i, wc, sizeof wc);
        }
    }
    if (!forces && !atom_virials) return;
    /* pass 2, over all atoms: their in-edges (-g). g is recomputed rather than
     * kept from pass 1: a stored copy would cost 24 bytes per edge and be read
     * at random as vec and dbar are. */
#pragma omp parallel num_threads(n_threads) if (parallel)
    {
        int j0, j1;
        gb_thread_rows(in_offsets, n_atoms, &j0, &j1);
        for (int j = j0; j < j1; ++j) {
            double f[3] = {0, 0, 0}, wj[9] = {0};
            if (j < n_centers) {
                if (forces) memcpy(f, forces + 3 * (size_t)j, sizeof f);
                if (atom_virials) memcpy(wj, atom_virials + 9 * (size_t)j, sizeof wj);
            }
            for (int q = in_offsets[j]; q < in_offsets[j + 1]; ++q) {
                int e = in_edges[q];
                double g[3];
                edge_gradient(g, dbar, vec, e);
                f[0] -= g[0];
                f[1] -= g[1];
                f[2] -= g[2];
                if (atom_virials) add_outer(wj, -0.5, vec + 3 * (size_t)e, g);
            }
            if (forces) memcpy(forces + 3 * (size_t)j, f, sizeof f);
            if (atom_virials) memcpy(atom_virials + 9 * (size_t)j, wj, sizeof wj);
        }
    }
}
