/* pair_style gbnet: the gbnet SchNet-family neural-network potential in LAMMPS.
 *
 * Message passing reaches T*rc, beyond LAMMPS's ghost shell, so features are
 * exchanged between interaction blocks with this pair style's forward/reverse
 * communication (docs/pair_gbnet.md): before block t the
 * ghost rows get their owners' features; in the backward pass ghost feature
 * gradients are summed into their owners. Results do not depend on the number
 * of MPI ranks.
 *
 * Atom types mapped to NULL in pair_coeff (pair_style hybrid/overlay) are not
 * part of gbnet's graph: the graph's nodes are the mapped atoms only, owned
 * ones first, and node_of_atom translates LAMMPS indices. */
#ifdef PAIR_CLASS
// clang-format off
PairStyle(gbnet, PairGBNet);
// clang-format on
#else

#ifndef LMP_PAIR_GBNET_H
#define LMP_PAIR_GBNET_H

#include "pair.h"

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "gbnet.h"

namespace LAMMPS_NS {

class PairGBNet : public Pair {
 public:
  PairGBNet(class LAMMPS *);
  ~PairGBNet() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  double memory_usage() override;

  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;

 protected:
  void allocate();
  void release_model();
  void ensure_workspace();
  void build_graph(gbnet_graph &graph);
  void build_nodes();
  int node_of(int atom_index) const { return node_of_atom.empty() ? atom_index : node_of_atom[atom_index]; }
  int atom_of(int node) const { return atom_of_node.empty() ? node : atom_of_node[node]; }
  void exchange(void *rows, int n_cols, size_t elem_size, bool reverse);
  // extrapolation warnings (warn_coverage): graph and cell against the
  // potential's record of its training data
  bool parse_coverage_keyword(const std::string &key, const std::string &value);
  void check_coverage(const gbnet_graph &graph);
  // after the evaluation: the owned atoms' readout inputs against the record
  // of their trained ranges (member 0's with a committee)
  void check_features(const gbnet_graph &graph);
  int feature_member() const;

  // committees: integrate with the mean, report the model deviation
  // (docs/pair_gbnet.md, "Committees and model deviation")
  void load_committee();
  void release_committee();
  void ensure_committee_workspace();
  void evaluate_committee(gbnet_graph &graph, gbnet_graph_result &result, bool with_members);
  void committee_deviation(const gbnet_graph &graph);
  void open_deviation_file();
  void write_deviation();

  // callbacks handed to the core (gbnet_exchange_fn)
  static void forward_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);
  static void reverse_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);

  // settings
  int precision;      // gbnet_precision: GBNET_DOUBLE or GBNET_FLOAT
  int n_threads;      // OpenMP threads inside the core; <= 0: OpenMP default
  int warn_coverage;  // 1: check every step against the training coverage record
  int warn_every;     // steps between two warning lines (the first comes at once)
  int warn_max;       // warning lines printed at most; then one line says they stop
  double warn_distance_margin;  // too close below (1 - margin) times the shortest trained distance
  double warn_feature_margin;   // outside beyond margin times a channel's trained range
  int warnings_printed;
  bigint last_warning_step;
  int feature_warnings_printed;      // the feature check's own rate limit (same warn_every, warn_max)
  bigint last_feature_warning_step;
  bool check_feature_ranges;         // the model has a current record of its readout's input ranges
  bigint steps_outside;  // steps on which anything was outside the training data
  std::string warned_no_record;  // potential already warned about having no coverage record

  // potential
  gbnet_model *model;
  gbnet_workspace *workspace;
  int workspace_precision;
  std::string potential_path;
  double cutoff;
  std::vector<int> type_element;    // [ntypes+1] element index of each LAMMPS type, -1: NULL
  bool all_types_mapped;            // no NULL: graph nodes are LAMMPS's atoms, in order

  // per-step buffers: they only grow, so steady state does not allocate
  std::vector<int> species;          // [nodes]; edges live in the workspace
  std::vector<double> forces;        // [nodes][3]
  std::vector<double> atom_energies; // [owned nodes]
  std::vector<double> atom_virials;  // [nodes][9]
  // with NULL types only (empty otherwise: the identity)
  std::vector<int> node_of_atom;           // [nall] graph node of a LAMMPS atom, -1: not gbnet's
  std::vector<int> atom_of_node;           // [nodes] LAMMPS atom of a graph node
  std::vector<double> node_positions;      // [nodes][3]
  std::vector<int> node_centers, node_counts, node_entries;    // the full list in node indices
  std::vector<const int *> node_entry_start;
  int n_local_nodes, n_nodes;

  // committee (nullptr with a single-model file) and the model deviation
  gbnet_committee *committee;
  gbnet_committee_workspace *committee_workspace;
  int committee_workspace_precision;
  int committee_output;              // -1: the mean; else that member
  int out_freq;                      // write the deviation file every out_freq steps (0: never)
  std::string out_file;
  FILE *deviation_fp;                // rank 0 only
  bigint last_deviation_step;
  std::string deviation_fix_id;      // fix property/atom holding d_gbnet_devi_f
  std::vector<double> member_energies, member_virials, member_forces;  // [M], [M][9], [M][nall][3]
  std::vector<double> member_rows;   // [nall][3M]: per-atom rows for the reverse communication
  std::vector<double> local_forces;  // [M][nlocal][3] after summing ghosts into owners
  std::vector<double> atom_deviation;// [nlocal]

  // the column range of the feature rows being exchanged now: rows of
  // exchange_stride numbers of exchange_elem_size bytes, columns
  // [exchange_col0, exchange_col0 + exchange_cols) travel in this pass
  void *exchange_rows;
  int exchange_stride, exchange_col0, exchange_cols;
  size_t exchange_elem_size;
};

}    // namespace LAMMPS_NS

#endif
#endif
