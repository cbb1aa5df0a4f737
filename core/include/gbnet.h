/*
 * gbnet.h -- the one public header of gbnet, a graph-batched SchNet-family
 * neural-network interatomic potential.
 *
 * Conventions
 *   - Units: Angstrom, eV, eV/Angstrom (LAMMPS "units metal").
 *   - Every fallible call returns a gbnet_status; on failure a readable
 *     message is available from gbnet_last_error() (thread-local, valid until
 *     the next failing call on the same thread).
 *   - The library never prints, exits or aborts.
 *   - Opaque handles: gbnet_model (weights, immutable after load: may be
 *     shared by threads) and gbnet_workspace (scratch memory for evaluation:
 *     one per thread; several may run concurrently on one model).
 *   - Arrays are row-major; a "[n][3]" buffer holds n xyz triples.
 *   - Virial: W = -sum_edges r_ij (x) dE/dr_ij, stored as 9 numbers
 *     (xx xy xz yx yy yz zx zy zz); stress = -W / V.
 */
#ifndef GBNET_H
#define GBNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GBNET_VERSION_STRING "0.1.0"
#define GBNET_MAX_ELEMENTS 32
#define GBNET_MAX_BLOCKS 16

typedef enum {
    GBNET_OK = 0,
    GBNET_ERR_INVALID_ARGUMENT = 1, /* a caller passed something impossible */
    GBNET_ERR_NO_MEMORY = 2,
    GBNET_ERR_IO = 3,               /* cannot open / read / write a file */
    GBNET_ERR_FORMAT = 4,           /* a file is not what it should be (parse error, truncation) */
    GBNET_ERR_VERSION = 5,          /* potential file of an unsupported format version */
    GBNET_ERR_CHECKSUM = 6,         /* potential file corrupted */
    GBNET_ERR_NUMERIC = 7,          /* NaN / Inf, atoms too close */
    GBNET_ERR_UNSUPPORTED = 8,
    GBNET_ERR_INTERRUPTED = 9
} gbnet_status;

/* Message of the last failure on this thread ("" if none). */
const char *gbnet_last_error(void);
/* Short fixed name of a status code, e.g. "format error". */
const char *gbnet_status_name(gbnet_status status);
const char *gbnet_version(void);

/* ------------------------------------------------------------------ model */

typedef struct gbnet_model gbnet_model;

typedef struct {
    int n_features;      /* F: feature width of atoms and filters */
    int n_blocks;        /* T: interaction blocks (<= GBNET_MAX_BLOCKS) */
    int n_rbf;           /* K: Gaussian radial basis functions */
    int readout_width;   /* hidden width of the readout MLP (usually F/2) */
    double cutoff;       /* rc in Angstrom */
    int n_elements;      /* number of chemical elements the model knows */
    int atomic_numbers[GBNET_MAX_ELEMENTS]; /* Z of each element, in model order */
} gbnet_hyperparams;

/* Fills hp with defaults (F=128, T=3, K=50, R=64, rc=5) and no elements. */
void gbnet_hyperparams_default(gbnet_hyperparams *hp);

/* A model with random weights (deterministic for a seed); normalization:
 * scale 1, shift 0, zero reference energies. */
gbnet_status gbnet_model_create(gbnet_model **out, const gbnet_hyperparams *hp, uint64_t seed);
gbnet_status gbnet_model_load(gbnet_model **out, const char *path);
/* Writes atomically: a temporary file in the same folder, then rename. */
gbnet_status gbnet_model_save(const gbnet_model *model, const char *path);
void gbnet_model_free(gbnet_model *model);

const gbnet_hyperparams *gbnet_model_hyperparams(const gbnet_model *model);
double gbnet_model_cutoff(const gbnet_model *model);
/* Element index (0..n_elements-1) of a chemical symbol such as "O", or -1. */
int gbnet_model_element_index(const gbnet_model *model, const char *symbol);
/* Element index of an atomic number, or -1. */
int gbnet_model_element_of_z(const gbnet_model *model, int atomic_number);
/* Free-text provenance stored in the potential file ("" if none). */
const char *gbnet_model_provenance(const gbnet_model *model);
gbnet_status gbnet_model_set_provenance(gbnet_model *model, const char *text);
/* Energy normalization: E_i = scale * eps_i + shift + e_ref[element_i]. */
void gbnet_model_get_normalization(const gbnet_model *model, double *scale, double *shift,
                                   double *e_ref /* [n_elements] or NULL */);
gbnet_status gbnet_model_set_normalization(gbnet_model *model, double scale, double shift,
                                           const double *e_ref /* [n_elements] */);
size_t gbnet_model_n_params(const gbnet_model *model);
/* Whether evaluation uses tabulated filters (see `gbnet compress`). */
int gbnet_model_is_tabulated(const gbnet_model *model);
/* Grid points per block of the tabulated filters, 0 when exact. */
int gbnet_model_table_points(const gbnet_model *model);
/* A deep copy (weights, normalization, table, provenance). */
gbnet_status gbnet_model_clone(gbnet_model **out, const gbnet_model *model);
/* The .gbnet format version this library reads and writes (docs/potential-format.md). */
#define GBNET_POTENTIAL_FORMAT_VERSION 1u
/* Replaces each block's filter network in evaluation by cubic Hermite
 * interpolation of W_t(d) and dW_t/dd sampled exactly on n_points uniform
 * points in [0, rc] (C1 in d). Saved with the model; training still uses the
 * exact weights. Create workspaces after tabulating. */
gbnet_status gbnet_model_tabulate(gbnet_model *model, int n_points);
/* Drops the table: evaluation uses the exact filter network again. */
void gbnet_model_untabulate(gbnet_model *model);
#define GBNET_DEFAULT_TABLE_POINTS 1001

/* -------------------------------------------------------------- workspace */

typedef enum { GBNET_DOUBLE = 0, GBNET_FLOAT = 1 } gbnet_precision;

typedef struct gbnet_workspace gbnet_workspace;

/* A workspace keeps the model's weights converted to its precision and all
 * scratch buffers; they grow on demand and are reused, so steady-state
 * evaluation does not allocate. The model must outlive the workspace. */
gbnet_status gbnet_workspace_create(gbnet_workspace **out, const gbnet_model *model,
                                    gbnet_precision precision);
void gbnet_workspace_free(gbnet_workspace *ws);
/* Bytes currently held by the workspace's buffers. */
size_t gbnet_workspace_bytes(const gbnet_workspace *ws);
/* Threads used inside one evaluation (OpenMP); <= 0 means the OpenMP default. */
void gbnet_workspace_set_threads(gbnet_workspace *ws, int n_threads);

/* ------------------------------------------------- evaluating structures */

typedef struct {
    int n_atoms;
    const int *species;      /* [n_atoms] element index into the model's list */
    const double *positions; /* [n_atoms][3] */
    const double *cell;      /* [3][3] lattice vectors as rows; may be NULL if no pbc */
    int pbc[3];              /* periodic along each lattice vector (0/1) */
} gbnet_structure;

typedef struct {
    double energy;           /* total energy, eV */
    double virial[9];        /* eV */
    double *atom_energies;   /* [n_atoms] caller-owned, or NULL to skip */
    double *forces;          /* [n_atoms][3] caller-owned, or NULL to skip */
} gbnet_result;

/* Evaluates n structures of any sizes together: they are packed into
 * fixed-capacity packs and run through the batched kernels. results[i]
 * receives structure i's outputs. */
gbnet_status gbnet_evaluate(gbnet_workspace *ws, int n, const gbnet_structure *structures,
                            gbnet_result *results);

/* ----------------------------------------------- evaluating a given graph */

/* Copies features of owned atoms into their ghost rows (forward) or adds
 * ghost rows into their owners and zeroes the ghosts (reverse). rows points
 * at n_total rows of n_cols numbers of elem_size bytes (4: float, 8: double). */
typedef void (*gbnet_exchange_fn)(void *ctx, void *rows, int n_cols, size_t elem_size);

typedef struct {
    int n_local;               /* atoms [0, n_local) are owned: edge centers, energies counted */
    int n_total;               /* owned + ghost atoms */
    const int *species;        /* [n_total] element index */
    const int *edge_offsets;   /* [n_local+1] CSR: edges of center i are offsets[i]..offsets[i+1]-1 */
    const int *edge_neighbor;  /* [n_edges] neighbor atom j in [0, n_total) */
    const double *edge_vector; /* [n_edges][3] r_j - r_i (images included), |.| < cutoff expected */
    /* With ghosts (n_total > n_local) both callbacks are required: message
     * passing reaches T*rc, so ghost features are exchanged between blocks. */
    gbnet_exchange_fn forward_exchange;
    gbnet_exchange_fn reverse_exchange;
    void *exchange_ctx;
} gbnet_graph;

typedef struct {
    double energy;           /* sum over owned atoms */
    double virial[9];        /* sum over this graph's edges */
    double *atom_energies;   /* [n_local] or NULL */
    double *forces;          /* [n_total][3] or NULL: overwritten, ghosts included */
    double *atom_virials;    /* [n_total][9] or NULL: each edge's virial split half to i, half to j */
    double *edge_gradients;  /* [n_edges][3] or NULL: dE/dr_ij */
} gbnet_graph_result;

gbnet_status gbnet_evaluate_graph(gbnet_workspace *ws, const gbnet_graph *graph,
                                  gbnet_graph_result *result);

/* A full neighbor list as MD codes keep it (LAMMPS's NeighList): each listed
 * center has an array of neighbor entries, every pair listed from both sides. */
typedef struct {
    int n_listed;                /* centers in the list (LAMMPS inum) */
    const int *centers;          /* [n_listed] atom of each entry, in [0, n_local) (ilist) */
    const int *counts;           /* indexed by atom: number of entries of atom i (numneigh) */
    const int *const *entries;   /* indexed by atom: atom i's entries (firstneigh) */
    int index_mask;              /* entry & index_mask is the neighbor's index (LAMMPS NEIGHMASK) */
} gbnet_full_list;

/* Fills graph->edge_offsets, edge_neighbor and edge_vector from a full list
 * and positions [n_total][3] (graph->n_local and n_total must be set),
 * keeping the pairs closer than the model's cutoff in list order; owned atoms
 * not in the list get no edges. The arrays belong to the workspace and stay
 * valid until its next call. Threaded; the result does not depend on the
 * thread count. Two atoms closer than 1e-6 Angstrom give GBNET_ERR_NUMERIC
 * and, if overlap is not NULL, their indices in overlap[0..1]. */
gbnet_status gbnet_graph_from_full_list(gbnet_workspace *ws, gbnet_graph *graph, const double *positions,
                                        const gbnet_full_list *list, int overlap[2]);

/* ------------------------------------------------------------- elements */

/* Atomic number of a chemical symbol ("H" -> 1), or 0 if unknown. */
int gbnet_atomic_number(const char *symbol);
/* Chemical symbol of an atomic number, or "X". */
const char *gbnet_element_symbol(int atomic_number);
/* Space-separated element symbols of hp in model order ("O H") into text[size]. */
void gbnet_format_elements(char *text, size_t size, const gbnet_hyperparams *hp);


/* ------------------------------------------- read access to the weights */
/* For evaluators outside the core (pair_style gbnet/kk copies the weights
 * into Kokkos Views once). The blob is gbnet_model_n_params(model) doubles,
 * tensors in the order of docs/potential-format.md (section PARM), weights
 * [out][in]; valid while the model lives and until it is changed. */
const double *gbnet_model_params(const gbnet_model *model);
/* The tabulated filters (docs/potential-format.md, section FTAB): returns the
 * grid points n per block (0 when the model is exact) and, where the pointers
 * are not NULL, sets *values and *derivs to the [T][n][F] tables W_t(d_p) and
 * dW_t/dd(d_p), d_p = p*rc/(n-1) (NULL when exact). */
int gbnet_model_filter_table(const gbnet_model *model, const double **values, const double **derivs);

#ifdef __cplusplus
}
#endif
#endif /* GBNET_H */
