/* pair_style gbnet: see pair_gbnet.h and docs/pair_gbnet.md. */
#include "pair_gbnet.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

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

namespace {
// Doubles per atom in one forward/reverse communication. Fixed here, once,
// because pair_style hybrid takes its sub-styles' comm_forward/comm_reverse
// when `pair_style` is read, before pair_coeff names the potential (and so
// the feature count F): LAMMPS sizes its buffers from hybrid's values.
// Feature rows wider than this travel in several passes (a 64-feature model:
// one pass in double and in float).
constexpr int EXCHANGE_SLOTS = 64;
// the global vector of compute pair gbnet: the committee's deviations, then
// the coverage counts
constexpr int DEVIATION_VALUES = 7;
constexpr int COVERAGE_VALUES = 3;
constexpr int FEATURE_VALUES = 2;
}    // namespace

PairGBNet::PairGBNet(LAMMPS *lmp) :
    Pair(lmp), precision(GBNET_DOUBLE), n_threads(0), warn_coverage(1), warn_every(100), warn_max(10),
    warn_distance_margin(GBNET_DEFAULT_DISTANCE_MARGIN), warn_feature_margin(GBNET_DEFAULT_FEATURE_MARGIN),
    warnings_printed(0), last_warning_step(-1), feature_warnings_printed(0), last_feature_warning_step(-1),
    check_feature_ranges(false), steps_outside(0), model(nullptr), workspace(nullptr),
    workspace_precision(-1), cutoff(0.0), all_types_mapped(true), n_local_nodes(0), n_nodes(0),
    committee(nullptr), committee_workspace(nullptr), committee_workspace_precision(-1), committee_output(-1),
    out_freq(0), deviation_fp(nullptr), last_deviation_step(-1),
    exchange_rows(nullptr), exchange_stride(0), exchange_col0(0), exchange_cols(0), exchange_elem_size(0)
{
  comm_forward = comm_reverse = EXCHANGE_SLOTS;
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;            // only "pair_coeff * * FILE El..."
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the core returns the exact virial
  // The energy depends on interatomic distances only, so dE/dr_ij is a central
  // pair force: the per-atom virial (each edge split half/half) is the same as
  // the centroid one.
  centroidstressflag = CENTROID_SAME;
  // compute pair gbnet, a global vector of the last evaluated step:
  // [1..7] the committee's max_devi_v min_devi_v avg_devi_v max_devi_f
  // min_devi_f avg_devi_f devi_e (zeros without a committee), [8] atoms closer
  // than (1 - warn_distance_margin) times the shortest trained distance, [9]
  // closest distance / shortest trained one, [10] 1 if the volume per atom is
  // outside the trained range, [11] atoms whose readout input leaves its
  // trained range by more than warn_feature_margin, [12] the largest excess
  // in units of a channel's range ([8..12] zeros without warn_coverage,
  // [11..12] without a current record of the readout's input ranges)
  nextra = DEVIATION_VALUES + COVERAGE_VALUES + FEATURE_VALUES;
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
  map = new int[n + 1];    // Pair's type -> element map, freed by ~Pair
}

/* pair_style gbnet [precision double|float] [threads N] [warn_coverage yes|no]
 *                  [warn_every N] [warn_max N] [warn_distance_margin X]
 *                  [warn_feature_margin Y] [out_freq N] [out_file FILE]
 *                  [committee_output mean|M] */
void PairGBNet::settings(int narg, char **arg)
{
  precision = GBNET_DOUBLE;
  n_threads = 0;
  warn_coverage = 1;
  warn_every = 100;
  warn_max = 10;
  warn_distance_margin = GBNET_DEFAULT_DISTANCE_MARGIN;
  warn_feature_margin = GBNET_DEFAULT_FEATURE_MARGIN;
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
    } else if (!parse_coverage_keyword(key, value)) {
      error->all(FLERR, "pair_style gbnet: unknown keyword '{}' (expected precision, threads, "
                 "warn_coverage, warn_every, warn_max, warn_distance_margin, warn_feature_margin, out_freq, "
                 "out_file or committee_output)", key);
    }
  }
}

/* pair_coeff * * FILE El1 El2 ... (one element or NULL per atom type) */
void PairGBNet::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  int ntypes = atom->ntypes;
  if (narg < 3 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for gbnet must be: pair_coeff * * FILE El1 ... El{} "
               "(one element or NULL per atom type)", ntypes);
  if (narg - 3 != ntypes)
    error->all(FLERR, "pair_coeff * * {}: {} element names given, but there are {} atom types",
               arg[2], narg - 3, ntypes);

  release_model();
  // as given, else in the folder named by LAMMPS_POTENTIALS (as LAMMPS's own
  // styles); every rank looks and reads the file; if any rank fails, all
  // stop with the message
  potential_path = utils::get_potential_file_path(arg[2]);
  gbnet_status status = GBNET_ERR_IO;
  std::string message = "not found (nor in LAMMPS's potentials folder, $LAMMPS_POTENTIALS)";
  if (potential_path.empty()) potential_path = arg[2];
  else if ((status = gbnet_model_load(&model, potential_path.c_str())) != GBNET_OK) message = gbnet_last_error();
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
  char known[256];
  gbnet_format_elements(known, sizeof known, hp);

  // map[type]: index into elements[] (-1: NULL); setflag for pairs of mapped types
  int mapped = 0;
  for (int k = 3; k < narg; k++) mapped += strcmp(arg[k], "NULL") != 0;
  if (mapped == 0) error->all(FLERR, "pair_coeff gbnet: every atom type is NULL; map at least one to an element");
  map_element2type(narg - 3, &arg[3]);
  type_element.assign(ntypes + 1, -1);
  all_types_mapped = true;
  for (int type = 1; type <= ntypes; type++) {
    if (map[type] < 0) {
      all_types_mapped = false;
      continue;
    }
    const char *symbol = elements[map[type]];
    int element = gbnet_model_element_index(model, symbol);
    if (element < 0)
      error->all(FLERR, "pair_coeff gbnet: element '{}' given for atom type {} is not in potential "
                 "file {} (it has: {})", symbol, type, potential_path, known);
    type_element[type] = element;
  }
  // hybrid hands the NULL types to other styles; alone they would have none
  if (!all_types_mapped && force->pair == this)
    error->all(FLERR, "pair_coeff gbnet: NULL types need pair_style hybrid/overlay gbnet ... with "
               "another style for those types");
  cutoff = gbnet_model_cutoff(model);

  if (comm->me == 0) {
    int points = gbnet_model_table_points(model);
    std::string filters = points > 0 ? fmt::format("tabulated filters ({} points)", points) : "exact filters";
    std::string types;
    for (int type = 1; type <= ntypes; type++)
      types += fmt::format(" {}", map[type] < 0 ? "NULL" : elements[map[type]]);
    utils::logmesg(lmp, "pair gbnet: {}: elements {}, F={} T={} rc={} A, {}, {} precision; types:{}\n",
                   potential_path, known, hp->n_features, hp->n_blocks, cutoff, filters,
                   precision == GBNET_FLOAT ? "float" : "double", types);
  }
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

  ensure_workspace();
  gbnet_workspace_set_threads(workspace, n_threads);
  warnings_printed = 0;
  last_warning_step = -1;
  feature_warnings_printed = 0;
  last_feature_warning_step = -1;
  steps_outside = 0;
  int stale = 0;
  // the integrating member's record (its features are the ones computed every step)
  const gbnet_model *checked = model;
  if (committee && feature_member() < gbnet_committee_size(committee))
    checked = gbnet_committee_member(committee, feature_member());
  check_feature_ranges = warn_coverage && gbnet_model_feature_ranges(checked, &stale) && !stale;
  if (warn_coverage && stale && comm->me == 0)
    error->warning(FLERR, "pair gbnet: potential file {}: its record of the readout's input ranges was "
                   "measured on other weights (the network changed since): not checked; record it again with "
                   "gbnet coverage", potential_path);
  if (warn_coverage && !gbnet_model_coverage(model) && comm->me == 0 && warned_no_record != potential_path) {
    warned_no_record = potential_path;    // once per potential, not at every run
    error->warning(FLERR, "pair gbnet: potential file {} holds no record of its training data "
                   "(retrain with this gbnet): no warnings when the simulation leaves it", potential_path);
  }
  if (committee) {
    // (every member's features, and the member forces of the deviation, pass
    // through exchange() in column chunks of EXCHANGE_SLOTS)
    int members = gbnet_committee_size(committee);
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
  // hybrid asks only for the type pairs it gave to gbnet
  if (setflag[i][j] == 0)
    error->all(FLERR, "pair gbnet: atom types {} and {} are not both mapped to elements (NULL in "
               "pair_coeff): give them to another style with pair_style hybrid/overlay", i, j);
  return cutoff;
}

/* With NULL types: the graph's nodes are the atoms of mapped types, owned
 * ones first (in LAMMPS order), then ghosts; the full list is translated to
 * node indices, dropping entries of atoms that are not gbnet's (a hybrid skip
 * list has none, but a list shared with other styles may). */
void PairGBNet::build_nodes()
{
  int *type = atom->type;
  int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  node_of_atom.assign(nall > 0 ? nall : 1, -1);
  atom_of_node.clear();
  n_local_nodes = 0;
  for (int i = 0; i < nall; i++) {
    if (type_element[type[i]] < 0) continue;
    node_of_atom[i] = (int) atom_of_node.size();
    atom_of_node.push_back(i);
    if (i < nlocal) n_local_nodes = (int) atom_of_node.size();
  }
  n_nodes = (int) atom_of_node.size();

  node_positions.resize(3 * (size_t) (n_nodes > 0 ? n_nodes : 1));
  for (int n = 0; n < n_nodes; n++)
    for (int d = 0; d < 3; d++) node_positions[3 * (size_t) n + d] = atom->x[atom_of_node[n]][d];

  size_t n_entries = 0;
  for (int ii = 0; ii < list->inum; ii++) n_entries += list->numneigh[list->ilist[ii]];
  node_entries.resize(n_entries > 0 ? n_entries : 1);
  node_counts.assign(n_local_nodes > 0 ? n_local_nodes : 1, 0);
  node_entry_start.assign(n_local_nodes > 0 ? n_local_nodes : 1, nullptr);
  node_centers.clear();
  size_t at = 0;
  for (int ii = 0; ii < list->inum; ii++) {
    int i = list->ilist[ii], center = node_of_atom[i];
    if (center < 0) continue;
    node_centers.push_back(center);
    node_entry_start[center] = &node_entries[at];
    const int *neighbors = list->firstneigh[i];
    for (int k = 0; k < list->numneigh[i]; k++) {
      int j = node_of_atom[neighbors[k] & NEIGHMASK];
      if (j >= 0) node_entries[at++] = j;
    }
    node_counts[center] = (int) (&node_entries[0] + at - node_entry_start[center]);
  }
}

/* Element of every node, then the core's CSR edges (d < rc) from LAMMPS's
 * full list (threaded in the core). */
void PairGBNet::build_graph(gbnet_graph &graph)
{
  int *type = atom->type;
  int nlocal = atom->nlocal, nall = nlocal + atom->nghost;

  gbnet_full_list full;
  const double *x;
  if (all_types_mapped) {
    node_of_atom.clear();
    atom_of_node.clear();
    n_local_nodes = nlocal;
    n_nodes = nall;
    full.n_listed = list->inum;
    full.centers = list->ilist;
    full.counts = list->numneigh;
    full.entries = list->firstneigh;
    full.index_mask = NEIGHMASK;
    x = nall > 0 ? &atom->x[0][0] : nullptr;
  } else {
    build_nodes();
    full.n_listed = (int) node_centers.size();
    full.centers = node_centers.data();
    full.counts = node_counts.data();
    full.entries = node_entry_start.data();
    full.index_mask = NEIGHMASK;
    x = node_positions.data();
  }

  species.resize(n_nodes > 0 ? n_nodes : 1);
  for (int n = 0; n < n_nodes; n++) species[n] = type_element[type[atom_of(n)]];
  graph.n_local = n_local_nodes;
  graph.n_total = n_nodes;
  graph.species = species.data();

  int overlap[2] = {-1, -1};
  gbnet_status status = gbnet_graph_from_full_list(workspace, &graph, x, &full, overlap);
  if (status == GBNET_ERR_NUMERIC && overlap[0] >= 0) {
    int a = atom_of(overlap[0]), b = atom_of(overlap[1]);
    const double *xi = atom->x[a], *xj = atom->x[b];
    double d = std::sqrt((xj[0] - xi[0]) * (xj[0] - xi[0]) + (xj[1] - xi[1]) * (xj[1] - xi[1]) +
                         (xj[2] - xi[2]) * (xj[2] - xi[2]));
    error->one(FLERR, "pair gbnet: atoms {} and {} are {:.3g} Angstrom apart (overlapping atoms)",
               atom->tag[a], atom->tag[b], d);
  }
  if (status != GBNET_OK)
    error->one(FLERR, "pair gbnet: cannot build the graph from the neighbor list: {}", gbnet_last_error());
}

void PairGBNet::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);

  gbnet_graph graph;
  memset(&graph, 0, sizeof graph);
  build_graph(graph);
  check_coverage(graph);
  int nodes = n_nodes > 0 ? n_nodes : 1;

  forces.resize(3 * (size_t) nodes);
  atom_energies.resize(n_local_nodes > 0 ? n_local_nodes : 1);
  if (vflag_atom) atom_virials.resize(9 * (size_t) nodes);

  graph.forward_exchange = &PairGBNet::forward_exchange;
  graph.reverse_exchange = &PairGBNet::reverse_exchange;
  graph.exchange_ctx = this;

  gbnet_graph_result result;
  memset(&result, 0, sizeof result);
  result.atom_energies = eflag_atom ? atom_energies.data() : nullptr;
  result.forces = forces.data();
  result.atom_virials = vflag_atom ? atom_virials.data() : nullptr;

  // deviations are computed on every out_freq-th step (every step with
  // out_freq 0), as in DeePMD-kit; integrating with one member, the others
  // run only on those steps, and integrating with the mean on the others,
  // no member's own forces are needed (the core assembles the mean's once)
  bool deviation_step = committee && (out_freq == 0 || update->ntimestep % out_freq == 0);
  bool whole_committee = committee && (committee_output < 0 || deviation_step);
  if (whole_committee) {
    evaluate_committee(graph, result, deviation_step);
  } else if (committee) {
    if (gbnet_committee_evaluate_graph_member(committee_workspace, committee_output, &graph, &result) != GBNET_OK)
      error->one(FLERR, "pair gbnet: evaluation failed: {}", gbnet_last_error());
  } else if (gbnet_evaluate_graph(workspace, &graph, &result) != GBNET_OK) {
    error->one(FLERR, "pair gbnet: evaluation failed: {}", gbnet_last_error());
  }

  double **f = atom->f;
  for (int n = 0; n < n_nodes; n++) {
    double *fi = f[atom_of(n)];
    fi[0] += forces[3 * (size_t) n + 0];
    fi[1] += forces[3 * (size_t) n + 1];
    fi[2] += forces[3 * (size_t) n + 2];
  }
  if (eflag_global) eng_vdwl += result.energy;
  if (eflag_atom)
    for (int n = 0; n < n_local_nodes; n++) eatom[atom_of(n)] += atom_energies[n];
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
    for (int n = 0; n < n_nodes; n++) {
      const double *w = &atom_virials[9 * (size_t) n];
      double *v = vatom[atom_of(n)];
      v[0] += w[0];
      v[1] += w[4];
      v[2] += w[8];
      v[3] += w[1];
      v[4] += w[2];
      v[5] += w[5];
    }
  check_features(graph);
  if (deviation_step) committee_deviation(graph);
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
  } else if (key == "warn_distance_margin") {
    warn_distance_margin = utils::numeric(FLERR, value.c_str(), false, lmp);
    if (!(warn_distance_margin >= 0.0 && warn_distance_margin < 1.0))
      error->all(FLERR, "pair_style gbnet: warn_distance_margin must be in [0, 1) (a fraction of the shortest "
                 "trained distance), not {}", value);
  } else if (key == "warn_feature_margin") {
    warn_feature_margin = utils::numeric(FLERR, value.c_str(), false, lmp);
    if (!(warn_feature_margin >= 0.0) || !std::isfinite(warn_feature_margin))
      error->all(FLERR, "pair_style gbnet: warn_feature_margin must be >= 0 (in units of a channel's "
                 "trained range), not {}", value);
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
  double *values = pvector + DEVIATION_VALUES;
  for (int k = 0; k < COVERAGE_VALUES; k++) values[k] = 0.0;
  const gbnet_coverage *record = gbnet_model_coverage(model);
  if (!warn_coverage || !record) return;

  double volume_per_atom = 0.0;
  // (with types left to other styles, NULL in pair_coeff, the volume per atom
  // of the box is not that of the potential's atoms: not compared)
  if (all_types_mapped && domain->dimension == 3 && domain->xperiodic && domain->yperiodic &&
      domain->zperiodic && atom->natoms > 0)
    volume_per_atom = domain->xprd * domain->yprd * domain->zprd / (double) atom->natoms;
  gbnet_coverage_report report;
  if (gbnet_coverage_check_graph(model, &graph, volume_per_atom, warn_distance_margin, &report) != GBNET_OK)
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
  values[0] = report.atoms_too_close;
  values[1] = comm->me == 0 ? closest.ratio : 0.0;
  values[2] = comm->me == 0 ? report.volume_outside : 0;
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
      what += fmt::format("{} atoms closer than {:.3g} times the shortest distance in the training data "
                          "(closest: {} {:.3f} A, trained >= {:.3f} A)", total[0], 1.0 - warn_distance_margin,
                          pair, closest.ratio * shortest, shortest);
    else
      what += fmt::format("{} atoms in {} pairs, which the training data never had within the cutoff",
                          total[0], pair);
  }
  if (report.volume_outside) {
    double lo = record->volume_per_atom_min, hi = record->volume_per_atom_max;
    double off = report.volume_per_atom < lo ? (lo - report.volume_per_atom) / lo
                                             : (report.volume_per_atom - hi) / hi;
    what += fmt::format("{}volume per atom {:.4g} A^3, {:.2g}% {} the trained {:.4g}-{:.4g} A^3 "
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

/* The member whose features are checked: the one that integrates (member 0
 * for the mean), evaluated on every step. */
int PairGBNet::feature_member() const
{
  return committee && committee_output >= 0 ? committee_output : 0;
}

/* The owned atoms' readout inputs of this step (the integrating member's with a committee)
 * against the record of their trained ranges: [11] atoms outside (summed
 * over ranks), [12] the largest excess (rank 0 gives the maximum over all),
 * and warnings rate-limited like check_coverage's, with their own count. */
void PairGBNet::check_features(const gbnet_graph &graph)
{
  double *values = pvector + DEVIATION_VALUES + COVERAGE_VALUES;
  for (int k = 0; k < FEATURE_VALUES; k++) values[k] = 0.0;
  if (!check_feature_ranges) return;
  gbnet_feature_report report;
  gbnet_status status = committee ?
      gbnet_committee_feature_check_graph(committee_workspace, feature_member(), &graph, warn_feature_margin,
                                          &report) :
      gbnet_feature_check_graph(workspace, &graph, warn_feature_margin, &report);
  if (status != GBNET_OK) error->one(FLERR, "pair gbnet: feature check failed: {}", gbnet_last_error());

  // the largest excess over ranks, with where it is (element, channel, atom tag)
  struct { double excess; int rank; } mine, largest;
  mine.excess = report.largest_excess;
  mine.rank = comm->me;
  MPI_Allreduce(&mine, &largest, 1, MPI_DOUBLE_INT, MPI_MAXLOC, world);
  int outside = 0;
  MPI_Allreduce(&report.atoms_outside, &outside, 1, MPI_INT, MPI_SUM, world);
  int where[3] = {report.largest_element, report.largest_channel,
                  report.largest_atom >= 0 ? (int) atom->tag[atom_of(report.largest_atom)] : -1};
  if (largest.rank != 0) {    // rank 0 prints: the owner of the largest excess sends where it is
    if (comm->me == largest.rank) MPI_Send(where, 3, MPI_INT, 0, 0, world);
    else if (comm->me == 0) MPI_Recv(where, 3, MPI_INT, largest.rank, 0, world, MPI_STATUS_IGNORE);
  }
  values[0] = report.atoms_outside;
  values[1] = comm->me == 0 ? largest.excess : 0.0;
  if (outside == 0) return;
  bigint step = update->ntimestep;
  if (comm->me != 0 || feature_warnings_printed >= warn_max) return;
  if (last_feature_warning_step >= 0 && step - last_feature_warning_step < warn_every) return;
  last_feature_warning_step = step;
  feature_warnings_printed++;
  const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
  std::string element = where[0] >= 0 ? gbnet_element_symbol(hp->atomic_numbers[where[0]]) : "?";
  std::string what = where[1] < 0 ?
      fmt::format("atom {} is {}, which the training data never had", where[2], element) :
      fmt::format("largest: atom {} ({}) channel {}, {:.3g} ranges outside", where[2], element, where[1],
                  largest.excess);
  error->warning(FLERR, "pair gbnet: step {}: {} atoms with a readout input outside what potential {} was "
                 "trained on by more than {:.3g} times the trained range ({}) [warning {} of at most {}, at most "
                 "one per {} steps]", step, outside, potential_path, warn_feature_margin, what,
                 feature_warnings_printed, warn_max, warn_every);
  if (feature_warnings_printed == warn_max)
    error->warning(FLERR, "pair gbnet: no more feature-range warnings (warn_max {}); compute pair gbnet "
                   "still counts every step", warn_max);
}

/* ---------------------------------------------------------------------- feature exchange */

void PairGBNet::forward_exchange(void *ctx, void *rows, int n_cols, size_t elem_size)
{
  static_cast<PairGBNet *>(ctx)->exchange(rows, n_cols, elem_size, false);
}

void PairGBNet::reverse_exchange(void *ctx, void *rows, int n_cols, size_t elem_size)
{
  auto *self = static_cast<PairGBNet *>(ctx);
  // (a rank without atoms: the core passes zero gradient rows, gbnet_evaluate_graph)
  self->exchange(rows, n_cols, elem_size, true);
  // owners now hold the sums; ghost rows must not contribute again
  size_t row_bytes = (size_t) n_cols * elem_size;
  int ghosts = self->n_nodes - self->n_local_nodes;
  if (ghosts > 0)
    memset(static_cast<char *>(rows) + (size_t) self->n_local_nodes * row_bytes, 0, (size_t) ghosts * row_bytes);
}

/* Rows of n_cols numbers go through LAMMPS's communication in column blocks
 * of at most EXCHANGE_SLOTS doubles per atom (the size declared to LAMMPS). */
void PairGBNet::exchange(void *rows, int n_cols, size_t elem_size, bool reverse)
{
  // with NULL types and a rank that owns none of gbnet's atoms, the nodes
  // may be fewer than the atoms: rows still hold one row per node
  int cols_per_pass = (int) (EXCHANGE_SLOTS * sizeof(double) / elem_size);
  exchange_rows = rows;
  exchange_stride = n_cols;
  exchange_elem_size = elem_size;
  for (int col0 = 0; col0 < n_cols; col0 += cols_per_pass) {
    exchange_col0 = col0;
    exchange_cols = n_cols - col0 < cols_per_pass ? n_cols - col0 : cols_per_pass;
#if LAMMPS_VERSION_NUMBER >= 20220324
    if (reverse) comm->reverse_comm(this);
    else comm->forward_comm(this);
#else
    if (reverse) comm->reverse_comm_pair(this);
    else comm->forward_comm_pair(this);
#endif
  }
  exchange_rows = nullptr;
}

/* An atom's columns of the current pass travel as their raw bytes in
 * ceil(cols * elem_size / 8) doubles of the communication buffer: exact, and
 * half the traffic in float. Atoms that are not graph nodes (NULL types) send
 * zeros and ignore what they receive. */
namespace {
inline int row_slots(int n_cols, size_t elem_size)
{
  return (int) (((size_t) n_cols * elem_size + sizeof(double) - 1) / sizeof(double));
}
}    // namespace

int PairGBNet::pack_forward_comm(int n, int *list, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  // features are translation invariant: periodic images need no shift
  size_t row_bytes = (size_t) exchange_stride * exchange_elem_size;
  size_t col0_bytes = (size_t) exchange_col0 * exchange_elem_size;
  size_t pass_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  const char *rows = static_cast<const char *>(exchange_rows);
  for (int k = 0; k < n; k++) {
    int node = node_of(list[k]);
    double *dst = buf + (size_t) k * slots;
    if (node >= 0) memcpy(dst, rows + (size_t) node * row_bytes + col0_bytes, pass_bytes);
    else memset(dst, 0, pass_bytes);
  }
  return n * slots;
}

void PairGBNet::unpack_forward_comm(int n, int first, double *buf)
{
  size_t row_bytes = (size_t) exchange_stride * exchange_elem_size;
  size_t col0_bytes = (size_t) exchange_col0 * exchange_elem_size;
  size_t pass_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  char *rows = static_cast<char *>(exchange_rows);
  for (int k = 0; k < n; k++) {
    int node = node_of(first + k);
    if (node >= 0) memcpy(rows + (size_t) node * row_bytes + col0_bytes, buf + (size_t) k * slots, pass_bytes);
  }
}

int PairGBNet::pack_reverse_comm(int n, int first, double *buf)
{
  size_t row_bytes = (size_t) exchange_stride * exchange_elem_size;
  size_t col0_bytes = (size_t) exchange_col0 * exchange_elem_size;
  size_t pass_bytes = (size_t) exchange_cols * exchange_elem_size;
  int slots = row_slots(exchange_cols, exchange_elem_size);
  const char *rows = static_cast<const char *>(exchange_rows);
  for (int k = 0; k < n; k++) {
    int node = node_of(first + k);
    double *dst = buf + (size_t) k * slots;
    if (node >= 0) memcpy(dst, rows + (size_t) node * row_bytes + col0_bytes, pass_bytes);
    else memset(dst, 0, pass_bytes);
  }
  return n * slots;
}

void PairGBNet::unpack_reverse_comm(int n, int *list, double *buf)
{
  int cols = exchange_cols, slots = row_slots(cols, exchange_elem_size);
  for (int k = 0; k < n; k++) {
    int node = node_of(list[k]);
    if (node < 0) continue;
    const double *src = buf + (size_t) k * slots;
    size_t at = (size_t) node * exchange_stride + exchange_col0;
    if (exchange_elem_size == sizeof(double)) {
      double *dst = static_cast<double *>(exchange_rows) + at;
      for (int c = 0; c < cols; c++) dst[c] += src[c];
    } else {
      float *dst = static_cast<float *>(exchange_rows) + at;
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
  bytes += (double) (species.capacity() + node_of_atom.capacity() + atom_of_node.capacity() +
                     node_centers.capacity() + node_counts.capacity() + node_entries.capacity()) * sizeof(int);
  bytes += (double) node_positions.capacity() * sizeof(double);
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
                   "in compute pair gbnet and d_gbnet_devi_f{}\n", potential_path, gbnet_committee_size(committee),
                   committee_output < 0 ? std::string("their mean") : "member " + std::to_string(committee_output),
                   out_freq == 0 ? std::string(" (every step)")
                   : committee_output >= 0
                       ? fmt::format(" (the other members and the deviations every {} steps)", out_freq)
                       : fmt::format(" (the deviations every {} steps)", out_freq));
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
 * (or the chosen member). with_members: the members' own energies, virials
 * and forces stay for the deviation; without, the core assembles the mean's
 * forces once from the members' mean edge gradients. */
void PairGBNet::evaluate_committee(gbnet_graph &graph, gbnet_graph_result &result, bool with_members)
{
  int members = gbnet_committee_size(committee);
  member_energies.resize(members);
  member_virials.resize(9 * (size_t) members);
  member_forces.resize(with_members ? 3 * (size_t) members * (n_nodes > 0 ? n_nodes : 1) : 0);
  if (gbnet_committee_evaluate_graph(committee_workspace, &graph, &result, member_energies.data(),
                                     with_members ? member_virials.data() : nullptr,
                                     with_members ? member_forces.data() : nullptr) != GBNET_OK)
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
  // the graph's nodes are gbnet's atoms (all of them unless pair hybrid gives
  // NULL types to other styles): nodes [0, n_local_nodes) are owned
  int members = gbnet_committee_size(committee);
  int nlocal = n_local_nodes, nall = n_nodes;
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
  if (index >= 0 && flag == 1 && ncols == 0) {
    double *devi = atom->dvector[index];
    for (int i = 0; i < atom->nlocal; i++) devi[i] = 0.0;    // atoms of other styles' types
    for (int n = 0; n < nlocal; n++) devi[atom_of(n)] = atom_deviation[n];
  }

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
  double owned = nlocal, natoms = 0.0;   // gbnet's atoms over all ranks
  MPI_Allreduce(&owned, &natoms, 1, MPI_DOUBLE, MPI_SUM, world);
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
    for (int k = 0; k < DEVIATION_VALUES; k++) pvector[k] = 0.0;
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
