/* The ZBL repulsive core (see zbl.h and docs/model.md section 7). */
#include "zbl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forces.h"
#include "gb_error.h"
#include "model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The universal screening function of Ziegler, Biersack and Littmark:
 * phi(x) = sum_k c_k exp(-b_k x), screening length a = 0.46850 / (z1^0.23 + z2^0.23). */
static const double k_zbl_c[4] = {0.18175, 0.50986, 0.28022, 0.02817};
static const double k_zbl_b[4] = {3.19980, 0.94229, 0.40290, 0.20162};
#define GB_ZBL_LENGTH 0.46850 /* A: 0.8854 times the Bohr radius */

/* Pair energy from the pair's precomputed constants: zz = Coulomb z1 z2,
 * inv_a = 1 / screening length. */
static double zbl_from_constants(double zz, double inv_a, double d, double *dE_dd) {
    double x = d * inv_a, phi = 0.0, dphi_dx = 0.0;
    for (int k = 0; k < 4; ++k) {
        double e = k_zbl_c[k] * exp(-k_zbl_b[k] * x);
        phi += e;
        dphi_dx -= k_zbl_b[k] * e;
    }
    double energy = zz * phi / d;
    *dE_dd = zz * (dphi_dx * inv_a / d - phi / (d * d));
    return energy;
}

static double screening_inverse_length(int z1, int z2) {
    return (pow((double)z1, 0.23) + pow((double)z2, 0.23)) / GB_ZBL_LENGTH;
}

double gb_zbl_unswitched(int z1, int z2, double d, double *dE_dd) {
    return zbl_from_constants(GB_ZBL_COULOMB * z1 * z2, screening_inverse_length(z1, z2), d, dE_dd);
}

double gb_zbl_switch(double d, double inner, double outer, double *ds_dd) {
    if (d <= inner) {
        *ds_dd = 0.0;
        return 1.0;
    }
    if (d >= outer) {
        *ds_dd = 0.0;
        return 0.0;
    }
    double w = outer - inner, t = (d - inner) / w, t2 = t * t;
    *ds_dd = -30.0 * t2 * (1.0 - t) * (1.0 - t) / w;
    return 1.0 - t2 * t * (10.0 - 15.0 * t + 6.0 * t2);
}

/* switched pair energy from precomputed constants */
static double pair_from_constants(double zz, double inv_a, double d, double inner, double outer, double *dE_dd) {
    if (d >= outer) {
        *dE_dd = 0.0;
        return 0.0;
    }
    double de, ds;
    double e = zbl_from_constants(zz, inv_a, d, &de);
    double s = gb_zbl_switch(d, inner, outer, &ds);
    *dE_dd = de * s + e * ds;
    return e * s;
}

double gb_zbl_pair(int z1, int z2, double d, double inner, double outer, double *dE_dd) {
    return pair_from_constants(GB_ZBL_COULOMB * z1 * z2, screening_inverse_length(z1, z2), d, inner, outer, dE_dd);
}

double gbnet_zbl_pair_energy(int z1, int z2, double d, double inner, double outer, double *dE_dd) {
    double dummy;
    if (!dE_dd) dE_dd = &dummy;
    if (!(d > 0.0) || z1 < 1 || z2 < 1) {
        *dE_dd = 0.0;
        return 0.0;
    }
    return gb_zbl_pair(z1, z2, d, inner, outer, dE_dd);
}

/* Per element pair constants of a model: Coulomb z1 z2 and 1/a. */
typedef struct {
    double zz[GBNET_MAX_ELEMENTS][GBNET_MAX_ELEMENTS];
    double inv_a[GBNET_MAX_ELEMENTS][GBNET_MAX_ELEMENTS];
} pair_constants;

static void make_constants(pair_constants *c, const gbnet_model *m) {
    int n = m->hp.n_elements;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            int za = m->hp.atomic_numbers[a], zb = m->hp.atomic_numbers[b];
            c->zz[a][b] = GB_ZBL_COULOMB * za * zb;
            c->inv_a[a][b] = screening_inverse_length(za, zb);
        }
}

void gb_zbl_edges(const gbnet_model *m, int n_centers, const int *species, const int *offsets, const int *neighbor,
                  const double *vec, double *center_energy, double *dbar, int n_threads) {
    const gb_zbl *z = m->zbl;
    if (!z || n_centers <= 0) {
        if (center_energy && n_centers > 0) memset(center_energy, 0, (size_t)n_centers * sizeof(double));
        return;
    }
    pair_constants c;
    make_constants(&c, m);
    (void)n_threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(n_threads > 0 ? n_threads : 1) schedule(static)
#endif
    for (int i = 0; i < n_centers; ++i) {
        int ei = species[i];
        double sum = 0.0;
        for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
            int ej = species[neighbor[e]];
            if (ei < 0 || ej < 0) continue; /* masked padding slots */
            const double *r = vec + 3 * (size_t)e;
            double d = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
            if (d >= z->outer[ei][ej]) continue;
            double de;
            sum += 0.5 * pair_from_constants(c.zz[ei][ej], c.inv_a[ei][ej], d, z->inner[ei][ej], z->outer[ei][ej], &de);
            if (dbar) dbar[e] += 0.5 * de;
        }
        if (center_energy) center_energy[i] = sum;
    }
}

gbnet_status gb_zbl_structure(const gbnet_model *m, int n_atoms, const int *species, const int *offsets,
                              const int *neighbor, const double *vec, int n_edges, double *energy, double *forces,
                              double *virial) {
    double *buf = calloc((size_t)n_atoms + (size_t)n_edges + 1, sizeof(double));
    if (!buf) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory for the repulsive core's labels");
    double *center_energy = buf, *dbar = buf + n_atoms;
    gb_zbl_edges(m, n_atoms, species, offsets, neighbor, vec, center_energy, dbar, 1);
    *energy = 0.0;
    for (int i = 0; i < n_atoms; ++i) *energy += center_energy[i];
    memset(virial, 0, 9 * sizeof(double));
    gb_forces_from_dbar(forces, virial, dbar, vec, offsets, neighbor, n_atoms, n_atoms);
    free(buf);
    return GBNET_OK;
}

static double det3(const double *c) {
    return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
}

gbnet_status gb_zbl_reference(const gbnet_model *m, const gbnet_structure *s, double *energy, double *forces,
                              double *virial) {
    *energy = 0.0;
    memset(forces, 0, 3 * (size_t)s->n_atoms * sizeof(double));
    memset(virial, 0, 9 * sizeof(double));
    if (!m->zbl) return GBNET_OK;
    double reach = 0.0; /* the largest outer radius */
    for (int a = 0; a < m->hp.n_elements; ++a)
        for (int b = 0; b < m->hp.n_elements; ++b)
            if (m->zbl->outer[a][b] > reach) reach = m->zbl->outer[a][b];
    /* images along lattice vector k: enough to reach `reach` across the cell's height */
    int images[3] = {0, 0, 0};
    if (s->pbc[0] || s->pbc[1] || s->pbc[2]) {
        const double *c = s->cell;
        double volume = fabs(det3(c));
        if (!(volume > 0.0)) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "zbl reference: degenerate cell");
        for (int k = 0; k < 3; ++k) {
            if (!s->pbc[k]) continue;
            const double *u = c + 3 * ((k + 1) % 3), *v = c + 3 * ((k + 2) % 3);
            double cx = u[1] * v[2] - u[2] * v[1], cy = u[2] * v[0] - u[0] * v[2], cz = u[0] * v[1] - u[1] * v[0];
            double height = volume / sqrt(cx * cx + cy * cy + cz * cz);
            images[k] = (int)ceil(reach / height) + 1;
        }
    }
    for (int i = 0; i < s->n_atoms; ++i)
        for (int j = 0; j < s->n_atoms; ++j)
            for (int s0 = -images[0]; s0 <= images[0]; ++s0)
                for (int s1 = -images[1]; s1 <= images[1]; ++s1)
                    for (int s2 = -images[2]; s2 <= images[2]; ++s2) {
                        if (i == j && s0 == 0 && s1 == 0 && s2 == 0) continue;
                        double r[3];
                        for (int c = 0; c < 3; ++c) {
                            r[c] = s->positions[3 * j + c] - s->positions[3 * i + c];
                            if (s->cell) r[c] += s0 * s->cell[c] + s1 * s->cell[3 + c] + s2 * s->cell[6 + c];
                        }
                        double d = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
                        int ei = s->species[i], ej = s->species[j];
                        double de;
                        /* every ordered pair (i, j, S) carries half the pair energy */
                        *energy += 0.5 * gb_zbl_pair(m->hp.atomic_numbers[ei], m->hp.atomic_numbers[ej], d,
                                                     m->zbl->inner[ei][ej], m->zbl->outer[ei][ej], &de);
                        for (int c = 0; c < 3; ++c) {
                            double g = 0.5 * de * r[c] / d; /* d(term)/d r_ij */
                            forces[3 * i + c] += g;
                            forces[3 * j + c] -= g;
                            for (int b = 0; b < 3; ++b) virial[3 * b + c] -= r[b] * g;
                        }
                    }
    return GBNET_OK;
}

gbnet_status gbnet_model_set_zbl(gbnet_model *m, const double *inner, const double *outer) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_set_zbl: NULL model");
    if (!inner && !outer) {
        free(m->zbl);
        m->zbl = NULL;
        return GBNET_OK;
    }
    if (!inner || !outer)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_set_zbl: give both radii arrays, or neither");
    int n = m->hp.n_elements;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            double ri = inner[a * n + b], ro = outer[a * n + b];
            const char *sa = gbnet_element_symbol(m->hp.atomic_numbers[a]);
            const char *sb = gbnet_element_symbol(m->hp.atomic_numbers[b]);
            if (!(ri > 0.0 && ri < ro && ro <= m->hp.cutoff))
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                               "repulsive core %s-%s: radii inner %g, outer %g A; need 0 < inner < outer <= cutoff %g A",
                               sa, sb, ri, ro, m->hp.cutoff);
            if (ri != inner[b * n + a] || ro != outer[b * n + a])
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "repulsive core: radii of %s-%s and %s-%s differ", sa, sb,
                               sb, sa);
        }
    gb_zbl *z = m->zbl ? m->zbl : gb_calloc(1, sizeof *z);
    if (!z) return GBNET_ERR_NO_MEMORY;
    memset(z, 0, sizeof *z);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            z->inner[a][b] = inner[a * n + b];
            z->outer[a][b] = outer[a * n + b];
        }
    m->zbl = z;
    return GBNET_OK;
}

int gbnet_model_zbl(const gbnet_model *m, double *inner, double *outer) {
    if (!m || !m->zbl) return 0;
    int n = m->hp.n_elements;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            if (inner) inner[a * n + b] = m->zbl->inner[a][b];
            if (outer) outer[a * n + b] = m->zbl->outer[a][b];
        }
    return 1;
}
