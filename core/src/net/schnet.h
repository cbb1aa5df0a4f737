/* The batched SchNet network: forward, backward and the tangent sweep used
 * for exact force/stress training, over one batch (a pack of graphs, or a
 * caller-given graph with ghost atoms). Implemented once in schnet_impl.h and
 * compiled for float (_f32) and double (_f64).
 *
 * Design: the filter network depends on the edge length d alone, so it is
 * always evaluated together with its derivative dW/dd (forward mode in the
 * scalar d, stacked as extra GEMM rows). Forces then need no second pass
 * through the filter network, and the tangent of the filter along any
 * position perturbation is dW/dd * d_dot.
 *
 * Training (docs/model.md section 6): gradients of force and stress losses
 * are gradients of the directional derivative E_dot = sum_e dE/dd_e * d_dot_e
 * along a fixed edge-length tangent d_dot. gb_tangent computes the tangent of
 * every atom activation (stored as extra rows below the primal rows), and
 * gb_backward with ebar_dot != NULL runs the reverse sweep of that dual
 * program, giving grad_theta(sum_i ebar_i E_i + ebar_dot_i E_dot_i).        */
#ifndef GB_SCHNET_H
#define GB_SCHNET_H

#include <stddef.h>

#include "gbnet.h"
#include "model.h"

/* One batch: atoms [0, n_centers) are edge centers whose energies count;
 * atoms [n_centers, n_atoms) are ghosts (their features come from the
 * exchange callbacks between blocks). */
typedef struct {
    int n_atoms;
    int n_centers;
    int n_edges;
    const int *species;    /* [n_atoms] element index */
    const int *offsets;    /* [n_centers+1] CSR by center */
    const int *neighbor;   /* [n_edges] */
    const double *vec;     /* [n_edges][3] r_j - r_i */
    const int *atom_graph; /* [n_centers] graph of each center for energy sums; -1: masked slot; NULL: all 0 */
    int n_graphs;
    gbnet_exchange_fn forward_exchange, reverse_exchange;
    void *exchange_ctx;
} gb_batch;

/* How a forward pass runs (and so what the passes after it may do). */
typedef enum {
    GB_PASS_EVALUATE = 0, /* energies, then dE/dd by gb_backward; a tabulated model reads its table */
    GB_PASS_TRAIN = 1     /* no ghosts; tangent rows for gb_tangent, the exact filter network for
                           * parameter gradients (gb_backward with grad, with or without ebar_dot) */
} gb_pass_mode;

typedef struct gb_net_f32 gb_net_f32;
typedef struct gb_net_f64 gb_net_f64;

/* State for one model in one precision: weights copy + reusable buffers. */
gb_net_f32 *gb_net_create_f32(const gbnet_model *model);
gb_net_f64 *gb_net_create_f64(const gbnet_model *model);
void gb_net_free_f32(gb_net_f32 *net);
void gb_net_free_f64(gb_net_f64 *net);
/* Re-reads weights (after an optimizer step) from a double blob in gb_layout order. */
void gb_net_load_params_f32(gb_net_f32 *net, const double *params);
void gb_net_load_params_f64(gb_net_f64 *net, const double *params);
size_t gb_net_bytes_f32(const gb_net_f32 *net);
size_t gb_net_bytes_f64(const gb_net_f64 *net);
void gb_net_set_threads_f32(gb_net_f32 *net, int n_threads);
void gb_net_set_threads_f64(gb_net_f64 *net, int n_threads);
/* Forward pass; keeps what the backward needs. GB_PASS_TRAIN: tangent rows and the exact
 * filter network kept for parameter gradients (needed by any backward with grad).
 * Fills atom_energy [n_centers] and graph_energy [n_graphs] (masked slots excluded). */
gbnet_status gb_forward_f32(gb_net_f32 *net, const gb_batch *b, gb_pass_mode mode, double *atom_energy,
                            double *graph_energy);
gbnet_status gb_forward_f64(gb_net_f64 *net, const gb_batch *b, gb_pass_mode mode, double *atom_energy,
                            double *graph_energy);
/* Tangent sweep along edge-length tangent d_dot [n_edges] (after a dual forward).
 * atom_energy_dot [n_centers] or NULL receives E_dot_i. */
gbnet_status gb_tangent_f32(gb_net_f32 *net, const gb_batch *b, const double *d_dot, double *atom_energy_dot);
gbnet_status gb_tangent_f64(gb_net_f64 *net, const gb_batch *b, const double *d_dot, double *atom_energy_dot);
/* Reverse sweep with seeds ebar [n_centers] (and ebar_dot [n_centers] after gb_tangent).
 * Accumulates dL/dtheta into grad [n_params] if non-NULL and writes dL/dd [n_edges] into
 * dbar if non-NULL (dbar only without ebar_dot). */
gbnet_status gb_backward_f32(gb_net_f32 *net, const gb_batch *b, const double *ebar, const double *ebar_dot,
                             double *grad, double *dbar);
gbnet_status gb_backward_f64(gb_net_f64 *net, const gb_batch *b, const double *ebar, const double *ebar_dot,
                             double *grad, double *dbar);
/* The last forward's edges grouped by neighbor atom: in_offsets [n_atoms+1], in_edges
 * [n_edges] (edge ids, in edge order within each atom). Valid until the next forward. */
void gb_net_in_edges_f32(const gb_net_f32 *net, const int **in_offsets, const int **in_edges);
void gb_net_in_edges_f64(const gb_net_f64 *net, const int **in_offsets, const int **in_edges);

/* Makes the next forward of net (if an evaluation of a tabulated model) read
 * the graph arrays that lead's last forward built, instead of building its
 * own: the in-edge lists, edge lengths and table cells depend on the batch
 * alone, so committee members on one graph share them. The caller promises
 * that forward runs on lead's batch and lead runs no forward before net's
 * backward; where the two cannot share (not both evaluating tables on the
 * same grid), net builds its own. lead NULL clears a share. */
void gb_net_share_graph_f32(gb_net_f32 *net, const gb_net_f32 *lead);
void gb_net_share_graph_f64(gb_net_f64 *net, const gb_net_f64 *lead);

/* What the last forward computed, for measuring channel importance (gbnet_model_prune):
 * rows [0, n_centers) of an activation, row-major [rows][cols], valid until the next pass.
 *   GB_ACT_X       x_t, the residual stream entering block t (t = T: the readout's input)
 *   GB_ACT_M       m_t, block t's cfconv output
 *   GB_ACT_S1      ssp(o1_t), block t's hidden layer
 *   GB_ACT_READOUT ssp(p), the readout's hidden layer (t ignored)
 *   GB_ACT_LENGTHS the distinct edge lengths the filter ran on, one column (exact
 *                  models, or any model in GB_PASS_TRAIN; t ignored)                  */
typedef enum { GB_ACT_X, GB_ACT_M, GB_ACT_S1, GB_ACT_READOUT, GB_ACT_LENGTHS } gb_activation;
const float *gb_net_activation_f32(const gb_net_f32 *net, gb_activation which, int t, int *rows, int *cols);
const double *gb_net_activation_f64(const gb_net_f64 *net, gb_activation which, int t, int *rows, int *cols);

#endif
