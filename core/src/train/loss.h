/* Training loss and its exact gradient over one pack of labelled structures.
 *
 * Loss of one structure s with N atoms (summed over the structures of a
 * step, times `scale`, usually 1 / structures per step):
 *   w_energy * ((E - E_ref) / N)^2                       eV^2/atom^2
 * + w_forces * (1 / 3N) sum_i |F_i - F_ref,i|^2          (eV/A)^2
 * + w_stress * (1 / 9) sum_ab (s_ab - s_ref,ab)^2        GPa^2, s = -W/V
 * Terms whose labels a structure lacks are skipped for it.
 *
 * Gradients are exact: the force and stress terms are gradients of a
 * directional derivative of E along an edge-length tangent (schnet.h), one
 * tangent sweep and one dual reverse sweep per pack. */
#ifndef GB_LOSS_H
#define GB_LOSS_H

#include "gbnet_data.h"
#include "neighbor.h"
#include "workspace.h"

#ifndef GB_GPA_PER_EV_A3
#define GB_GPA_PER_EV_A3 160.2176634 /* 1 eV/A^3 in GPa */
#endif

typedef struct {
    double w_energy, w_forces, w_stress;
} gb_loss_weights;

/* Sums over the structures of one or more packs (add them up). */
typedef struct {
    double loss;                 /* weighted loss, times scale */
    double se_energy;            /* sum over structures of ((E - E_ref)/N)^2, eV^2 */
    double ae_energy;            /* sum of |E - E_ref|/N */
    double se_forces, ae_forces; /* sums over force components, (eV/A)^2 and eV/A */
    double se_stress, ae_stress; /* sums over stress components, GPa^2 and GPa */
    long n_energy, n_forces, n_stress; /* counts: structures, components, components */
} gb_loss_stats;

/* A labelled structure ready for training: its frame, element indices and a
 * neighbor list built once (training positions do not move). */
typedef struct {
    const gbnet_frame *frame;
    int *species;          /* [n_atoms] element index in the model */
    gb_neighbor_list nl;
    /* the repulsive core's share of the labels (zbl.h), subtracted from the
     * frame's energy, forces and virial in the loss; zero / NULL without a core */
    double zbl_energy;     /* eV */
    double *zbl_forces;    /* [n_atoms][3] eV/A, or NULL */
    double zbl_virial[9];  /* eV */
    int skip_stress;       /* 1: the stress label is beyond the config's stress_max, not fitted */
} gb_sample;

/* Builds a sample (species mapping + neighbor list); errors name the frame's
 * file and line (element not in the model, atoms closer than min_distance). */
gbnet_status gb_sample_init(gb_sample *s, const gbnet_frame *f, const gbnet_model *model, double min_distance);
void gb_sample_free(gb_sample *s);
/* Computes the sample's repulsive-core labels for model (none if the model
 * has no core). */
gbnet_status gb_sample_set_repulsion(gb_sample *s, const gbnet_model *model);

/* Loss over samples[0..n) evaluated as one pack. If grad is non-NULL, adds
 * scale * dLoss/dtheta into grad [n_params]. static_atoms/static_edges > 0
 * selects static-shape mode: the pack is padded to exactly that many atoms and
 * edges with masked slots (what a fixed-shape accelerator build needs); the
 * result is the same. Adds to *stats. predicted_energy [n], predicted_forces
 * (concatenated [sum n_atoms][3]) may be NULL; they are the network's part,
 * without the repulsive core (which the labels have been reduced by). */
gbnet_status gb_pack_loss(gbnet_workspace *ws, gb_batch_buffer *bb, const gb_sample *const *samples, int n,
                          const gb_loss_weights *w, double scale, int static_atoms, int static_edges, double *grad,
                          gb_loss_stats *stats, double *predicted_energy, double *predicted_forces);

#endif
