/* pair_style gbnet: see pair_gbnet.h and docs/pair_gbnet.md. */
#include "pair_gbnet.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"

#ifndef LAMMPS_VERSION_NUMBER
#error "define LAMMPS_VERSION_NUMBER as yyyymmdd of the LAMMPS release (lammps/CMakeLists.txt does)"
#endif
#if LAMMPS_VERSION_NUMBER < 20220324
#include "neigh_request.h"
#endif

#include "gbnet.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

PairGBNet::PairGBNet(LAMMPS *lmp) :
    Pair(lmp), precision(GBNET_DOUBLE), n_threads(0), model(nullptr), workspace(nullptr),
    workspace_precision(-1), cutoff(0.0), committee(nullptr), committee_workspace(nullptr),
    committee_workspace_precision(-1), committee_output(-1), out_freq(0), deviation_fp(nullptr),
    last_deviation_step(-1), exchange_rows(nullptr), exchange_cols(0), exchange_elem_size(0)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;            // only "pair_coeff * * FILE El..."
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the core returns the exact virial
  // The energy depends on interatomic distances only, so dE/dr_ij is a central
  // pair force: the per-atom virial (each edge split half/half) is the same as
  // the centroid one.
  centroidstressflag = CENTROID_SAME;
  // compute pair gbnet: max_devi_v min_devi_v avg_devi_v max_devi_f min_devi_f
  // avg_devi_f devi_e of the last step (zeros without a committee)
  nextra = 7;
  pvector = new double[nextra];
  for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
}

PairGBNet::~PairGBNet()
{
  release_model();
  if (deviation_fp) fclose(deviation_fp);
  if (!deviation_fix_id.empty() && modify && modify->find_fix(deviation_fix_id) >= 0)
    modify->delete_fix(deviation_fix_id);
  delete[] pvector;
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairGBNet::release_model()
{
  release_committee();
  gbnet_workspace_free(workspace);
  workspace = nullptr;
  workspace_precision = -1;
  gbnet_model_free(model);
  model = nullptr;
}

void PairGBNet::allocate()
{
  allocated = 1;
  int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  for (int i = 0; i <= n; i++)
    for (int j = 0; j <= n; j++) setflag[i][j] = 0;
}

/* pair_style gbnet [precision double|float] [threads N] [out_freq N] [out_file FILE]
 *                  [committee_output mean|M] */
void PairGBNet::settings(int narg, char **arg)
{
  precision = GBNET_DOUBLE;
  n_threads = 0;
  out_freq = 0;
  out_file = "model_devi.out";
  committee_output = -1;
  if (deviation_fp) fclose(deviation_fp);
  deviation_fp = nullptr;
  last_deviation_step = -1;
  for (int iarg = 0; iarg < narg; iarg += 2) {
    std::string key = arg[iarg];
    if (iarg + 1 >= narg)
      error->all(FLERR, "pair_style gbnet: keyword '{}' needs a value", key);
    std::string value = arg[iarg + 1];
    if (key == "precision") {
      if (value == "double") precision = GBNET_DOUBLE;
      else if (value == "float") precision = GBNET_FLOAT;
      else error->all(FLERR, "pair_style gbnet: precision must be 'double' or 'float', not '{}'", value);
    } else if (key == "threads") {
      n_threads = utils::inumeric(FLERR, value.c_str(), false, lmp);
      if (n_threads < 0) error->all(FLERR, "pair_style gbnet: threads must be >= 0 (0: OpenMP default)");
    } else if (key == "out_freq") {
      out_freq = utils::inumeric(FLERR, value.c_str(), false, lmp);
      if (out_freq < 0) error->all(FLERR, "pair_style gbnet: out_freq must be >= 0 (0: no deviation file)");
    } else if (key == "out_file") {
      out_file = value;
    } else if (key == "committee_output") {
      if (value == "mean") committee_output = -1;
      else {
        committee_output = utils::inumeric(FLERR, value.c_str(), false, lmp);
        if (committee_output < 0)
          error->all(FLERR, "pair_style gbnet: committee_output must be 'mean' or a member index >= 0");
      }
    } else {
      error->all(FLERR, "pair_style gbnet: unknown keyword '{}' (expected precision, threads, out_freq, "
                 "out_file or committee_output)", key);
    }
  }
}

/* pair_coeff * * FILE El1 El2 ... (one element per atom type) */
void PairGBNet::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  int ntypes = atom->ntypes;
  if (narg < 3 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for gbnet must be: pair_coeff * * FILE El1 ... El{} "
               "(one element per atom type)", ntypes);
  if (narg - 3 != ntypes)
    error->all(FLERR, "pair_coeff * * {}: {} element names given, but there are {} atom types",
               arg[2], narg - 3, ntypes);

  release_model();
  potential_path = arg[2];

  // every rank reads the file; if any rank fails, all stop with the message
  gbnet_status status = gbnet_model_load(&model, potential_path.c_str());
  std::string message = status ? gbnet_last_error() : "";
  int failed = status != GBNET_OK, any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, world);
  if (any_failed) {
    model = nullptr;
    if (failed)
      error->all(FLERR, "pair gbnet: cannot load potential file {}: {} ({})", potential_path,
                 message, gbnet_status_name(status));
    error->all(FLERR, "pair gbnet: potential file {} failed to load on another MPI rank",
               potential_path);
  }

  const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
  std::string known;
  for (int e = 0; e < hp->n_elements; e++)
    known += std::string(e ? " " : "") + gbnet_element_symbol(hp->atomic_numbers[e]);

  type_element.assign(ntypes + 1, -1);
  type_symbol.assign(ntypes + 1, "");
  for (int type = 1; type <= ntypes; type++) {
    const char *symbol = arg[2 + type];
    int element = gbnet_model_element_index(model, symbol);
    if (element < 0)
      error->all(FLERR, "pair_coeff gbnet: element '{}' given for atom type {} is not in potential "
                 "file {} (it has: {})", symbol, type, potential_path, known);
    type_element[type] = element;
    type_symbol[type] = symbol;
  }
  cutoff = gbnet_model_cutoff(model);
  comm_forward = comm_reverse = hp->n_features;
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
  load_committee();
}

void PairGBNet::ensure_workspace()
{
  if (workspace && workspace_precision == precision) return;
  gbnet_workspace_free(workspace);
  workspace = nullptr;
  if (gbnet_workspace_create(&workspace, model, (gbnet_precision) precision) != GBNET_OK)
    error->one(FLERR, "pair gbnet: cannot create a workspace: {}", gbnet_last_error());
  workspace_precision = precision;
}

void PairGBNet::init_style()
{
  if (!model) error->all(FLERR, "pair gbnet: pair_coeff * * FILE El... must come before the run");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair gbnet requires 'units metal' (eV, Angstrom), not 'units {}'",
               update->unit_style);
  if (force->newton_pair == 0) error->all(FLERR, "pair gbnet requires newton pair on");
  if (atom->tag_enable == 0) error->all(FLERR, "pair gbnet requires atom IDs");
  if ((int) type_element.size() != atom->ntypes + 1)
    error->all(FLERR, "pair gbnet: the number of atom types changed since pair_coeff; "
               "issue pair_coeff * * FILE El... again");

#if LAMMPS_VERSION_NUMBER >= 20220324
  neighbor->add_request(this, NeighConst::REQ_FULL);
#else
  int irequest = neighbor->request(this, instance_me);
  neighbor->requests[irequest]->half = 0;
  neighbor->requests[irequest]->full = 1;
#endif

  // features travel as raw bytes in LAMMPS's double buffers: F doubles per
  // atom in double precision, F/2 in float (two floats per slot)
  int features = gbnet_model_hyperparams(model)->n_features;
  comm_forward = comm_reverse = precision == GBNET_FLOAT ? (features + 1) / 2 : features;
  ensure_workspace();
  gbnet_workspace_set_threads(workspace, n_threads);
  if (committee) {
    // every member's features travel through the same buffers; member forces
    // (3 per member and atom) are summed into their owners for the deviation
    int members = gbnet_committee_size(committee);
    for (int m = 0; m < members; m++) {
      int f = gbnet_model_hyperparams(gbnet_committee_member(committee, m))->n_features;
      int slots = precision == GBNET_FLOAT ? (f + 1) / 2 : f;
      comm_forward = std::max(comm_forward, slots);
      comm_reverse = std::max(comm_reverse, slots);
    }
    comm_reverse = std::max(comm_reverse, 3 * members);
    ensure_committee_workspace();
    if (committee_output >= members)
      error->all(FLERR, "pair_style gbnet: committee_output {} but potential file {} holds {} members (0..{})",
                 committee_output, potential_path, members, members - 1);
    if (gbnet_committee_workspace_set_output(committee_workspace, committee_output) != GBNET_OK)
      error->all(FLERR, "pair gbnet: {}", gbnet_last_error());
    gbnet_committee_workspace_set_threads(committee_workspace, n_threads);
    if (out_freq > 0) open_deviation_file();
  } else if (out_freq > 0 && comm->me == 0) {
    error->warning(FLERR, "pair gbnet: out_freq {} ignored: potential file {} holds a single model, not a "
                   "committee", out_freq, potential_path);
  }
}

double PairGBNet::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "pair gbnet: no pair_coeff for atom types {} {}", i, j);
  return cutoff;
}

/* Element of every atom, then the core's CSR edges (d < rc) from LAMMPS's
 * full list (threaded in the core). */
void PairGBNet::build_graph(gbnet_graph &graph)
{
  int *type = atom->type;
  int nlocal = atom->nlocal, nall = nlocal + atom->nghost;

  species.resize(nall > 0 ? nall : 1);
  for (int i = 0; i < nall; i++) {
    int element = type_element[type[i]];
    if (element < 0) error->one(FLERR, "pair gbnet: atom type {} is not mapped to an element", type[i]);
    species[i] = element;
  }
  graph.n_local = nlocal;
  graph.n_total = nall;
  graph.species = species.data();

  gbnet_full_list full;
  full.n_listed = list->inum;
  full.centers = list->ilist;
  full.counts = list->numneigh;
  full.entries = list->firstneigh;
  full.index_mask = NEIGHMASK;
  int overlap[2] = {-1, -1};
  const double *x = nall > 0 ? &atom->x[0][0] : nullptr;
  gbnet_status status = gbnet_graph_from_full_list(workspace, &graph, x, &full, overlap);
  if (status == GBNET_ERR_NUMERIC && overlap[0] >= 0) {
    const double *xi = atom->x[overlap[0]], *xj = atom->x[overlap[1]];
    double d = std::sqrt((xj[0] - xi[0]) * (xj[0] - xi[0]) + (xj[1] - xi[1]) * (xj[1] - xi[1]) +
                         (xj[2] - xi[2]) * (xj[2] - xi[2]));
    error->one(FLERR, "pair gbnet: atoms {} and {} are {:.3g} Angstrom apart (overlapping atoms)",
               atom->tag[overlap[0]], atom->tag[overlap[1]], d);
  }
  if (status != GBNET_OK)
    error->one(FLERR, "pair gbnet: cannot build the graph from the neighbor list: {}", gbnet_last_error());
}

void PairGBNet::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);

  int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  gbnet_graph graph;
  memset(&graph, 0, sizeof graph);
  build_graph(graph);

  forces.resize(3 * (size_t) (nall > 0 ? nall : 1));
  atom_energies.resize(nlocal > 0 ? nlocal : 1);
  if (vflag_atom) atom_virials.resize(9 * (size_t) (nall > 0 ? nall : 1));

  graph.forward_exchange = &PairGBNet::forward_exchange;
  graph.reverse_exchange = &PairGBNet::reverse_exchange;
  graph.exchange_ctx = this;

  gbnet_graph_result result;
  memset(&result, 0, sizeof result);
  result.atom_energies = eflag_atom ? atom_energies.data() : nullptr;
  result.forces = forces.data();
  result.atom_virials = vflag_atom ? atom_virials.data() : nullptr;

  if (committee) {
    evaluate_committee(graph, result);
  } else if (gbnet_evaluate_graph(workspace, &graph, &result) != GBNET_OK) {
    error->one(FLERR, "pair gbnet: evaluation failed: {}", gbnet_last_error());
  }

  double **f = atom->f;
  for (int i = 0; i < nall; i++) {
    f[i][0] += forces[3 * (size_t) i + 0];
    f[i][1] += forces[3 * (size_t) i + 1];
    f[i][2] += forces[3 * (size_t) i + 2];
  }
  if (eflag_global) eng_vdwl += result.energy;
  if (eflag_atom)
    for (int i = 0; i < nlocal; i++) eatom[i] += atom_energies[i];
  // the core's W (xx xy xz yx yy yz zx zy zz) is sum r_i f_i, LAMMPS's virial
  if (vflag_global) {
    const double *w = result.virial;
    virial[0] += w[0];
    virial[1] += w[4];
    virial[2] += w[8];
    virial[3] += w[1];
    virial[4] += w[2];
    virial[5] += w[5];
  }
  if (vflag_atom)
    for (int i = 0; i < nall; i++) {
      const double *w = &atom_virials[9 * (size_t) i];
      vatom[i][0] += w[0];
      vatom[i][1] += w[4];
      vatom[i][2] += w[8];
      vatom[i][3] += w[1];
      vatom[i][4] += w[2];
      vatom[i][5] += w[5];
    }
  if (committee) committee_deviation(graph);
}

/* ---------------------------------------------------------------------- feature exchange */

void PairGBNet::forward_exchange(void *ctx, void *rows, int n_cols, size_t elem_size)
{
  auto *self = static_cast<PairGBNet *>(ctx);
  self->exchange_rows = rows;
  self->exchange_cols = n_cols;
  self->exchange_elem_size = elem_size;
#if LAMMPS_VERSION_NUMBER >= 20220324
  self->comm->forward_comm(self);
#else
  self->comm->forward_comm_pair(self);
#endif
  self->exchange_rows = nullptr;
}

void PairGBNet::reverse_exchange(void *ctx, void *rows, int n_cols, size_t elem_size)
{
  auto *self = static_cast<PairGBNet *>(ctx);
  self->exchange_rows = rows;
  self->exchange_cols = n_cols;
  self->exchange_elem_size = elem_size;
  int nlocal = self->atom->nlocal, nall = nlocal + self->atom->nghost;
  size_t row_bytes = (size_t) n_cols * elem_size;
  // (a rank without atoms: the core passes zero gradient rows, gbnet_evaluate_graph)
#if LAMMPS_VERSION_NUMBER >= 20220324
  self->comm->reverse_comm(self);
#else
  self->comm->reverse_comm_pair(self);
#endif
  // owners now hold the sums; ghost rows must not contribute again
  memset(static_cast<char *>(rows) + (size_t) nlocal * row_bytes, 0, (size_t) (nall - nlocal) * row_bytes);
  self->exchange_rows = nullptr;
}

/* A feature row travels as its raw bytes in ceil(F * elem_size / 8) doubles
 * of the communication buffer: exact, and half the traffic in float. */
namespace {
inline int row_slots(int n_cols, size_t elem_size)
{
  return (int) (((size_t) n_cols * elem_size + sizeof(double) - 1) / sizeof(double));
}
}    // namespace

int PairGBNet::pack_forward_comm(int n, int *list, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  // features are translation invariant: periodic images need no shift
  size_t row_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  const char *rows = static_cast<const char *>(exchange_rows);
  for (int k = 0; k < n; k++) memcpy(buf + (size_t) k * slots, rows + (size_t) list[k] * row_bytes, row_bytes);
  return n * slots;
}

void PairGBNet::unpack_forward_comm(int n, int first, double *buf)
{
  size_t row_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  char *rows = static_cast<char *>(exchange_rows);
  for (int k = 0; k < n; k++) memcpy(rows + (size_t) (first + k) * row_bytes, buf + (size_t) k * slots, row_bytes);
}

int PairGBNet::pack_reverse_comm(int n, int first, double *buf)
{
  size_t row_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  const char *rows = static_cast<const char *>(exchange_rows);
  for (int k = 0; k < n; k++) memcpy(buf + (size_t) k * slots, rows + (size_t) (first + k) * row_bytes, row_bytes);
  return n * slots;
}

void PairGBNet::unpack_reverse_comm(int n, int *list, double *buf)
{
  int cols = exchange_cols, slots = row_slots(cols, exchange_elem_size);
  for (int k = 0; k < n; k++) {
    const double *src = buf + (size_t) k * slots;
    if (exchange_elem_size == sizeof(double)) {
      double *dst = static_cast<double *>(exchange_rows) + (size_t) list[k] * cols;
      for (int c = 0; c < cols; c++) dst[c] += src[c];
    } else {
      float *dst = static_cast<float *>(exchange_rows) + (size_t) list[k] * cols;
      const char *bytes = reinterpret_cast<const char *>(src);
      for (int c = 0; c < cols; c++) {
        float v;
        memcpy(&v, bytes + c * sizeof(float), sizeof v);
        dst[c] += v;
      }
    }
  }
}

double PairGBNet::memory_usage()
{
  double bytes = Pair::memory_usage();
  if (workspace) bytes += (double) gbnet_workspace_bytes(workspace);
  if (committee_workspace) bytes += (double) gbnet_committee_workspace_bytes(committee_workspace);
  bytes += (double) (member_forces.capacity() + member_rows.capacity() + local_forces.capacity() +
                     atom_deviation.capacity()) * sizeof(double);
  bytes += (double) species.capacity() * sizeof(int);
  bytes += (double) (forces.capacity() + atom_energies.capacity() + atom_virials.capacity()) * sizeof(double);
  return bytes;
}

/* ---------------------------------------------------------------------- committees */

/* A committee file (docs/potential-format.md, CMTE) gives every member; a
 * single-model file leaves committee == nullptr and the plain path runs. */
void PairGBNet::load_committee()
{
  gbnet_committee *loaded = nullptr;
  gbnet_status status = gbnet_committee_load(&loaded, potential_path.c_str());
  std::string message = status ? gbnet_last_error() : "";
  int failed = status != GBNET_OK, any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, world);
  if (any_failed) {
    gbnet_committee_free(loaded);
    if (failed)
      error->all(FLERR, "pair gbnet: cannot load the committee in potential file {}: {} ({})", potential_path,
                 message, gbnet_status_name(status));
    error->all(FLERR, "pair gbnet: the committee in {} failed to load on another MPI rank", potential_path);
  }
  if (gbnet_committee_size(loaded) < 2) {
    gbnet_committee_free(loaded);
    return;
  }
  committee = loaded;
  if (comm->me == 0)
    utils::logmesg(lmp, "pair gbnet: {} holds a committee of {} members: forces from {}, model deviation "
                   "in compute pair gbnet and d_gbnet_devi_f\n", potential_path, gbnet_committee_size(committee),
                   committee_output < 0 ? std::string("their mean") : "member " + std::to_string(committee_output));
  // the per-atom force deviation as a custom per-atom property (dump custom
  // ... d_gbnet_devi_f), held by a fix property/atom so it follows the atoms
  int flag = -1, cols = -1;
  if (atom->find_custom("gbnet_devi_f", flag, cols) < 0) {
    deviation_fix_id = "GBNET_DEVI_F_" + std::to_string(instance_me);
    modify->add_fix(deviation_fix_id + " all property/atom d_gbnet_devi_f ghost no");
  }
}

void PairGBNet::release_committee()
{
  gbnet_committee_workspace_free(committee_workspace);
  committee_workspace = nullptr;
  committee_workspace_precision = -1;
  gbnet_committee_free(committee);
  committee = nullptr;
}

void PairGBNet::ensure_committee_workspace()
{
  if (committee_workspace && committee_workspace_precision == precision) return;
  gbnet_committee_workspace_free(committee_workspace);
  committee_workspace = nullptr;
  if (gbnet_committee_workspace_create(&committee_workspace, committee, (gbnet_precision) precision) != GBNET_OK)
    error->one(FLERR, "pair gbnet: cannot create the committee workspace: {}", gbnet_last_error());
  committee_workspace_precision = precision;
}

/* Every member on the graph built once (build_graph); result gets the mean
 * (or the chosen member), the members' own results stay for the deviation. */
void PairGBNet::evaluate_committee(gbnet_graph &graph, gbnet_graph_result &result)
{
  int members = gbnet_committee_size(committee);
  int nall = atom->nlocal + atom->nghost;
  member_energies.resize(members);
  member_virials.resize(9 * (size_t) members);
  member_forces.resize(3 * (size_t) members * (nall > 0 ? nall : 1));
  if (gbnet_committee_evaluate_graph(committee_workspace, &graph, &result, member_energies.data(),
                                     member_virials.data(), member_forces.data()) != GBNET_OK)
    error->one(FLERR, "pair gbnet: evaluation of the committee failed: {}", gbnet_last_error());
}

/* DeePMD-kit's model deviation over all atoms of all ranks: member forces of
 * ghosts are summed into their owners (reverse communication), then per owned
 * atom sqrt(mean_m |F_i^m - <F_i>|^2); energies and virials are summed over
 * ranks before their spread is taken, so nothing depends on the rank count
 * beyond summation order. */
void PairGBNet::committee_deviation(const gbnet_graph &graph)
{
  (void) graph;
  int members = gbnet_committee_size(committee);
  int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  size_t cols = 3 * (size_t) members;
  member_rows.resize(cols * (nall > 0 ? nall : 1));
  for (int i = 0; i < nall; i++)
    for (int m = 0; m < members; m++)
      for (int c = 0; c < 3; c++)
        member_rows[cols * i + 3 * m + c] = member_forces[3 * ((size_t) m * nall + i) + c];
  reverse_exchange(this, member_rows.data(), (int) cols, sizeof(double));
  local_forces.resize(cols * (nlocal > 0 ? nlocal : 1));
  for (int i = 0; i < nlocal; i++)
    for (int m = 0; m < members; m++)
      for (int c = 0; c < 3; c++)
        local_forces[3 * ((size_t) m * nlocal + i) + c] = member_rows[cols * i + 3 * m + c];
  atom_deviation.resize(nlocal > 0 ? nlocal : 1);
  gbnet_committee_force_deviations(atom_deviation.data(), local_forces.data(), members, nlocal, nlocal);

  int flag = -1, ncols = -1;
  int index = atom->find_custom("gbnet_devi_f", flag, ncols);
  if (index >= 0 && flag == 1 && ncols == 0)
    for (int i = 0; i < nlocal; i++) atom->dvector[index][i] = atom_deviation[i];

  double local_max = 0.0, local_min = INFINITY, local_sum = 0.0;
  for (int i = 0; i < nlocal; i++) {
    local_max = std::max(local_max, atom_deviation[i]);
    local_min = std::min(local_min, atom_deviation[i]);
    local_sum += atom_deviation[i];
  }
  double max_f, min_f, sum_f;
  MPI_Allreduce(&local_max, &max_f, 1, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(&local_min, &min_f, 1, MPI_DOUBLE, MPI_MIN, world);
  MPI_Allreduce(&local_sum, &sum_f, 1, MPI_DOUBLE, MPI_SUM, world);
  std::vector<double> local_ev(10 * (size_t) members), total_ev(10 * (size_t) members);
  for (int m = 0; m < members; m++) {
    local_ev[10 * m] = member_energies[m];
    for (int k = 0; k < 9; k++) local_ev[10 * m + 1 + k] = member_virials[9 * m + k];
  }
  MPI_Allreduce(local_ev.data(), total_ev.data(), 10 * members, MPI_DOUBLE, MPI_SUM, world);
  double natoms = (double) atom->natoms;
  double per_atom = natoms > 0 ? 1.0 / natoms : 0.0;
  auto spread = [&](int column) {   // population std over members of total_ev[10 m + column]
    double mean = 0.0, sum_sq = 0.0;
    for (int m = 0; m < members; m++) mean += total_ev[10 * m + column];
    mean /= members;
    for (int m = 0; m < members; m++) sum_sq += std::pow(total_ev[10 * m + column] - mean, 2);
    return std::sqrt(sum_sq / members);
  };
  double max_v = 0.0, min_v = INFINITY, sq_v = 0.0;
  for (int k = 0; k < 9; k++) {
    double v = spread(1 + k) * per_atom;
    max_v = std::max(max_v, v);
    min_v = std::min(min_v, v);
    sq_v += v * v;
  }
  pvector[0] = max_v;
  pvector[1] = min_v;
  pvector[2] = std::sqrt(sq_v / 9);
  pvector[3] = max_f;
  pvector[4] = natoms > 0 ? min_f : 0.0;
  pvector[5] = sum_f * per_atom;
  pvector[6] = spread(0) * per_atom;
  if (out_freq > 0 && update->ntimestep % out_freq == 0 && update->ntimestep != last_deviation_step) {
    last_deviation_step = update->ntimestep;
    write_deviation();
  }
  // compute pair sums pvector over ranks: the values live on rank 0 alone
  if (comm->me != 0)
    for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
}

/* Opened (truncated, with the header) by the first run after pair_style;
 * later runs append. A file that cannot be opened is an error on all ranks. */
void PairGBNet::open_deviation_file()
{
  if (deviation_fp || comm->me != 0) {
    int failed = 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, world);
    if (any) error->all(FLERR, "pair gbnet: cannot open the deviation file {} (out_file) on rank 0", out_file);
    return;
  }
  deviation_fp = fopen(out_file.c_str(), "w");
  std::string why = deviation_fp ? "" : utils::getsyserror();
  int failed = deviation_fp == nullptr, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, world);
  if (any)
    error->all(FLERR, "pair gbnet: cannot open the deviation file {} (out_file) for writing: {}", out_file, why);
  fmt::print(deviation_fp, "#{:>12} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18}\n", "step", "max_devi_v",
             "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e");
  fflush(deviation_fp);
}

void PairGBNet::write_deviation()
{
  if (comm->me != 0 || !deviation_fp) return;
  fmt::print(deviation_fp, "{:>13} {:18.10e} {:18.10e} {:18.10e} {:18.10e} {:18.10e} {:18.10e} {:18.10e}\n",
             update->ntimestep, pvector[0], pvector[1], pvector[2], pvector[3], pvector[4], pvector[5],
             pvector[6]);
  fflush(deviation_fp);
}
