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

/* ------------------------------------------- rank-reduced dense layers */

/* Ranks of the dense layers (docs/compression.md): per block the input layer
 * (in), the two output layers (out1, out2), and the first readout layer. 0:
 * a full weight W [out][in]; r in 1..min(out,in)-1: W = A B stored as the
 * factors A [out][r] and B [r][in] (the parameter blob holds A then B where W
 * would be; docs/potential-format.md section RANK). */
typedef struct {
    int in[GBNET_MAX_BLOCKS], out1[GBNET_MAX_BLOCKS], out2[GBNET_MAX_BLOCKS];
    int readout;
} gbnet_ranks;
/* The model's ranks (all 0 for a model without factored layers). */
void gbnet_model_get_ranks(const gbnet_model *model, gbnet_ranks *ranks);
/* 1 if any dense layer is factored. */
int gbnet_model_is_factored(const gbnet_model *model);
/* Like gbnet_model_create, with the given ranks (NULL: all full); factors
 * are initialised so that A B has the scale of a full layer's init. */
gbnet_status gbnet_model_create_ranked(gbnet_model **out, const gbnet_hyperparams *hp, const gbnet_ranks *ranks,
                                       uint64_t seed);
/* The same model with every factored layer multiplied out into a full W
 * (for readers of the plain blob, e.g. pair_style gbnet/kk). */
gbnet_status gbnet_model_expand_ranks(gbnet_model **out, const gbnet_model *model);

/* What gbnet_model_reduce_rank does to each dense layer. A layer with a rank
 * r > 0 in `rank` becomes W ~ A B of rank r (truncated SVD, sqrt(sigma) in
 * both factors); with 0 there, and energy in (0, 1], the smallest r keeping
 * that share of sum sigma^2 (kept full when A and B would not be smaller
 * than W, i.e. r (out + in) >= out in: the break-even rank); with 0
 * and energy 0 the layer is left as it is. A factored layer is multiplied
 * out first, so ranks can be reduced again. */
typedef struct {
    gbnet_ranks rank;
    double energy;
} gbnet_rank_spec;
/* "R" (every dense layer) or "in=R1,out1=R2,out2=R3,readout=R4" (any subset,
 * the same for every block) into spec->rank; spec->energy is left alone. */
gbnet_status gbnet_rank_spec_parse(gbnet_rank_spec *spec, const char *text);
/* A new model with the dense layers reduced (weights, normalization, table,
 * repulsive core, coverage and provenance copied). A rank out of
 * 1..min(out,in)-1 or an energy outside [0, 1] is an error naming the layer. */
gbnet_status gbnet_model_reduce_rank(const gbnet_model *model, const gbnet_rank_spec *spec, gbnet_model **out);
/* Dense layers by kind, for gbnet_model_singular_values. */
typedef enum { GBNET_DENSE_IN = 0, GBNET_DENSE_OUT1 = 1, GBNET_DENSE_OUT2 = 2, GBNET_DENSE_READOUT = 3 } gbnet_dense_kind;
/* Singular values (descending) of one dense layer's W (multiplied out if
 * factored) into sigma [min(out,in)]; block is ignored for the readout.
 * Returns min(out,in), or 0 with a message for a bad layer or no memory. */
int gbnet_model_singular_values(const gbnet_model *model, gbnet_dense_kind kind, int block, double *sigma);

/* ------------------------------------------------- repulsive core (ZBL) */

/* The optional repulsive core (docs/model.md section 7): the ZBL screened
 * nuclear repulsion of every pair of atoms, E(d) = 14.399645 z1 z2 / d *
 * phi(d / a), times a switch that is 1 below inner and falls smoothly (C2)
 * to 0 at outer, added to the network's energy in every evaluation. Radii
 * are per element pair in model order, inner and outer [n_elements]
 * [n_elements] (symmetric, Angstrom, 0 < inner < outer <= cutoff); NULL
 * for both removes the core. Create workspaces after setting it. */
gbnet_status gbnet_model_set_zbl(gbnet_model *model, const double *inner, const double *outer);
/* 1 if the model has a repulsive core (and then fills inner, outer
 * [n_elements][n_elements] when not NULL), else 0. */
int gbnet_model_zbl(const gbnet_model *model, double *inner, double *outer);
/* The switched ZBL pair energy (eV) of atomic numbers z1, z2 at distance d
 * (Angstrom), and its derivative in *dE_dd (eV/A) if not NULL. */
double gbnet_zbl_pair_energy(int z1, int z2, double d, double inner, double outer, double *dE_dd);

/* --------------------------------------------- what the training covered */

/* What the training data covered, recorded by the trainer in the potential
 * file (section COVR) so that evaluation can tell when a structure leaves it. */
typedef struct {
    int n_frames;                 /* training frames */
    int trained_energies, trained_forces, trained_stresses; /* 0/1: labels fitted (weight > 0 and present) */
    /* shortest distance (A) between atoms of elements a and b in any training
     * frame, [a][b] symmetric in model order; 0: no such pair within the cutoff */
    double shortest_distance[GBNET_MAX_ELEMENTS][GBNET_MAX_ELEMENTS];
    int n_periodic;               /* training frames periodic in all three directions */
    double volume_per_atom_min;   /* A^3 per atom over those frames (0 when n_periodic = 0) */
    double volume_per_atom_max;
} gbnet_coverage;

/* The model's coverage record, or NULL if its file has none (older files,
 * models not made by the trainer). */
const gbnet_coverage *gbnet_model_coverage(const gbnet_model *model);
/* Sets (a copy of) the coverage record; NULL removes it. */
gbnet_status gbnet_model_set_coverage(gbnet_model *model, const gbnet_coverage *coverage);

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

/* ------------------------------------------- quantized dense layers */

/* Quantized dense layers (`gbnet compress --quantize`, docs/compression.md
 * "Quantization"): every dense layer of the interaction blocks (in, out1,
 * out2) and readout1 runs on rounded weights and inputs in float evaluation
 * (GBNET_FLOAT workspaces), forward and backward. The file keeps the float
 * weights (gbnet_model_params); double evaluation and training ignore the
 * record and compute the float model. */
typedef enum {
    GBNET_QUANT_NONE = 0,
    GBNET_QUANT_BF16 = 1, /* weights and layer inputs rounded to bfloat16, float sums */
    GBNET_QUANT_INT8 = 2  /* int8 weights (scale per output channel) and inputs (calibrated scale per layer) */
} gbnet_quant_mode;
/* The model's mode (GBNET_QUANT_NONE when float). */
gbnet_quant_mode gbnet_model_quantization(const gbnet_model *model);
/* "none", "bf16", "int8". */
const char *gbnet_quant_mode_name(gbnet_quant_mode mode);
/* The kernels a quantized model of this mode runs on this CPU: "AMX",
 * "AVX-512" (AVX512-BF16 / AVX512-VNNI) or "plain C" (chosen by CPUID). */
const char *gbnet_quant_kernels(gbnet_quant_mode mode);
/* Sets the quantization. int8 calibrates each layer's input scale on the n
 * structures (n >= 1): the `percentile` (50 < percentile <= 100) of |input|
 * over all of them, by the float model (the model's table, if any, is used).
 * bf16 needs no structures (n may be 0). GBNET_QUANT_NONE removes the record.
 * Create workspaces afterwards. */
gbnet_status gbnet_model_quantize(gbnet_model *model, gbnet_quant_mode mode, int n,
                                  const gbnet_structure *structures, double percentile);
#define GBNET_DEFAULT_QUANT_PERCENTILE 100.0
/* Replaces the float weights of the quantized layers by the values those layers
 * multiply by (bf16-rounded, or int8 times its channel scale) and removes the
 * record: the float model with the quantized weights, whose forces are the exact
 * derivative of its energy (measurements: it separates weight from input rounding). */
gbnet_status gbnet_model_dequantize_weights(gbnet_model *model);
/* int8: the calibrated input clip (|x| mapped to 127) of dense layer `layer`
 * (3t + 0/1/2 for block t's in/out1/out2, 3T for readout1); 0 otherwise. */
double gbnet_model_quant_clip(const gbnet_model *model, int layer);


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

/* ------------------------------------------- checking against coverage */

/* How far a structure or graph lies outside the model's coverage record. */
typedef struct {
    int atoms_checked;        /* owned atoms (graph) or atoms (structure) looked at */
    int atoms_too_close;      /* of those, atoms with a neighbor closer than (1 - margin) times the
                                 shortest trained distance of the pair (or of a pair never seen) */
    int pairs_too_close;      /* edges (ordered pairs from the checked atoms) closer than that */
    double closest_ratio;     /* smallest d / shortest trained distance over the edges; below 1:
                                 outside; 0: a pair never seen in training; 1 when no edge */
    int closest_atom, closest_neighbor; /* the edge of closest_ratio (graph indices), -1 if none */
    int volume_checked;       /* 1 when a volume was given and the training had periodic frames */
    int volume_outside;       /* 1 when that volume per atom lies outside the trained range */
    double volume_per_atom;   /* the volume compared (A^3/atom), 0 if none */
} gbnet_coverage_report;

/* Compares the edges of the owned centers of a graph (d < cutoff) with the
 * model's coverage record, and volume_per_atom (A^3; <= 0: not compared,
 * e.g. for molecules) with the trained range. An edge is too close when
 * d < (1 - distance_margin) * shortest trained distance (0 <= margin < 1;
 * GBNET_DEFAULT_DISTANCE_MARGIN, docs/model.md "Extrapolation checks").
 * Fails with GBNET_ERR_UNSUPPORTED when the model has no record. Cheap: one
 * pass over the edges, no network. A report of each rank adds up (atoms,
 * pairs) and takes the minimum (closest_ratio) to the global one. */
gbnet_status gbnet_coverage_check_graph(const gbnet_model *model, const gbnet_graph *graph, double volume_per_atom,
                                        double distance_margin, gbnet_coverage_report *report);
/* The same for a structure (its neighbor list is built here); the volume of
 * a cell periodic in all three directions is compared. */
gbnet_status gbnet_coverage_check(const gbnet_model *model, const gbnet_structure *structure, double distance_margin,
                                  gbnet_coverage_report *report);
/* The default relative margin of the distance check (rule: docs/model.md). */
#define GBNET_DEFAULT_DISTANCE_MARGIN 0.02
/* The coverage record of n structures (what gbnet train records of its
 * training frames): the shortest distance of every element pair within the
 * model's cutoff, the range of volume per atom of the cells periodic in all
 * three directions, n_frames = n. The trained_* flags are left 0 for the
 * caller to set (which labels were fitted). Store it with
 * gbnet_model_set_coverage. */
gbnet_status gbnet_coverage_measure(const gbnet_model *model, int n, const gbnet_structure *structures,
                                    gbnet_coverage *out);
/* ------------------------------------------ what the readout was fitted on */

/* The range of the readout's input over the training atoms (section FRNG):
 * per element and channel, the smallest and largest value of the atom
 * features x_T after the last interaction block, which the readout MLP reads.
 * An atom whose features leave that box asks the readout for something it
 * was never fitted on, also where no distance is shorter than in training
 * (a torsion, a bond pattern the data never had). The record belongs to the
 * weights it was measured with: a model whose network changed since (other
 * F, pruned, rank-reduced, quantized, retrained) never uses it (it is
 * "stale"); tabulated filters change x_T by far less than a margin, so
 * gbnet compress --table keeps it. */
typedef struct {
    int n_elements;                       /* the model's */
    int n_features;                       /* F of the network it was measured on */
    long long atoms[GBNET_MAX_ELEMENTS];  /* training atoms of each element (0: never in training) */
    const double *min;                    /* [n_elements][n_features] smallest x_T over those atoms */
    const double *max;                    /* [n_elements][n_features] largest */
} gbnet_feature_ranges;

/* The model's record, or NULL if it has none. With stale not NULL, *stale =
 * 1 when the record was measured on other weights (then the checks refuse
 * it), else 0; that costs one pass over the weights. */
const gbnet_feature_ranges *gbnet_model_feature_ranges(const gbnet_model *model, int *stale);
/* Sets (a copy of) a record, bound to the model's present weights; NULL
 * removes it. n_elements and n_features must be the model's; min <= max. */
gbnet_status gbnet_model_set_feature_ranges(gbnet_model *model, const gbnet_feature_ranges *ranges);
/* Records the ranges over every atom of n structures (n >= 1), evaluated in
 * double precision by the model's own network (its table, if any), and sets
 * them (what gbnet train records of its training frames with the saved
 * weights, and gbnet coverage of given frames). */
gbnet_status gbnet_model_record_feature_ranges(gbnet_model *model, int n, const gbnet_structure *structures);

/* How far atoms' readout inputs lie outside the record. An atom is outside
 * when some channel c of its element e leaves [min - m w, max + m w], w =
 * max - min (floored at 1e-6 (|min| + |max|) + 1e-12, so that a channel
 * that never varied is not outside by rounding), m the margin; an atom of an
 * element absent from training is always outside. */
typedef struct {
    int atoms_checked;       /* owned atoms (graph) or atoms (structures) looked at */
    int atoms_outside;       /* of those, atoms outside by more than the margin */
    double largest_excess;   /* over atoms and channels, the distance outside [min, max] in units of
                                w (0: all inside; INFINITY: an element never in training) */
    int largest_atom, largest_element, largest_channel; /* where (atom index in the graph or
                                structure; channel -1 for an untrained element); -1 if all inside */
} gbnet_feature_report;

/* Checks the owned atoms of graph against the record of ws's model, from the
 * features of ws's last gbnet_evaluate_graph, which must have been on this
 * graph (any precision; no network run here). A report of each rank adds up
 * (atoms) and takes the maximum (largest_excess) to the global one; the
 * result does not depend on the thread count. GBNET_ERR_UNSUPPORTED when the
 * model has no record or a stale one. */
gbnet_status gbnet_feature_check_graph(gbnet_workspace *ws, const gbnet_graph *graph, double margin,
                                       gbnet_feature_report *report);
/* The same for n structures: runs the network forward (no forces) with ws
 * (its precision) and fills reports[i] for structure i. */
gbnet_status gbnet_feature_check(gbnet_workspace *ws, int n, const gbnet_structure *structures, double margin,
                                 gbnet_feature_report *reports);
/* The default feature margin m (rule: docs/model.md "Extrapolation checks"). */
#define GBNET_DEFAULT_FEATURE_MARGIN 0.35

/* ------------------------------------------- structured pruning (compression) */

/* What to keep when pruning (gbnet_model_prune); 0 keeps the model's own size. */
typedef struct {
    int n_features;    /* channels of every feature space, 1..F */
    int readout_width; /* neurons of the readout's hidden layer, 1..R */
    int n_blocks;      /* interaction blocks, 1..T */
} gbnet_prune_spec;

/* What a pruned model kept of the measured importance (gbnet_model_prune):
 * per kind of channel, the kept share of the summed importance (0..1; for the
 * per-block kinds the mean over the kept blocks). */
typedef struct {
    double residual;  /* the residual stream x (shared by all blocks and the readout) */
    double conv;      /* the cfconv channels h, m of each block */
    double hidden;    /* the hidden layer of each block's output MLP */
    double filter;    /* the hidden layer of each block's filter network */
    double readout;   /* the readout's hidden layer */
    double blocks;    /* the blocks' updates of the residual stream */
    int kept_block[GBNET_MAX_BLOCKS]; /* the original index of each kept block */
    int n_structures, n_atoms; /* what the importance was measured on */
} gbnet_prune_report;

/* A smaller ordinary model (docs/compression.md, "Structured pruning"): every
 * feature space of width F (the residual stream; per block the cfconv
 * channels, the output MLP's hidden layer and the filter network's hidden
 * layer) keeps its spec->n_features most important channels, the readout's
 * hidden layer its spec->readout_width most important neurons, and the model
 * its spec->n_blocks most important interaction blocks (in their order). A
 * channel's importance is the spread of its activation over the atoms (or
 * edges) of the n structures times the norm of the weights that read it; a
 * block's is the RMS of its update of the residual stream. What a removed
 * channel or block contributed on average is folded into a bias (or the
 * embedding) where one follows. Normalization, reference energies, repulsive
 * core and coverage are kept; a filter table is not (tabulate the result
 * again), and factored layers are multiplied out (reduce the rank again).
 * The pruned model needs fine-tuning (train with init_from). report may be NULL. */
gbnet_status gbnet_model_prune(gbnet_model **out, const gbnet_model *model, const gbnet_prune_spec *spec, int n,
                               const gbnet_structure *structures, gbnet_prune_report *report);

/* ------------------------------------------------------------ committees */

/* A committee: several models with the same elements (in the same order) and
 * the same cutoff, evaluated together on one neighbor list, graph and packing.
 * Its spread estimates the model error (DeePMD-kit's "model deviation").
 * A committee file is a potential file whose main sections hold member 0 and
 * whose optional CMTE section holds the others (docs/potential-format.md):
 * gbnet_model_load reads member 0 of it, gbnet_committee_load every member,
 * and a single-model file is a committee of one. */
typedef struct gbnet_committee gbnet_committee;
#define GBNET_MAX_COMMITTEE 64

gbnet_status gbnet_committee_load(gbnet_committee **out, const char *path);
/* A committee of copies of models[0..n-1]; GBNET_ERR_INVALID_ARGUMENT naming
 * the member when elements or cutoffs differ. */
gbnet_status gbnet_committee_create(gbnet_committee **out, const gbnet_model *const *models, int n);
/* Member 0 as the main sections, the others in CMTE; atomic like gbnet_model_save. */
gbnet_status gbnet_committee_save(const gbnet_committee *committee, const char *path);
void gbnet_committee_free(gbnet_committee *committee);
int gbnet_committee_size(const gbnet_committee *committee);
const gbnet_model *gbnet_committee_member(const gbnet_committee *committee, int member);

/* Per-structure spread of a committee of M members, DeePMD-kit's definitions
 * (population standard deviations over members, i.e. divided by M):
 *   force deviation of atom i   sqrt(mean_m |F_i^m - mean_m F_i^m|^2)      eV/A
 *   energy deviation            std_m(E^m) / N                             eV/atom
 *   virial deviation            std_m(W^m_ab) / N for each of the 9 components,
 *                               max and min over them, and "mean"
 *                               sqrt(mean_ab std^2) (as DeePMD's avg_devi_v) eV/atom */
typedef struct {
    double energy_deviation;
    double force_deviation_max, force_deviation_min, force_deviation_mean; /* over atoms */
    double virial_deviation_max, virial_deviation_min, virial_deviation_mean;
    double *atom_force_deviations; /* [n_atoms] caller-owned, or NULL to skip */
    double *member_energies;       /* [M] caller-owned, or NULL to skip */
} gbnet_committee_deviation;

typedef struct gbnet_committee_workspace gbnet_committee_workspace;

/* One workspace per member (their weights in the chosen precision) plus the
 * shared neighbor lists, packing and graph. The committee must outlive it. */
gbnet_status gbnet_committee_workspace_create(gbnet_committee_workspace **out, const gbnet_committee *committee,
                                              gbnet_precision precision);
void gbnet_committee_workspace_free(gbnet_committee_workspace *cws);
void gbnet_committee_workspace_set_threads(gbnet_committee_workspace *cws, int n_threads);
size_t gbnet_committee_workspace_bytes(const gbnet_committee_workspace *cws);
/* Which prediction the results hold: -1 (the default) the committee mean,
 * 0..M-1 that member's own (deviations are the same either way). */
gbnet_status gbnet_committee_workspace_set_output(gbnet_committee_workspace *cws, int member);

/* Like gbnet_evaluate: neighbor lists are built and packed once; each pack is
 * run through every member's network in member order; results[i] receive the
 * mean (or chosen member) and deviations[i] (or NULL) the spread. */
gbnet_status gbnet_committee_evaluate(gbnet_committee_workspace *cws, int n, const gbnet_structure *structures,
                                      gbnet_result *results, gbnet_committee_deviation *deviations);

/* Like gbnet_evaluate_graph on one graph for every member: result receives the
 * mean (or chosen member); member_energies [M], member_virials [M][9] and
 * member_forces [M][n_total][3] (each NULL to skip) receive every member's own
 * (ghost rows of the forces included: an MD code sums them into their owners
 * before computing deviations, see gbnet_committee_force_deviations). The
 * graph may come from gbnet_committee_graph_from_full_list. With the mean as
 * output and neither member_virials nor member_forces asked for, the forces
 * and virials are assembled once from the members' mean dE/dd over the edges
 * (they are linear in it): the same values to rounding, for the MD steps
 * that compute no deviation. Members with tabulated filters on one grid
 * share the graph's in-edge lists, edge lengths and table cells. */
gbnet_status gbnet_committee_evaluate_graph(gbnet_committee_workspace *cws, const gbnet_graph *graph,
                                            gbnet_graph_result *result, double *member_energies,
                                            double *member_virials, double *member_forces);
/* Member `member` alone on the graph, as gbnet_evaluate_graph with that
 * member's workspace (its repulsive core included): for the steps of an MD
 * that integrates with one member and needs the others only now and then
 * (DeePMD-kit's out_freq). */
gbnet_status gbnet_committee_evaluate_graph_member(gbnet_committee_workspace *cws, int member,
                                                   const gbnet_graph *graph, gbnet_graph_result *result);
/* gbnet_feature_check_graph with member `member`'s features of its last
 * evaluation on graph (by gbnet_committee_evaluate_graph, or
 * gbnet_committee_evaluate_graph_member of that member) and its record. */
gbnet_status gbnet_committee_feature_check_graph(gbnet_committee_workspace *cws, int member, const gbnet_graph *graph,
                                                 double margin, gbnet_feature_report *report);
/* gbnet_graph_from_full_list once for the whole committee (the cutoff is shared). */
gbnet_status gbnet_committee_graph_from_full_list(gbnet_committee_workspace *cws, gbnet_graph *graph,
                                                  const double *positions, const gbnet_full_list *list,
                                                  int overlap[2]);

/* deviations[i] = sqrt(mean_m |F_i^m - mean_m F_i^m|^2) for i < n_atoms, from
 * forces [n_members][stride][3] (atom i of member m at forces[(m*stride+i)*3]). */
void gbnet_committee_force_deviations(double *deviations, const double *forces, int n_members, int n_atoms,
                                      int stride);

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
