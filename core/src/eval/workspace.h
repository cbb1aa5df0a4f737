/* The evaluation workspace (public handle gbnet_workspace) and precision
 * dispatch, shared by evaluation, the trainer and benchmarks. */
#ifndef GB_WORKSPACE_H
#define GB_WORKSPACE_H

#include "batch.h"
#include "gbnet.h"
#include "neighbor.h"
#include "packing.h"
#include "schnet.h"

struct gbnet_workspace {
    const gbnet_model *model;
    gbnet_precision precision;
    gb_net_f32 *net32;
    gb_net_f64 *net64;
    int n_threads;
    /* gbnet_evaluate */
    gb_neighbor_list *lists;
    int n_lists;
    gb_batch_buffer bb;
    gb_packing packing;
    double *atom_energy, *graph_energy, *dbar, *ones; /* ones: the backward seed [n_atoms] */
    size_t cap_atom_energy, cap_graph_energy, cap_dbar, cap_ones;
    double *atom_forces, *center_virials; /* [n_atoms][3], [n_centers][9] of a batch */
    size_t cap_atom_forces, cap_center_virials;
    double *zbl_energy, *zbl_dbar;        /* repulsive core: [n_centers], [n_edges] of a batch */
    size_t cap_zbl_energy, cap_zbl_dbar;
    /* feature checks: whether the model's record (as last seen) belongs to its weights */
    const gb_feature_record *features_seen;
    int features_current;
    /* gbnet_graph_from_full_list */
    int *graph_offsets, *graph_neighbor;
    double *graph_vector;
    size_t cap_graph_offsets, cap_graph_neighbor, cap_graph_vector;
};

gbnet_status gb_ws_forward(gbnet_workspace *ws, const gb_batch *b, int dual, double *atom_energy,
                           double *graph_energy);
gbnet_status gb_ws_tangent(gbnet_workspace *ws, const gb_batch *b, const double *d_dot, double *atom_energy_dot);
gbnet_status gb_ws_backward(gbnet_workspace *ws, const gb_batch *b, const double *ebar, const double *ebar_dot,
                            double *grad, double *dbar);
/* The next forward of ws reads lead's graph arrays from lead's last forward on
 * the same batch where the two can (gb_net_share_graph): committee members.
 * lead NULL: no share. */
void gb_ws_share_graph(gbnet_workspace *ws, const gbnet_workspace *lead);
/* The last forward's in-edge lists (see gb_net_in_edges). */
void gb_ws_in_edges(const gbnet_workspace *ws, const int **in_offsets, const int **in_edges);
/* Reloads weights from a double blob (after an optimizer step). */
void gb_ws_load_params(gbnet_workspace *ws, const double *params);

/* gbnet_evaluate in steps, shared with committee evaluation (committee.c):
 * checks the structures, builds their neighbor lists into ws->lists and packs
 * them (ws->packing); atoms[n] and edges[n] receive each structure's counts. */
gbnet_status gb_ws_pack_structures(gbnet_workspace *ws, int n, const gbnet_structure *structures, int *atoms,
                                   int *edges);
/* Concatenates the structures of pack k into ws->bb.batch. */
gbnet_status gb_ws_fill_pack(gbnet_workspace *ws, int k, const gbnet_structure *structures);
/* One evaluation up to the edges' dE/dd on batch b: the network's forward,
 * the repulsive core's energy (core_energy), the seed dE/dE_i = 1 of every
 * center, the backward and the core's dE/dd (core_energy and core_gradient;
 * a committee sharing one core adds it to the members' mean instead):
 * ws->atom_energy [n_atoms] (centers first), ws->graph_energy [n_graphs],
 * ws->dbar [n_edges], and with the core ws->zbl_energy [n_centers] and
 * ws->zbl_dbar [n_edges]. Used by gb_ws_evaluate_batch, gbnet_evaluate_graph
 * and the committee mean (committee.c). */
gbnet_status gb_ws_dbar(gbnet_workspace *ws, const gb_batch *b, int core_energy, int core_gradient);
/* Runs the network forward and backward on batch b (built by any workspace of a
 * model with the same cutoff): ws->atom_energy [n_atoms], ws->graph_energy
 * [n_graphs], ws->atom_forces [n_atoms][3], ws->center_virials [n_centers][9]. */
gbnet_status gb_ws_evaluate_batch(gbnet_workspace *ws, const gb_batch *b);
/* The repulsive core after the network's forward on b: adds each center's
 * repulsion to atom_energy [n_centers] and graph_energy [n_graphs] and keeps
 * the edges' dE/dd in ws->zbl_dbar; ..._gradient then adds those to dbar
 * [n_edges] after the backward. Nothing when the model has no core. */
gbnet_status gb_ws_add_repulsion_energy(gbnet_workspace *ws, const gb_batch *b, double *atom_energy,
                                        double *graph_energy);
void gb_ws_add_repulsion_gradient(const gbnet_workspace *ws, const gb_batch *b, double *dbar);
/* The batch of one caller-given graph (one graph of n_local centers). */
void gb_graph_batch(gb_batch *b, const gbnet_graph *g);
/* virial [9] = sum of n centers' virials [n][9], in atom order (a fixed reduction order). */
void gb_sum_center_virials(double *virial, const double *center_virials, int n);
/* The first of n_atoms whose force [n_atoms][3] is not finite, or -1 (also for forces NULL). */
int gb_first_nonfinite_force(const double *forces, int n_atoms);
/* Energy and virial finite (a non-finite force always reaches the virial). */
int gb_finite_result(double energy, const double *virial);

#endif
