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
    double *atom_energy, *graph_energy, *dbar;
    size_t cap_atom_energy, cap_graph_energy, cap_dbar;
    double *atom_forces, *center_virials; /* [n_atoms][3], [n_centers][9] of a batch */
    size_t cap_atom_forces, cap_center_virials;
    double *zbl_energy, *zbl_dbar;        /* repulsive core: [n_centers], [n_edges] of a batch */
    size_t cap_zbl_energy, cap_zbl_dbar;
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
/* The last forward's in-edge lists (see gb_net_in_edges). */
void gb_ws_in_edges(const gbnet_workspace *ws, const int **in_offsets, const int **in_edges);
/* Reloads weights from a double blob (after an optimizer step). */
void gb_ws_load_params(gbnet_workspace *ws, const double *params);


#endif
