/* pair_style gbnet: the gbnet SchNet-family neural-network potential in LAMMPS.
 *
 * Message passing reaches T*rc, beyond LAMMPS's ghost shell, so features are
 * exchanged between interaction blocks with this pair style's forward/reverse
 * communication (docs/pair_gbnet.md): before block t the
 * ghost rows get their owners' features; in the backward pass ghost feature
 * gradients are summed into their owners. Results do not depend on the number
 * of MPI ranks. */
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
  // extrapolation warnings (warn_coverage): graph and cell against the
  // potential's record of its training data
  bool parse_coverage_keyword(const std::string &key, const std::string &value);
  void check_coverage(const gbnet_graph &graph);

  // callbacks handed to the core (gbnet_exchange_fn)
  static void forward_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);
  static void reverse_exchange(void *ctx, void *rows, int n_cols, size_t elem_size);

  // settings
  int precision;      // gbnet_precision: GBNET_DOUBLE or GBNET_FLOAT
  int n_threads;      // OpenMP threads inside the core; <= 0: OpenMP default
  int warn_coverage;  // 1: check every step against the training coverage record
  int warn_every;     // steps between two warning lines (the first comes at once)
  int warn_max;       // warning lines printed at most; then one line says they stop
  int warnings_printed;
  bigint last_warning_step;
  bigint steps_outside;  // steps on which anything was outside the training data

  // potential
  gbnet_model *model;
  gbnet_workspace *workspace;
  int workspace_precision;
  std::string potential_path;
  double cutoff;
  std::vector<int> type_element;    // [ntypes+1] element index of each LAMMPS type
  std::vector<std::string> type_symbol;

  // per-step buffers: they only grow, so steady state does not allocate
  std::vector<int> species;          // [nall]; edges live in the workspace
  std::vector<double> forces;        // [nall][3]
  std::vector<double> atom_energies; // [nlocal]
  std::vector<double> atom_virials;  // [nall][9]

  // rows being exchanged by the current forward/reverse communication
  void *exchange_rows;
  int exchange_cols;
  size_t exchange_elem_size;
};

}    // namespace LAMMPS_NS

#endif
#endif
