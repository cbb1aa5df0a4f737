/* pair_style gbnet/kk: see pair_gbnet_kokkos.h and docs/pair_gbnet_kokkos.md.
 * The equations are those of docs/model.md; the comments name the symbols. */
#include "pair_gbnet_kokkos.h"

#include "atom_kokkos.h"
#include "atom_masks.h"
#include "comm.h"
#include "comm_kokkos.h"
#include "error.h"
#include "force.h"
#include "kokkos.h"
#include "memory_kokkos.h"
#include "neigh_list_kokkos.h"
#include "neigh_request.h"
#include "neighbor.h"
#include "update.h"

#include "gbnet.h"

#ifdef GBNET_KOKKOS_KERNELS
#include "KokkosBlas3_gemm.hpp"
#endif

#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

namespace {

// e^x for x <= 0, exactly 0 below -200 (docs/model.md: "Exponentials below
// the working precision"), as the core's double kernels
KOKKOS_INLINE_FUNCTION double exp_cut(double x) { return x < -200.0 ? 0.0 : exp(x); }
// shifted softplus ln(1 + e^x) - ln 2 and its derivative, the sigmoid
KOKKOS_INLINE_FUNCTION double ssp(double x)
{
  return (x > 0 ? x : 0.0) + log1p(exp_cut(-fabs(x))) - 0.69314718055994530942;
}
KOKKOS_INLINE_FUNCTION double sigmoid(double x)
{
  if (x >= 0) return 1.0 / (1.0 + exp_cut(-x));
  double z = exp_cut(x);
  return z / (1.0 + z);
}

// The switched ZBL pair energy of the repulsive core (docs/model.md section
// 7, core/src/net/zbl.c) from the pair's constants zz = 14.399645 z1 z2 (eV A)
// and inv_a = 1 / screening length; *dE_dd its derivative.
KOKKOS_INLINE_FUNCTION double zbl_pair(double zz, double inv_a, double inner, double outer, double d,
                                       double *dE_dd)
{
  *dE_dd = 0.0;
  if (d >= outer) return 0.0;
  const double c[4] = {0.18175, 0.50986, 0.28022, 0.02817}, b[4] = {3.19980, 0.94229, 0.40290, 0.20162};
  double x = d * inv_a, phi = 0.0, dphi_dx = 0.0;
  for (int k = 0; k < 4; k++) {
    double e = c[k] * exp(-b[k] * x);
    phi += e;
    dphi_dx -= b[k] * e;
  }
  const double energy = zz * phi / d, de = zz * (dphi_dx * inv_a / d - phi / (d * d));
  if (d <= inner) {
    *dE_dd = de;
    return energy;
  }
  const double w = outer - inner, t = (d - inner) / w, t2 = t * t;
  const double s = 1.0 - t2 * t * (10.0 - 15.0 * t + 6.0 * t2), ds = -30.0 * t2 * (1.0 - t) * (1.0 - t) / w;
  *dE_dd = de * s + energy * ds;
  return energy * s;
}

}    // namespace

/* ---------------------------------------------------------------------- */

template <class DeviceType>
PairGBNetKokkos<DeviceType>::PairGBNetKokkos(LAMMPS *lmp) :
    PairGBNet(lmp), n_features(0), n_blocks(0), n_rbf(0), readout_width(0), n_elements(0),
    embedding_offset(0), readout1_w(0), readout1_b(0), readout2_w(0), readout2_b(0),
    energy_scale(1.0), energy_shift(0.0), table_points(0), table_step(0.0), max_edges(0),
    max_local(0), max_all(0), n_edges(0), exchange_on_device(0)
{
  respa_enable = 0;
  kokkosable = 1;
  atomKK = (AtomKokkos *) atom;
  execution_space = ExecutionSpaceFromDevice<DeviceType>::space;
  datamask_read = EMPTY_MASK;
  datamask_modify = EMPTY_MASK;
}

template <class DeviceType> PairGBNetKokkos<DeviceType>::~PairGBNetKokkos()
{
  if (copymode) return;
  memoryKK->destroy_kokkos(k_eatom, eatom);
  memoryKK->destroy_kokkos(k_vatom, vatom);
}

/* same keywords as pair_style gbnet; the network runs in double only */
template <class DeviceType> void PairGBNetKokkos<DeviceType>::settings(int narg, char **arg)
{
  PairGBNet::settings(narg, arg);
  if (precision != GBNET_DOUBLE)
    error->all(FLERR, "pair_style gbnet/kk supports only 'precision double' (use pair_style gbnet "
               "for float)");
}

/* pair_coeff * * FILE El1 ... ElN: the host model (PairGBNet::coeff), then its
 * weights into Views */
template <class DeviceType> void PairGBNetKokkos<DeviceType>::coeff(int narg, char **arg)
{
  PairGBNet::coeff(narg, arg);
  copy_model_to_views();
  // double precision computes the float model: a quantization record is ignored, as in the core
  if (gbnet_model_quantization(model) != GBNET_QUANT_NONE && comm->me == 0)
    error->warning(FLERR, "pair gbnet/kk: {} has {} quantized dense layers, which run in single precision "
                   "only: gbnet/kk (double) ignores them and uses the float weights (pair_style gbnet "
                   "precision float runs them)", potential_path,
                   gbnet_quant_mode_name(gbnet_model_quantization(model)));
  if (comm->me == 0)
    utils::logmesg(lmp, "pair gbnet/kk: {} (F={} T={} K={} R={} rc={} A, {}) on Kokkos {}\n", potential_path,
                   n_features, n_blocks, n_rbf, readout_width, cutoff,
                   table_points > 0 ? fmt::format("tabulated filters, {} points", table_points)
                                    : std::string("exact filters"),
                   DeviceType::execution_space::name());
}

template <class DeviceType> void PairGBNetKokkos<DeviceType>::copy_model_to_views()
{
  const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
  n_features = hp->n_features;
  n_blocks = hp->n_blocks;
  n_rbf = hp->n_rbf;
  readout_width = hp->readout_width;
  n_elements = hp->n_elements;
  const int F = n_features, K = n_rbf, R = readout_width;

  // the blob's tensor order (docs/potential-format.md, PARM); factored dense
  // layers (section RANK) are multiplied out into full weights here, so the
  // device kernels read the plain layout (docs/pair_gbnet_kokkos.md)
  gbnet_model *expanded = nullptr;
  if (gbnet_model_is_factored(model) && gbnet_model_expand_ranks(&expanded, model) != GBNET_OK)
    error->all(FLERR, "pair gbnet/kk: cannot multiply out the factored dense layers: {}", gbnet_last_error());
  const gbnet_model *blob_model = expanded ? expanded : model;
  size_t n_params = gbnet_model_n_params(blob_model);
  if (n_params > (size_t) 0x7fffffff)
    error->all(FLERR, "pair gbnet/kk: {} parameters exceed the int offsets used here", n_params);
  int off = 0;
  embedding_offset = off;
  off += n_elements * F;
  block_offsets.assign(n_blocks, BlockOffsets());
  for (int t = 0; t < n_blocks; t++) {
    BlockOffsets &b = block_offsets[t];
    b.filter1_w = off; off += F * K;
    b.filter1_b = off; off += F;
    b.filter2_w = off; off += F * F;
    b.filter2_b = off; off += F;
    b.in_w = off; off += F * F;
    b.out1_w = off; off += F * F;
    b.out1_b = off; off += F;
    b.out2_w = off; off += F * F;
    b.out2_b = off; off += F;
  }
  readout1_w = off; off += R * F;
  readout1_b = off; off += R;
  readout2_w = off; off += R;
  readout2_b = off; off += 1;
  if ((size_t) off != n_params)
    error->all(FLERR, "pair gbnet/kk: the parameter blob has {} numbers, the layout {}", n_params, off);

  d_params = t_double_1d("gbnet/kk:params", n_params);
  auto h_params = Kokkos::create_mirror_view(d_params);
  const double *params = gbnet_model_params(blob_model);
  for (size_t k = 0; k < n_params; k++) h_params(k) = params[k];
  Kokkos::deep_copy(d_params, h_params);
  gbnet_model_free(expanded);

  std::vector<double> e_ref(n_elements);
  gbnet_model_get_normalization(model, &energy_scale, &energy_shift, e_ref.data());
  d_e_ref = t_double_1d("gbnet/kk:e_ref", n_elements);
  auto h_e_ref = Kokkos::create_mirror_view(d_e_ref);
  for (int e = 0; e < n_elements; e++) h_e_ref(e) = e_ref[e];
  Kokkos::deep_copy(d_e_ref, h_e_ref);

  // tabulated filters: Hermite coefficients formed in double from the stored
  // values and derivatives, as docs/model.md section 5 (and the core) do
  const double *values = nullptr, *derivs = nullptr;
  table_points = gbnet_model_filter_table(model, &values, &derivs);
  if (table_points > 0) {
    const int P = table_points;
    table_step = cutoff / (P - 1);
    d_table_coef = t_double_1d("gbnet/kk:table", (size_t) n_blocks * (P - 1) * 4 * F);
    auto h_coef = Kokkos::create_mirror_view(d_table_coef);
    for (int t = 0; t < n_blocks; t++)
      for (int k = 0; k + 1 < P; k++) {
        const double *v0 = values + ((size_t) t * P + k) * F, *v1 = v0 + F;
        const double *d0 = derivs + ((size_t) t * P + k) * F, *d1 = d0 + F;
        size_t a = ((size_t) t * (P - 1) + k) * 4 * F;
        for (int c = 0; c < F; c++) {
          double m0 = table_step * d0[c], m1 = table_step * d1[c];
          h_coef(a + c) = v0[c];
          h_coef(a + F + c) = m0;
          h_coef(a + 2 * F + c) = -3 * v0[c] - 2 * m0 + 3 * v1[c] - m1;
          h_coef(a + 3 * F + c) = 2 * v0[c] + m0 - 2 * v1[c] + m1;
        }
      }
    Kokkos::deep_copy(d_table_coef, h_coef);
  } else {
    d_table_coef = t_double_1d();
  }

  // the repulsive core's per-pair constants, as core/src/net/zbl.c forms them
  const int n = n_elements;
  std::vector<double> inner(n * n), outer(n * n);
  if (gbnet_model_zbl(model, inner.data(), outer.data())) {
    d_zbl = t_double_1d("gbnet/kk:zbl", 4 * (size_t) n * n);
    auto h_zbl = Kokkos::create_mirror_view(d_zbl);
    for (int a = 0; a < n; a++)
      for (int b = 0; b < n; b++) {
        const int za = hp->atomic_numbers[a], zb = hp->atomic_numbers[b];
        h_zbl(a * n + b) = 14.399645 * za * zb;
        h_zbl(n * n + a * n + b) = (pow((double) za, 0.23) + pow((double) zb, 0.23)) / 0.46850;
        h_zbl(2 * n * n + a * n + b) = inner[a * n + b];
        h_zbl(3 * n * n + a * n + b) = outer[a * n + b];
      }
    Kokkos::deep_copy(d_zbl, h_zbl);
  } else {
    d_zbl = t_double_1d();
  }

  int ntypes = atom->ntypes;
  d_type_element = t_int_1d("gbnet/kk:type_element", ntypes + 1);
  auto h_type_element = Kokkos::create_mirror_view(d_type_element);
  for (int type = 0; type <= ntypes; type++)
    h_type_element(type) = type < (int) type_element.size() ? type_element[type] : -1;
  Kokkos::deep_copy(d_type_element, h_type_element);

  d_h.assign(n_blocks, t_rows());
  d_out1.assign(n_blocks, t_rows());
  d_filter.assign(n_blocks, t_rows());
  d_filter_slope.assign(n_blocks, t_rows());
  max_edges = max_local = max_all = 0;
}

/* ---------------------------------------------------------------------- */

template <class DeviceType> void PairGBNetKokkos<DeviceType>::init_style()
{
  if (!model) error->all(FLERR, "pair gbnet/kk: pair_coeff * * FILE El... must come before the run");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair gbnet/kk requires 'units metal' (eV, Angstrom), not 'units {}'",
               update->unit_style);
  if (force->newton_pair == 0) error->all(FLERR, "pair gbnet/kk requires newton pair on");
  if (atom->tag_enable == 0) error->all(FLERR, "pair gbnet/kk requires atom IDs");
  if ((int) type_element.size() != atom->ntypes + 1)
    error->all(FLERR, "pair gbnet/kk: the number of atom types changed since pair_coeff; "
               "issue pair_coeff * * FILE El... again");

  // a full list on the execution space (ghost neighbors of owned atoms)
  int neighflag = lmp->kokkos->neighflag;
  if (neighflag != FULL && neighflag != HALF && neighflag != HALFTHREAD)
    error->all(FLERR, "pair gbnet/kk: unsupported Kokkos neighbor setting");
#if LAMMPS_VERSION_NUMBER >= 20220324
  auto request = neighbor->add_request(this, NeighConst::REQ_FULL);
  request->set_kokkos_host(std::is_same<DeviceType, LMPHostType>::value &&
                           !std::is_same<DeviceType, LMPDeviceType>::value);
  request->set_kokkos_device(std::is_same<DeviceType, LMPDeviceType>::value);
#else
  int irequest = neighbor->request(this, instance_me);
  neighbor->requests[irequest]->kokkos_host =
      std::is_same<DeviceType, LMPHostType>::value && !std::is_same<DeviceType, LMPDeviceType>::value;
  neighbor->requests[irequest]->kokkos_device = std::is_same<DeviceType, LMPDeviceType>::value;
  neighbor->requests[irequest]->half = 0;
  neighbor->requests[irequest]->full = 1;
#endif

  // features travel as F doubles per atom (forward: h, reverse: dE/dh)
  comm_forward = comm_reverse = n_features;
}

template <class DeviceType> double PairGBNetKokkos<DeviceType>::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += (double) d_params.span() * sizeof(double) + (double) d_table_coef.span() * sizeof(double);
  bytes += (double) max_edges * (6 + 2 * n_rbf + 2 * n_features * (1 + n_blocks)) * sizeof(double);
  bytes += (double) max_all * (n_features * (n_blocks + 1) + 6) * sizeof(double);
  bytes += (double) max_local * (n_features * (n_blocks + 6) + 2 * readout_width) * sizeof(double);
  return bytes;
}

/* ---------------------------------------------------------------------- views */

template <class DeviceType> void PairGBNetKokkos<DeviceType>::grow_atom_views(int nlocal, int nall)
{
  const int F = n_features, R = readout_width;
  if (nall > max_all || d_species.extent(0) == 0) {
    max_all = nall > max_all ? nall : max_all;
    int n = max_all > 0 ? max_all : 1;
    d_species = t_int_1d("gbnet/kk:species", n);
    d_in_offsets = t_int_1d("gbnet/kk:in_offsets", n + 1);
    d_in_fill = t_int_1d("gbnet/kk:in_fill", n);
    d_grad_h = t_rows("gbnet/kk:grad_h", n, F);
    d_atom_virial = Kokkos::View<double *[6], Kokkos::LayoutRight, DeviceType>("gbnet/kk:atom_virial", n);
    for (int t = 0; t < n_blocks; t++) d_h[t] = t_rows("gbnet/kk:h", n, F);
  }
  if (nlocal > max_local || d_edge_offsets.extent(0) == 0) {
    max_local = nlocal > max_local ? nlocal : max_local;
    int n = max_local > 0 ? max_local : 1;
    d_edge_offsets = t_int_1d("gbnet/kk:edge_offsets", n + 1);
    d_x = t_rows("gbnet/kk:x", n, F);
    d_m = t_rows("gbnet/kk:m", n, F);
    d_s = t_rows("gbnet/kk:s", n, F);
    d_grad_x = t_rows("gbnet/kk:grad_x", n, F);
    d_grad_m = t_rows("gbnet/kk:grad_m", n, F);
    d_grad_s = t_rows("gbnet/kk:grad_s", n, F);
    d_readout1 = t_rows("gbnet/kk:readout1", n, R);
    d_readout_grad = t_rows("gbnet/kk:readout_grad", n, R);
    for (int t = 0; t < n_blocks; t++) d_out1[t] = t_rows("gbnet/kk:out1", n, F);
  }
}

/* The edges i -> j (d < rc) of LAMMPS's full list in list order, as CSR by
 * center, and the transposed index: the edges into each atom j, in edge
 * order, so the backward sums over them in a fixed order without atomics. */
template <class DeviceType> void PairGBNetKokkos<DeviceType>::build_edges(int nlocal, int nall)
{
  NeighListKokkos<DeviceType> *k_list = static_cast<NeighListKokkos<DeviceType> *>(list);
  auto d_numneigh = k_list->d_numneigh;
  auto d_neighbors = k_list->d_neighbors;
  auto d_ilist = k_list->d_ilist;
  const int inum = list->inum;
  const double cutsq_model = cutoff * cutoff;
  auto l_x = x;
  auto l_species = d_species;
  auto l_offsets = d_edge_offsets;

  // edges per center (atoms not in the list, or not gbnet's, have none)
  Kokkos::deep_copy(l_offsets, 0);
  Kokkos::parallel_for(
      "gbnet/kk:count_edges", Kokkos::RangePolicy<DeviceType>(0, inum), KOKKOS_LAMBDA(const int ii) {
        const int i = d_ilist(ii);
        int count = 0;
        if (l_species(i) >= 0)
          for (int jj = 0; jj < d_numneigh(i); jj++) {
            const int j = d_neighbors(i, jj) & NEIGHMASK;
            if (l_species(j) < 0) continue;
            const double dx = l_x(j, 0) - l_x(i, 0), dy = l_x(j, 1) - l_x(i, 1), dz = l_x(j, 2) - l_x(i, 2);
            if (dx * dx + dy * dy + dz * dz < cutsq_model) count++;
          }
        l_offsets(i + 1) = count;
      });
  Kokkos::parallel_scan(
      "gbnet/kk:edge_offsets", Kokkos::RangePolicy<DeviceType>(0, nlocal + 1),
      KOKKOS_LAMBDA(const int i, int &sum, const bool final) {
        sum += l_offsets(i);
        if (final) l_offsets(i) = sum;
      });
  auto h_total = Kokkos::create_mirror_view(Kokkos::subview(l_offsets, nlocal));
  Kokkos::deep_copy(h_total, Kokkos::subview(l_offsets, nlocal));
  n_edges = h_total();

  if (n_edges > max_edges || d_edge_center.extent(0) == 0) {
    max_edges = n_edges > max_edges ? n_edges : max_edges;
    int n = max_edges > 0 ? max_edges : 1;
    d_edge_center = t_int_1d("gbnet/kk:edge_center", n);
    d_edge_neighbor = t_int_1d("gbnet/kk:edge_neighbor", n);
    d_edge_vector = Kokkos::View<double *[3], Kokkos::LayoutRight, DeviceType>("gbnet/kk:edge_vector", n);
    d_edge_length = t_double_1d("gbnet/kk:edge_length", n);
    d_edge_dEdd = t_double_1d("gbnet/kk:edge_dEdd", n);
    d_in_edges = t_int_1d("gbnet/kk:in_edges", n);
    d_rbf = t_rows("gbnet/kk:rbf", table_points > 0 ? 1 : n, n_rbf);
    d_rbf_slope = t_rows("gbnet/kk:rbf_slope", table_points > 0 ? 1 : n, n_rbf);
    d_hidden = t_rows("gbnet/kk:filter_hidden", table_points > 0 ? 1 : n, n_features);
    d_hidden_slope = t_rows("gbnet/kk:filter_hidden_slope", table_points > 0 ? 1 : n, n_features);
    for (int t = 0; t < n_blocks; t++) {
      d_filter[t] = t_rows("gbnet/kk:filter", n, n_features);
      d_filter_slope[t] = t_rows("gbnet/kk:filter_slope", n, n_features);
    }
  }

  auto l_center = d_edge_center;
  auto l_neighbor = d_edge_neighbor;
  auto l_vector = d_edge_vector;
  auto l_length = d_edge_length;
  Kokkos::parallel_for(
      "gbnet/kk:fill_edges", Kokkos::RangePolicy<DeviceType>(0, inum), KOKKOS_LAMBDA(const int ii) {
        const int i = d_ilist(ii);
        if (l_species(i) < 0) return;
        int e = l_offsets(i);
        for (int jj = 0; jj < d_numneigh(i); jj++) {
          const int j = d_neighbors(i, jj) & NEIGHMASK;
          if (l_species(j) < 0) continue;
          const double dx = l_x(j, 0) - l_x(i, 0), dy = l_x(j, 1) - l_x(i, 1), dz = l_x(j, 2) - l_x(i, 2);
          const double rsq = dx * dx + dy * dy + dz * dz;
          if (!(rsq < cutsq_model)) continue;
          l_center(e) = i;
          l_neighbor(e) = j;
          l_vector(e, 0) = dx;
          l_vector(e, 1) = dy;
          l_vector(e, 2) = dz;
          l_length(e) = sqrt(rsq);
          e++;
        }
      });

  // overlapping atoms have no defined direction: stop, naming both
  double shortest = 1e300;
  if (n_edges > 0)
    Kokkos::parallel_reduce(
        "gbnet/kk:shortest_edge", Kokkos::RangePolicy<DeviceType>(0, n_edges),
        KOKKOS_LAMBDA(const int e, double &m) {
          if (l_length(e) < m) m = l_length(e);
        },
        Kokkos::Min<double>(shortest));
  if (shortest <= 1e-6) {
    auto h_length = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), l_length);
    auto h_center = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), l_center);
    auto h_neighbor = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), l_neighbor);
    atomKK->sync(Host, TAG_MASK);
    for (int e = 0; e < n_edges; e++)
      if (h_length(e) <= 1e-6)
        error->one(FLERR, "pair gbnet/kk: atoms {} and {} are {:.3g} Angstrom apart (overlapping atoms)",
                   atom->tag[h_center(e)], atom->tag[h_neighbor(e)], h_length(e));
  }

  // transposed index: count, scan, fill, then order each atom's edges by edge
  // index (the fill's atomics give an arbitrary order)
  auto l_in_offsets = d_in_offsets;
  auto l_in_edges = d_in_edges;
  Kokkos::deep_copy(l_in_offsets, 0);
  Kokkos::parallel_for(
      "gbnet/kk:count_in", Kokkos::RangePolicy<DeviceType>(0, n_edges),
      KOKKOS_LAMBDA(const int e) { Kokkos::atomic_increment(&l_in_offsets(l_neighbor(e) + 1)); });
  Kokkos::parallel_scan(
      "gbnet/kk:in_offsets", Kokkos::RangePolicy<DeviceType>(0, nall + 1),
      KOKKOS_LAMBDA(const int j, int &sum, const bool final) {
        sum += l_in_offsets(j);
        if (final) l_in_offsets(j) = sum;
      });
  auto fill = d_in_fill;
  Kokkos::deep_copy(fill, 0);
  Kokkos::parallel_for(
      "gbnet/kk:fill_in", Kokkos::RangePolicy<DeviceType>(0, n_edges), KOKKOS_LAMBDA(const int e) {
        const int j = l_neighbor(e);
        const int slot = Kokkos::atomic_fetch_add(&fill(j), 1);
        l_in_edges(l_in_offsets(j) + slot) = e;
      });
  Kokkos::parallel_for(
      "gbnet/kk:sort_in", Kokkos::RangePolicy<DeviceType>(0, nall), KOKKOS_LAMBDA(const int j) {
        for (int q = l_in_offsets(j) + 1; q < l_in_offsets(j + 1); q++) {
          const int e = l_in_edges(q);
          int p = q - 1;
          while (p >= l_in_offsets(j) && l_in_edges(p) > e) {
            l_in_edges(p + 1) = l_in_edges(p);
            p--;
          }
          l_in_edges(p + 1) = e;
        }
      });
}

/* ---------------------------------------------------------------------- kernels */

/* The dense layers: KokkosBlas::gemm from Kokkos Kernels where the plugin is
 * built with it (GBNET_KOKKOS_KERNELS; the vendor BLAS of a GPU backend),
 * else one thread per output element with a fixed-order inner loop. W is
 * the [O][I] row-major tensor at offset w of the blob, viewed in place. */
template <class DeviceType>
void PairGBNetKokkos<DeviceType>::dense(t_rows Y, t_rows X, int rows, int O, int I, int w, int b, bool accumulate)
{
  if (rows == 0) return;
  auto p = d_params;
#ifdef GBNET_KOKKOS_KERNELS
  typedef Kokkos::View<const double **, Kokkos::LayoutRight, DeviceType, Kokkos::MemoryUnmanaged> t_weights;
  t_weights weights(p.data() + w, O, I);
  auto y = Kokkos::subview(Y, Kokkos::make_pair(0, rows), Kokkos::make_pair(0, O));
  auto xin = Kokkos::subview(X, Kokkos::make_pair(0, rows), Kokkos::make_pair(0, I));
  KokkosBlas::gemm("N", "T", 1.0, xin, weights, accumulate ? 1.0 : 0.0, y);    // Y = X W^T
  if (b >= 0)
    Kokkos::parallel_for(
        "gbnet/kk:bias", Kokkos::RangePolicy<DeviceType>(0, (size_t) rows * O), KOKKOS_LAMBDA(const size_t idx) {
          const int r = (int) (idx / O), o = (int) (idx % O);
          Y(r, o) += p(b + o);
        });
#else
  const int add = accumulate ? 1 : 0;
  Kokkos::parallel_for(
      "gbnet/kk:dense", Kokkos::RangePolicy<DeviceType>(0, (size_t) rows * O), KOKKOS_LAMBDA(const size_t idx) {
        const int r = (int) (idx / O), o = (int) (idx % O);
        double s = b >= 0 ? p(b + o) : 0.0;
        const int row = w + o * I;
        for (int i = 0; i < I; i++) s += p(row + i) * X(r, i);
        Y(r, o) = add ? Y(r, o) + s : s;
      });
#endif
}

template <class DeviceType>
void PairGBNetKokkos<DeviceType>::dense_transposed(t_rows Y, t_rows G, int rows, int O, int I, int w, bool accumulate)
{
  if (rows == 0) return;
  auto p = d_params;
#ifdef GBNET_KOKKOS_KERNELS
  typedef Kokkos::View<const double **, Kokkos::LayoutRight, DeviceType, Kokkos::MemoryUnmanaged> t_weights;
  t_weights weights(p.data() + w, O, I);
  auto y = Kokkos::subview(Y, Kokkos::make_pair(0, rows), Kokkos::make_pair(0, I));
  auto g = Kokkos::subview(G, Kokkos::make_pair(0, rows), Kokkos::make_pair(0, O));
  KokkosBlas::gemm("N", "N", 1.0, g, weights, accumulate ? 1.0 : 0.0, y);    // Y = G W
#else
  const int add = accumulate ? 1 : 0;
  Kokkos::parallel_for(
      "gbnet/kk:dense_transposed", Kokkos::RangePolicy<DeviceType>(0, (size_t) rows * I),
      KOKKOS_LAMBDA(const size_t idx) {
        const int r = (int) (idx / I), i = (int) (idx % I);
        double s = 0.0;
        for (int o = 0; o < O; o++) s += p(w + o * I + i) * G(r, o);
        Y(r, i) = add ? Y(r, i) + s : s;
      });
#endif
}

/* W_t(d) and dW_t/dd on every edge: exact, (W_f2 ssp(W_f1 g(d) + b_f1) + b_f2) fc(d)
 * with its derivative carried forward, or the tabulated cubic Hermite filter */
template <class DeviceType> void PairGBNetKokkos<DeviceType>::compute_filters(int t)
{
  const int F = n_features, K = n_rbf, E = n_edges;
  if (E == 0) return;
  auto W = d_filter[t];
  auto dW = d_filter_slope[t];
  auto l_length = d_edge_length;
  const double rc = cutoff;

  if (table_points > 0) {
    auto coef = d_table_coef;
    const int P = table_points;
    const double step = table_step;
    const size_t block = (size_t) t * (P - 1) * 4 * F;
    Kokkos::parallel_for(
        "gbnet/kk:table_filter", Kokkos::RangePolicy<DeviceType>(0, (size_t) E * F),
        KOKKOS_LAMBDA(const size_t idx) {
          const int e = (int) (idx / F), c = (int) (idx % F);
          const double d = l_length(e);
          if (!(d < rc)) {
            W(e, c) = 0.0;
            dW(e, c) = 0.0;
            return;
          }
          const double xg = d / step;
          int k = (int) xg;
          if (k > P - 2) k = P - 2;
          if (k < 0) k = 0;
          const double u = xg - (double) k, u2 = u * u, u3 = u * u * u;
          const size_t a = block + (size_t) k * 4 * F;
          W(e, c) = coef(a + c) + u * coef(a + F + c) + u2 * coef(a + 2 * F + c) + u3 * coef(a + 3 * F + c);
          const double inv_h = 1 / step, c1 = inv_h, c2 = 2 * u * inv_h, c3 = 3 * u2 * inv_h;
          dW(e, c) = c1 * coef(a + F + c) + c2 * coef(a + 2 * F + c) + c3 * coef(a + 3 * F + c);
        });
    return;
  }

  // Gaussian basis g_k(d) = exp(-(d - mu_k)^2 / (2 w^2)), mu_k = k rc/(K-1), w = rc/(K-1)
  auto g = d_rbf;
  auto dg = d_rbf_slope;
  const double spacing = rc / (K - 1), inv_w2 = 1.0 / (spacing * spacing);
  Kokkos::parallel_for(
      "gbnet/kk:rbf", Kokkos::RangePolicy<DeviceType>(0, (size_t) E * K), KOKKOS_LAMBDA(const size_t idx) {
        const int e = (int) (idx / K), k = (int) (idx % K);
        const double diff = l_length(e) - (double) k * spacing;
        const double value = exp_cut(-0.5 * diff * diff * inv_w2);
        g(e, k) = value;
        dg(e, k) = -diff * inv_w2 * value;
      });
  auto p = d_params;
  auto hidden = d_hidden;
  auto hidden_slope = d_hidden_slope;
  const BlockOffsets b = block_offsets[t];
  Kokkos::parallel_for(
      "gbnet/kk:filter1", Kokkos::RangePolicy<DeviceType>(0, (size_t) E * F), KOKKOS_LAMBDA(const size_t idx) {
        const int e = (int) (idx / F), c = (int) (idx % F);
        double y = p(b.filter1_b + c), dy = 0.0;
        const int row = b.filter1_w + c * K;
        for (int k = 0; k < K; k++) {
          y += p(row + k) * g(e, k);
          dy += p(row + k) * dg(e, k);
        }
        hidden(e, c) = ssp(y);
        hidden_slope(e, c) = sigmoid(y) * dy;
      });
  Kokkos::parallel_for(
      "gbnet/kk:filter2", Kokkos::RangePolicy<DeviceType>(0, (size_t) E * F), KOKKOS_LAMBDA(const size_t idx) {
        const int e = (int) (idx / F), c = (int) (idx % F);
        double y = p(b.filter2_b + c), dy = 0.0;
        const int row = b.filter2_w + c * F;
        for (int i = 0; i < F; i++) {
          y += p(row + i) * hidden(e, i);
          dy += p(row + i) * hidden_slope(e, i);
        }
        // cosine cutoff fc(d) = (cos(pi d / rc) + 1) / 2 and its slope
        const double d = l_length(e);
        double fc = 0.0, dfc = 0.0;
        if (d < rc) {
          const double a = 3.14159265358979323846 / rc;
          fc = 0.5 * (cos(a * d) + 1);
          dfc = -0.5 * a * sin(a * d);
        }
        W(e, c) = y * fc;
        dW(e, c) = dy * fc + y * dfc;
      });
}

/* ---------------------------------------------------------------------- compute */

template <class DeviceType> void PairGBNetKokkos<DeviceType>::compute(int eflag, int vflag)
{
  // per-atom arrays are Kokkos DualViews, created below (alloc = 0)
  ev_init(eflag, vflag, 0);

  if (eflag_atom) {
    memoryKK->destroy_kokkos(k_eatom, eatom);
    memoryKK->create_kokkos(k_eatom, eatom, maxeatom, "pair:eatom");
    d_eatom = k_eatom.view<DeviceType>();
  }
  if (vflag_atom) {
    memoryKK->destroy_kokkos(k_vatom, vatom);
    memoryKK->create_kokkos(k_vatom, vatom, maxvatom, "pair:vatom");
    d_vatom = k_vatom.view<DeviceType>();
  }

  atomKK->sync(execution_space, X_MASK | F_MASK | TYPE_MASK);
  x = atomKK->k_x.view<DeviceType>();
  f = atomKK->k_f.view<DeviceType>();
  type = atomKK->k_type.view<DeviceType>();

  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  const int F = n_features, R = readout_width, T = n_blocks;
  grow_atom_views(nlocal, nall);

  auto l_species = d_species;
  auto l_type = type;
  auto l_type_element = d_type_element;
  Kokkos::parallel_for(
      "gbnet/kk:species", Kokkos::RangePolicy<DeviceType>(0, nall),
      KOKKOS_LAMBDA(const int i) { l_species(i) = l_type_element(l_type(i)); });
  build_edges(nlocal, nall);
  const int E = n_edges;

  auto p = d_params;
  auto l_offsets = d_edge_offsets;
  auto l_center = d_edge_center;
  auto l_neighbor = d_edge_neighbor;
  auto l_vector = d_edge_vector;
  auto l_length = d_edge_length;
  auto l_in_offsets = d_in_offsets;
  auto l_in_edges = d_in_edges;
  auto xs = d_x;
  auto m = d_m;
  auto s = d_s;

  // ---- forward: x^0 = Emb[e(i)] on owned atoms
  const int emb = embedding_offset;
  Kokkos::parallel_for(
      "gbnet/kk:embedding", Kokkos::RangePolicy<DeviceType>(0, (size_t) nlocal * F),
      KOKKOS_LAMBDA(const size_t idx) {
        const int i = (int) (idx / F), c = (int) (idx % F);
        const int e = l_species(i);
        xs(i, c) = e >= 0 ? p(emb + e * F + c) : 0.0;
      });

  for (int t = 0; t < T; t++) {
    const BlockOffsets b = block_offsets[t];
    auto h = d_h[t];
    if (t == 0) {
      // h = W_in Emb[e(j)] depends only on the element: computed for ghosts too
      Kokkos::parallel_for(
          "gbnet/kk:h0", Kokkos::RangePolicy<DeviceType>(0, (size_t) nall * F), KOKKOS_LAMBDA(const size_t idx) {
            const int j = (int) (idx / F), c = (int) (idx % F);
            const int e = l_species(j);
            double sum = 0.0;
            if (e >= 0)
              for (int i = 0; i < F; i++) sum += p(b.in_w + c * F + i) * p(emb + e * F + i);
            h(j, c) = sum;
          });
    } else {
      dense(h, xs, nlocal, F, F, b.in_w, -1, false);
      forward_exchange_rows(h);
    }
    compute_filters(t);
    auto W = d_filter[t];
    // cfconv m_i = sum_(edges i->j) h_j * W(d_ij), edges in list order
    Kokkos::parallel_for(
        "gbnet/kk:cfconv", Kokkos::RangePolicy<DeviceType>(0, (size_t) nlocal * F),
        KOKKOS_LAMBDA(const size_t idx) {
          const int i = (int) (idx / F), c = (int) (idx % F);
          double sum = 0.0;
          for (int e = l_offsets(i); e < l_offsets(i + 1); e++) sum += h(l_neighbor(e), c) * W(e, c);
          m(i, c) = sum;
        });
    // x^t = x^(t-1) + W_o2 ssp(W_o1 m + b_o1) + b_o2
    auto a = d_out1[t];
    dense(a, m, nlocal, F, F, b.out1_w, b.out1_b, false);
    Kokkos::parallel_for(
        "gbnet/kk:ssp", Kokkos::RangePolicy<DeviceType>(0, (size_t) nlocal * F),
        KOKKOS_LAMBDA(const size_t idx) {
          const int i = (int) (idx / F), c = (int) (idx % F);
          s(i, c) = ssp(a(i, c));
        });
    dense(xs, s, nlocal, F, F, b.out2_w, b.out2_b, true);
  }

  // ---- readout E_i = sigma (w_2 . ssp(W_1 x + b_1) + b_2) + mu + e_ref[e(i)]
  auto r1 = d_readout1;
  dense(r1, xs, nlocal, R, F, readout1_w, readout1_b, false);
  const int r2w = readout2_w, r2b = readout2_b;
  const double scale = energy_scale, shift = energy_shift;
  auto e_ref = d_e_ref;
  auto l_eatom = d_eatom;
  const int want_eatom = eflag_atom;
  double energy = 0.0;
  Kokkos::parallel_reduce(
      "gbnet/kk:readout", Kokkos::RangePolicy<DeviceType>(0, nlocal),
      KOKKOS_LAMBDA(const int i, double &sum) {
        const int e = l_species(i);
        if (e < 0) return;
        double eps = p(r2b);
        for (int r = 0; r < R; r++) eps += p(r2w + r) * ssp(r1(i, r));
        const double ei = scale * eps + shift + e_ref(e);
        if (want_eatom) l_eatom(i) += ei;
        sum += ei;
      },
      energy);
  if (eflag_global) eng_vdwl += energy;

  // ---- backward: dE/dx^T = sigma W_1^T (w_2 * sigmoid(W_1 x + b_1))
  auto rg = d_readout_grad;
  Kokkos::parallel_for(
      "gbnet/kk:readout_grad", Kokkos::RangePolicy<DeviceType>(0, (size_t) nlocal * R),
      KOKKOS_LAMBDA(const size_t idx) {
        const int i = (int) (idx / R), r = (int) (idx % R);
        rg(i, r) = l_species(i) >= 0 ? scale * p(r2w + r) * sigmoid(r1(i, r)) : 0.0;
      });
  auto gx = d_grad_x;
  auto gm = d_grad_m;
  auto gs = d_grad_s;
  auto gh = d_grad_h;
  dense_transposed(gx, rg, nlocal, R, F, readout1_w, false);
  auto dEdd = d_edge_dEdd;
  if (E > 0) Kokkos::deep_copy(dEdd, 0.0);

  // ---- the repulsive core: half of each pair's switched ZBL energy and of
  // its dE/dd on each of the pair's two edges (one per side, on any rank)
  if (d_zbl.extent(0) > 0 && E > 0) {
    auto z = d_zbl;
    const int n = n_elements, nn = n_elements * n_elements;
    double core = 0.0;
    Kokkos::parallel_reduce(
        "gbnet/kk:zbl", Kokkos::RangePolicy<DeviceType>(0, nlocal),
        KOKKOS_LAMBDA(const int i, double &sum) {
          const int ei = l_species(i);
          if (ei < 0) return;
          double ei_core = 0.0;
          for (int e = l_offsets(i); e < l_offsets(i + 1); e++) {
            const int ej = l_species(l_neighbor(e));
            if (ej < 0) continue;
            const int q = ei * n + ej;
            double de;
            ei_core += 0.5 * zbl_pair(z(q), z(nn + q), z(2 * nn + q), z(3 * nn + q), l_length(e), &de);
            dEdd(e) += 0.5 * de;
          }
          if (want_eatom) l_eatom(i) += ei_core;
          sum += ei_core;
        },
        core);
    if (eflag_global) eng_vdwl += core;
  }

  for (int t = T - 1; t >= 0; t--) {
    const BlockOffsets b = block_offsets[t];
    auto a = d_out1[t];
    auto h = d_h[t];
    auto W = d_filter[t];
    auto dW = d_filter_slope[t];
    // through x^t = x^(t-1) + W_o2 ssp(a) + b_o2, a = W_o1 m + b_o1
    dense_transposed(gs, gx, nlocal, F, F, b.out2_w, false);
    Kokkos::parallel_for(
        "gbnet/kk:ssp_backward", Kokkos::RangePolicy<DeviceType>(0, (size_t) nlocal * F),
        KOKKOS_LAMBDA(const size_t idx) {
          const int i = (int) (idx / F), c = (int) (idx % F);
          gs(i, c) *= sigmoid(a(i, c));
        });
    dense_transposed(gm, gs, nlocal, F, F, b.out1_w, false);
    // dE/dd_e += sum_c dE/dm_i,c h_j,c dW_c/dd   (one thread per edge)
    if (E > 0)
      Kokkos::parallel_for(
          "gbnet/kk:cfconv_backward_edges", Kokkos::RangePolicy<DeviceType>(0, E), KOKKOS_LAMBDA(const int e) {
            const int i = l_center(e), j = l_neighbor(e);
            double sum = 0.0;
            for (int c = 0; c < F; c++) sum += gm(i, c) * h(j, c) * dW(e, c);
            dEdd(e) += sum;
          });
    if (t == 0) break;    // h of block 0 depends on elements only
    // dE/dh_j = sum_(edges e into j) dE/dm_(center of e) * W(d_e), ghosts included
    Kokkos::parallel_for(
        "gbnet/kk:cfconv_backward_atoms", Kokkos::RangePolicy<DeviceType>(0, (size_t) nall * F),
        KOKKOS_LAMBDA(const size_t idx) {
          const int j = (int) (idx / F), c = (int) (idx % F);
          double sum = 0.0;
          for (int q = l_in_offsets(j); q < l_in_offsets(j + 1); q++) {
            const int e = l_in_edges(q);
            sum += gm(l_center(e), c) * W(e, c);
          }
          gh(j, c) = sum;
        });
    reverse_exchange_rows(gh, nlocal, nall);
    // h = W_in x^(t-1): dE/dx^(t-1) = dE/dx^t (residual) + W_in^T dE/dh
    dense_transposed(gx, gh, nlocal, F, F, b.in_w, true);
  }

  // ---- forces F_i = sum_(i->j) g_ij - sum_(k->i) g_ki, g = dE/dd r/d; virial
  // -r (x) g split half to each end (LAMMPS's vatom convention)
  auto l_f = f;
  auto av = d_atom_virial;
  Kokkos::parallel_for(
      "gbnet/kk:forces", Kokkos::RangePolicy<DeviceType>(0, nall), KOKKOS_LAMBDA(const int i) {
        double fi[3] = {0.0, 0.0, 0.0}, v[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        auto tally = [&](const int e, const double sign) {
          const double d = l_length(e), gscale = dEdd(e) / d;
          const double r[3] = {l_vector(e, 0), l_vector(e, 1), l_vector(e, 2)};
          const double gv[3] = {gscale * r[0], gscale * r[1], gscale * r[2]};
          for (int k = 0; k < 3; k++) fi[k] += sign * gv[k];
          v[0] -= 0.5 * r[0] * gv[0];
          v[1] -= 0.5 * r[1] * gv[1];
          v[2] -= 0.5 * r[2] * gv[2];
          v[3] -= 0.5 * r[0] * gv[1];
          v[4] -= 0.5 * r[0] * gv[2];
          v[5] -= 0.5 * r[1] * gv[2];
        };
        if (i < nlocal)
          for (int e = l_offsets(i); e < l_offsets(i + 1); e++) tally(e, 1.0);
        for (int q = l_in_offsets(i); q < l_in_offsets(i + 1); q++) tally(l_in_edges(q), -1.0);
        l_f(i, 0) += fi[0];
        l_f(i, 1) += fi[1];
        l_f(i, 2) += fi[2];
        for (int k = 0; k < 6; k++) av(i, k) = v[k];
      });

  if (vflag_global) {
    for (int k = 0; k < 6; k++) {
      double sum = 0.0;
      Kokkos::parallel_reduce(
          "gbnet/kk:virial", Kokkos::RangePolicy<DeviceType>(0, nall),
          KOKKOS_LAMBDA(const int i, double &acc) { acc += av(i, k); }, sum);
      virial[k] += sum;
    }
  }
  if (vflag_atom) {
    auto l_vatom = d_vatom;
    Kokkos::parallel_for(
        "gbnet/kk:vatom", Kokkos::RangePolicy<DeviceType>(0, nall), KOKKOS_LAMBDA(const int i) {
          for (int k = 0; k < 6; k++) l_vatom(i, k) += av(i, k);
        });
    k_vatom.template modify<DeviceType>();
    k_vatom.template sync<LMPHostType>();
  }
  if (eflag_atom) {
    k_eatom.template modify<DeviceType>();
    k_eatom.template sync<LMPHostType>();
  }
  atomKK->modified(execution_space, F_MASK);
}

/* ---------------------------------------------------------------------- feature exchange */

/* Ghost rows of h get their owners' rows. CommKokkos packs on the device
 * (pack_forward_comm_kokkos) unless the classic host path is selected
 * (`package kokkos comm no`, the default without GPUs) or the
 * communication is not Kokkos's; then the host functions below run on a
 * host mirror (the same memory on a host execution space). */
template <class DeviceType> void PairGBNetKokkos<DeviceType>::forward_exchange_rows(t_rows rows)
{
  d_exchange = rows;
  auto *comm_kk = dynamic_cast<CommKokkos *>(comm);
  exchange_on_device = comm_kk && !comm_kk->forward_pair_comm_classic && execution_space != Host;
  if (!exchange_on_device) {
    h_exchange = Kokkos::create_mirror_view(rows);
    Kokkos::deep_copy(h_exchange, rows);
  }
#if LAMMPS_VERSION_NUMBER >= 20220324
  comm->forward_comm(this);
#else
  comm->forward_comm_pair(this);
#endif
  if (!exchange_on_device) Kokkos::deep_copy(rows, h_exchange);
}

/* Owners get the sums of their ghosts' gradient rows, then ghost rows are
 * cleared (they must not contribute again). LAMMPS 29Sep2021's CommKokkos
 * runs reverse pair communication on the host only. */
template <class DeviceType>
void PairGBNetKokkos<DeviceType>::reverse_exchange_rows(t_rows rows, int nlocal, int nall)
{
  d_exchange = rows;
  h_exchange = Kokkos::create_mirror_view(rows);
  Kokkos::deep_copy(h_exchange, rows);
#if LAMMPS_VERSION_NUMBER >= 20220324
  comm->reverse_comm(this);
#else
  comm->reverse_comm_pair(this);
#endif
  Kokkos::deep_copy(rows, h_exchange);
  const int F = n_features;
  Kokkos::parallel_for(
      "gbnet/kk:clear_ghost_rows", Kokkos::RangePolicy<DeviceType>(0, (size_t) (nall - nlocal) * F),
      KOKKOS_LAMBDA(const size_t idx) { rows(nlocal + (int) (idx / F), (int) (idx % F)) = 0.0; });
}

template <class DeviceType>
int PairGBNetKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_2d k_sendlist, int iswap,
                                                          DAT::tdual_xfloat_1d &buf, int /*pbc_flag*/,
                                                          int * /*pbc*/)
{
  // features are translation invariant: periodic images need no shift
  auto sendlist = k_sendlist.view<DeviceType>();
  auto v_buf = buf.view<DeviceType>();
  auto rows = d_exchange;
  const int F = n_features;
  Kokkos::parallel_for(
      "gbnet/kk:pack_forward", Kokkos::RangePolicy<DeviceType>(0, (size_t) n * F), KOKKOS_LAMBDA(const size_t idx) {
        const int k = (int) (idx / F), c = (int) (idx % F);
        v_buf(idx) = rows(sendlist(iswap, k), c);
      });
  return n * F;
}

template <class DeviceType>
void PairGBNetKokkos<DeviceType>::unpack_forward_comm_kokkos(int n, int first, DAT::tdual_xfloat_1d &buf)
{
  auto v_buf = buf.view<DeviceType>();
  auto rows = d_exchange;
  const int F = n_features;
  Kokkos::parallel_for(
      "gbnet/kk:unpack_forward", Kokkos::RangePolicy<DeviceType>(0, (size_t) n * F),
      KOKKOS_LAMBDA(const size_t idx) {
        const int k = (int) (idx / F), c = (int) (idx % F);
        rows(first + k, c) = v_buf(idx);
      });
}

template <class DeviceType>
int PairGBNetKokkos<DeviceType>::pack_forward_comm(int n, int *list, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  const int F = n_features;
  for (int k = 0; k < n; k++)
    for (int c = 0; c < F; c++) buf[(size_t) k * F + c] = h_exchange(list[k], c);
  return n * F;
}

template <class DeviceType> void PairGBNetKokkos<DeviceType>::unpack_forward_comm(int n, int first, double *buf)
{
  const int F = n_features;
  for (int k = 0; k < n; k++)
    for (int c = 0; c < F; c++) h_exchange(first + k, c) = buf[(size_t) k * F + c];
}

template <class DeviceType> int PairGBNetKokkos<DeviceType>::pack_reverse_comm(int n, int first, double *buf)
{
  const int F = n_features;
  for (int k = 0; k < n; k++)
    for (int c = 0; c < F; c++) buf[(size_t) k * F + c] = h_exchange(first + k, c);
  return n * F;
}

template <class DeviceType> void PairGBNetKokkos<DeviceType>::unpack_reverse_comm(int n, int *list, double *buf)
{
  const int F = n_features;
  for (int k = 0; k < n; k++)
    for (int c = 0; c < F; c++) h_exchange(list[k], c) += buf[(size_t) k * F + c];
}

namespace LAMMPS_NS {
template class PairGBNetKokkos<LMPDeviceType>;
#ifdef LMP_KOKKOS_GPU
template class PairGBNetKokkos<LMPHostType>;
#endif
}    // namespace LAMMPS_NS
