/* pair_style gbnet: see pair_gbnet.h and docs/pair_gbnet.md. */
#include "pair_gbnet.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
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

#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

PairGBNet::PairGBNet(LAMMPS *lmp) :
    Pair(lmp), precision(GBNET_DOUBLE), n_threads(0), warn_coverage(1), warn_every(100), warn_max(10),
    warnings_printed(0), last_warning_step(-1), steps_outside(0), model(nullptr), workspace(nullptr),
    workspace_precision(-1), cutoff(0.0), exchange_rows(nullptr), exchange_cols(0),
    exchange_elem_size(0)
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
  // compute pair gbnet: [1] atoms closer than the shortest trained distance,
  // [2] closest distance / shortest trained one, [3] 1 if the volume per atom
  // is outside the trained range (all 0 without warn_coverage)
  nextra = 3;
  pvector = new double[nextra];
  for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
}

PairGBNet::~PairGBNet()
{
  delete[] pvector;
  release_model();
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairGBNet::release_model()
{
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

/* pair_style gbnet [precision double|float] [threads N] [warn_coverage yes|no]
 *                  [warn_every N] [warn_max N] */
void PairGBNet::settings(int narg, char **arg)
{
  precision = GBNET_DOUBLE;
  n_threads = 0;
  warn_coverage = 1;
  warn_every = 100;
  warn_max = 10;
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
    } else if (!parse_coverage_keyword(key, value)) {
      error->all(FLERR, "pair_style gbnet: unknown keyword '{}' (expected precision, threads, "
                 "warn_coverage, warn_every or warn_max)", key);
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
  warnings_printed = 0;
  last_warning_step = -1;
  steps_outside = 0;
  if (warn_coverage && !gbnet_model_coverage(model) && comm->me == 0)
    error->warning(FLERR, "pair gbnet: potential file {} holds no record of its training data "
                   "(retrain with this gbnet): no warnings when the simulation leaves it", potential_path);
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
  check_coverage(graph);

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

  if (gbnet_evaluate_graph(workspace, &graph, &result) != GBNET_OK)
    error->one(FLERR, "pair gbnet: evaluation failed: {}", gbnet_last_error());

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
}

/* ---------------------------------------------------------------------- extrapolation warnings */

bool PairGBNet::parse_coverage_keyword(const std::string &key, const std::string &value)
{
  if (key == "warn_coverage") {
    // (utils::logical is not in every supported LAMMPS release)
    if (value == "yes" || value == "on" || value == "true") warn_coverage = 1;
    else if (value == "no" || value == "off" || value == "false") warn_coverage = 0;
    else error->all(FLERR, "pair_style gbnet: warn_coverage must be 'yes' or 'no', not '{}'", value);
  } else if (key == "warn_every") {
    warn_every = utils::inumeric(FLERR, value.c_str(), false, lmp);
    if (warn_every < 1) error->all(FLERR, "pair_style gbnet: warn_every must be >= 1 (steps)");
  } else if (key == "warn_max") {
    warn_max = utils::inumeric(FLERR, value.c_str(), false, lmp);
    if (warn_max < 0) error->all(FLERR, "pair_style gbnet: warn_max must be >= 0 (0: count, never print)");
  } else {
    return false;
  }
  return true;
}

/* Compares this step's graph (owned atoms' edges on every rank) and the
 * volume per atom of a fully periodic box with the training coverage record,
 * in the spirit of n2p2's extrapolation warnings: the counts go to pvector
 * (compute pair gbnet) every step, and rank 0 prints a warning the first
 * time anything is outside, then at most one every warn_every steps, at most
 * warn_max in all. Sums over ranks: the counts do not depend on their number. */
void PairGBNet::check_coverage(const gbnet_graph &graph)
{
  for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
  const gbnet_coverage *record = gbnet_model_coverage(model);
  if (!warn_coverage || !record) return;

  double volume_per_atom = 0.0;
  if (domain->dimension == 3 && domain->xperiodic && domain->yperiodic && domain->zperiodic &&
      atom->natoms > 0)
    volume_per_atom = domain->xprd * domain->yprd * domain->zprd / (double) atom->natoms;
  gbnet_coverage_report report;
  if (gbnet_coverage_check_graph(model, &graph, volume_per_atom, &report) != GBNET_OK)
    error->one(FLERR, "pair gbnet: coverage check failed: {}", gbnet_last_error());

  // the closest edge over all ranks, with its element pair
  const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
  struct { double ratio; int pair; } mine, closest;
  mine.ratio = report.closest_ratio;
  mine.pair = report.closest_atom >= 0 ?
      species[report.closest_atom] * GBNET_MAX_ELEMENTS + species[report.closest_neighbor] : -1;
  MPI_Allreduce(&mine, &closest, 1, MPI_DOUBLE_INT, MPI_MINLOC, world);
  int counts[2] = {report.atoms_too_close, report.pairs_too_close}, total[2];
  MPI_Allreduce(counts, total, 2, MPI_INT, MPI_SUM, world);

  // compute pair sums pvector over ranks: each rank gives its own atoms, and
  // rank 0 alone the global closest ratio and volume flag
  pvector[0] = report.atoms_too_close;
  pvector[1] = comm->me == 0 ? closest.ratio : 0.0;
  pvector[2] = comm->me == 0 ? report.volume_outside : 0;
  if (total[0] == 0 && !report.volume_outside) return;
  steps_outside++;
  bigint step = update->ntimestep;
  if (comm->me != 0 || warnings_printed >= warn_max) return;
  if (last_warning_step >= 0 && step - last_warning_step < warn_every) return;
  last_warning_step = step;
  warnings_printed++;

  std::string what;
  if (total[0] > 0) {
    int a = closest.pair >= 0 ? closest.pair / GBNET_MAX_ELEMENTS : 0;
    int b = closest.pair >= 0 ? closest.pair % GBNET_MAX_ELEMENTS : 0;
    double shortest = record->shortest_distance[a][b];
    std::string pair = std::string(gbnet_element_symbol(hp->atomic_numbers[a])) + "-" +
                       gbnet_element_symbol(hp->atomic_numbers[b]);
    if (shortest > 0.0)
      what += fmt::format("{} atoms closer than the shortest distance in the training data (closest: {} "
                          "{:.3f} A, trained >= {:.3f} A)", total[0], pair, closest.ratio * shortest, shortest);
    else
      what += fmt::format("{} atoms in {} pairs, which the training data never had within the cutoff",
                          total[0], pair);
  }
  if (report.volume_outside) {
    double lo = record->volume_per_atom_min, hi = record->volume_per_atom_max;
    double off = report.volume_per_atom < lo ? (lo - report.volume_per_atom) / lo
                                             : (report.volume_per_atom - hi) / hi;
    what += fmt::format("{}volume per atom {:.4g} A^3, {:.1f}% {} the trained {:.4g}-{:.4g} A^3 "
                        "(density {} than any training frame)", what.empty() ? "" : "; ",
                        report.volume_per_atom, 100.0 * off, report.volume_per_atom < lo ? "below" : "above",
                        lo, hi, report.volume_per_atom < lo ? "higher" : "lower");
  }
  error->warning(FLERR, "pair gbnet: step {}: outside what potential {} was trained on: {} "
                 "[warning {} of at most {}, at most one per {} steps]", step, potential_path, what,
                 warnings_printed, warn_max, warn_every);
  if (warnings_printed == warn_max)
    error->warning(FLERR, "pair gbnet: no more coverage warnings (warn_max {}); compute pair gbnet "
                   "still counts every step", warn_max);
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
  bytes += (double) species.capacity() * sizeof(int);
  bytes += (double) (forces.capacity() + atom_energies.capacity() + atom_virials.capacity()) * sizeof(double);
  return bytes;
}
