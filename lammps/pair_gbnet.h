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

  // callbacks handed to the core (gbnet_exchange_fn)
  static void forward_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);
  static void reverse_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);

  // settings
  int precision;      // gbnet_precision: GBNET_DOUBLE or GBNET_FLOAT
  int n_threads;      // OpenMP threads inside the core; <= 0: OpenMP default

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
