/* pair_style gbnet/kk: pair_style gbnet on the KOKKOS package.
 *
 * Positions, the neighbor list, the edge graph, all features and gradients
 * and the forces live in Kokkos Views on the execution space; every kernel
 * of the network (embedding, Gaussian basis and cosine cutoff or the
 * tabulated filter, the filter network, cfconv gather, dense layers, shifted
 * softplus, readout, and the exact backward for forces and virials) is a
 * Kokkos parallel loop. The weights come from the gbnet core: the model is
 * loaded on the host by PairGBNet::coeff (public API) and copied into Views
 * once. Between interaction blocks the ghost rows of h = W_in x are filled
 * through LAMMPS's Kokkos forward communication (pack_forward_comm_kokkos);
 * in the backward pass ghost gradients are summed into their owners with the
 * reverse communication. Every output element is written by exactly one
 * thread and every sum runs in a fixed order (edges of a center in neighbor
 * list order, edges into an atom in edge order), so results do not depend on
 * threads or ranks. See docs/pair_gbnet_kokkos.md. */
#ifdef PAIR_CLASS
// clang-format off
PairStyle(gbnet/kk,PairGBNetKokkos<LMPDeviceType>);
PairStyle(gbnet/kk/device,PairGBNetKokkos<LMPDeviceType>);
PairStyle(gbnet/kk/host,PairGBNetKokkos<LMPHostType>);
// clang-format on
#else

#ifndef LMP_PAIR_GBNET_KOKKOS_H
#define LMP_PAIR_GBNET_KOKKOS_H

#include "kokkos_base.h"
#include "kokkos_type.h"
#include "pair_gbnet.h"

#include <vector>

namespace LAMMPS_NS {

template <class DeviceType> class PairGBNetKokkos : public PairGBNet, public KokkosBase {
 public:
  enum { EnabledNeighFlags = FULL };
  typedef DeviceType device_type;
  typedef ArrayTypes<DeviceType> AT;
  // rows of atoms or edges, columns of features; LayoutRight: a row is contiguous
  typedef Kokkos::View<double **, Kokkos::LayoutRight, DeviceType> t_rows;
  typedef Kokkos::View<double *, DeviceType> t_double_1d;
  typedef Kokkos::View<int *, DeviceType> t_int_1d;

  PairGBNetKokkos(class LAMMPS *);
  ~PairGBNetKokkos() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double memory_usage() override;

  int pack_forward_comm_kokkos(int, DAT::tdual_int_2d, int, DAT::tdual_xfloat_1d &, int, int *) override;
  void unpack_forward_comm_kokkos(int, int, DAT::tdual_xfloat_1d &) override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;

 protected:
  // offsets of the tensors in the parameter blob (docs/potential-format.md, PARM)
  struct BlockOffsets {
    int filter1_w, filter1_b, filter2_w, filter2_b, in_w, out1_w, out1_b, out2_w, out2_b;
  };
  void copy_model_to_views();
  void grow_atom_views(int nlocal, int nall);
  void build_edges(int nlocal, int nall);
  void compute_filters(int block);
  void forward_exchange_rows(t_rows rows);
  void reverse_exchange_rows(t_rows rows, int nlocal, int nall);

  // Y[r][o] = (accumulate ? Y : 0) + b[o] + sum_i W[o][i] X[r][i], W [O][I] at offset w in the blob
  void dense(t_rows Y, t_rows X, int rows, int O, int I, int w, int b, bool accumulate);
  // Y[r][i] = (accumulate ? Y : 0) + sum_o W[o][i] G[r][o]  (the transposed product, backward)
  void dense_transposed(t_rows Y, t_rows G, int rows, int O, int I, int w, bool accumulate);

  int n_features, n_blocks, n_rbf, readout_width, n_elements;
  int embedding_offset, readout1_w, readout1_b, readout2_w, readout2_b;
  std::vector<BlockOffsets> block_offsets;
  double energy_scale, energy_shift;
  int table_points;    // 0: exact filter network
  double table_step;

  // model, copied once at pair_coeff
  t_double_1d d_params;          // the parameter blob
  t_double_1d d_e_ref;           // [n_elements]
  t_double_1d d_table_coef;      // [T][P-1][4][F] Hermite coefficients a0..a3 (docs/model.md section 5)
  t_int_1d d_type_element;       // [ntypes+1], -1: not handled by gbnet
  t_double_1d d_zbl;             // repulsive core [4][n][n]: 14.399645 z1 z2, 1/a, inner, outer; empty: none

  // per step (grow only)
  typename AT::t_x_array_randomread x;
  typename AT::t_f_array f;
  typename AT::t_int_1d_randomread type;
  t_int_1d d_species;                        // [nall]
  t_int_1d d_edge_offsets;                   // [nlocal+1] CSR by center
  t_int_1d d_edge_center, d_edge_neighbor;   // [E]
  Kokkos::View<double *[3], Kokkos::LayoutRight, DeviceType> d_edge_vector;    // [E] r_j - r_i
  t_double_1d d_edge_length, d_edge_dEdd;    // [E]
  t_int_1d d_in_offsets, d_in_edges;         // [nall+1], [E] edges e with neighbor j, in edge order
  t_int_1d d_in_fill;                        // [nall] scratch of the transposed index
  t_rows d_rbf, d_rbf_slope;                 // [E][K]
  t_rows d_hidden, d_hidden_slope;           // [E][F] filter hidden layer and its d/dd
  std::vector<t_rows> d_filter, d_filter_slope;    // [T] of [E][F]: W_t(d_e), dW_t/dd
  std::vector<t_rows> d_h;                   // [T] of [nall][F]: h = W_in x (ghost rows exchanged)
  std::vector<t_rows> d_out1;                // [T] of [nlocal][F]: W_o1 m + b_o1
  t_rows d_x, d_m, d_s;                      // [nlocal][F]
  t_rows d_readout1;                         // [nlocal][R]
  t_rows d_grad_x, d_grad_m, d_grad_s;       // [nlocal][F]
  t_rows d_grad_h;                           // [nall][F]
  t_rows d_readout_grad;                     // [nlocal][R]
  Kokkos::View<double *[6], Kokkos::LayoutRight, DeviceType> d_atom_virial;    // [nall]
  int max_edges, max_local, max_all;
  int n_edges;

  DAT::tdual_efloat_1d k_eatom;
  DAT::tdual_virial_array k_vatom;
  typename AT::t_efloat_1d d_eatom;
  typename AT::t_virial_array d_vatom;

  // rows being exchanged by the current forward/reverse communication
  t_rows d_exchange;
  typename t_rows::HostMirror h_exchange;
  int exchange_on_device;
};

}    // namespace LAMMPS_NS

#endif
#endif
