/* Prints sizeof and offsetof of every public struct the Python package
 * mirrors with ctypes (python/gbnet/_lib.py), one "NAME SIZE" line per
 * struct and "NAME.FIELD OFFSET" per field, for tests/python/test_abi.py. */
#include <stddef.h>
#include <stdio.h>

#include "gbnet.h"
#include "gbnet_data.h"
#include "gbnet_train.h"

#define SIZE(T) printf(#T " %zu\n", sizeof(T))
#define FIELD(T, f) printf(#T "." #f " %zu\n", offsetof(T, f))

int main(void) {
    SIZE(gbnet_hyperparams);
    FIELD(gbnet_hyperparams, n_features); FIELD(gbnet_hyperparams, n_blocks); FIELD(gbnet_hyperparams, n_rbf);
    FIELD(gbnet_hyperparams, readout_width); FIELD(gbnet_hyperparams, cutoff); FIELD(gbnet_hyperparams, n_elements);
    FIELD(gbnet_hyperparams, atomic_numbers);
    SIZE(gbnet_structure);
    FIELD(gbnet_structure, n_atoms); FIELD(gbnet_structure, species); FIELD(gbnet_structure, positions);
    FIELD(gbnet_structure, cell); FIELD(gbnet_structure, pbc);
    SIZE(gbnet_result);
    FIELD(gbnet_result, energy); FIELD(gbnet_result, virial); FIELD(gbnet_result, atom_energies);
    FIELD(gbnet_result, forces);
    SIZE(gbnet_committee_deviation);
    FIELD(gbnet_committee_deviation, energy_deviation); FIELD(gbnet_committee_deviation, force_deviation_max);
    FIELD(gbnet_committee_deviation, force_deviation_min); FIELD(gbnet_committee_deviation, force_deviation_mean);
    FIELD(gbnet_committee_deviation, virial_deviation_max); FIELD(gbnet_committee_deviation, virial_deviation_min);
    FIELD(gbnet_committee_deviation, virial_deviation_mean);
    FIELD(gbnet_committee_deviation, atom_force_deviations); FIELD(gbnet_committee_deviation, member_energies);
    printf("GBNET_DEFAULT_DISTANCE_MARGIN %.17g\n", GBNET_DEFAULT_DISTANCE_MARGIN);
    printf("GBNET_DEFAULT_FEATURE_MARGIN %.17g\n", GBNET_DEFAULT_FEATURE_MARGIN);
    SIZE(gbnet_coverage_report);
    FIELD(gbnet_coverage_report, atoms_checked); FIELD(gbnet_coverage_report, atoms_too_close);
    FIELD(gbnet_coverage_report, pairs_too_close); FIELD(gbnet_coverage_report, closest_ratio);
    FIELD(gbnet_coverage_report, closest_atom); FIELD(gbnet_coverage_report, closest_neighbor);
    FIELD(gbnet_coverage_report, volume_checked); FIELD(gbnet_coverage_report, volume_outside);
    FIELD(gbnet_coverage_report, volume_per_atom);
    SIZE(gbnet_feature_report);
    FIELD(gbnet_feature_report, atoms_checked); FIELD(gbnet_feature_report, atoms_outside);
    FIELD(gbnet_feature_report, largest_excess); FIELD(gbnet_feature_report, largest_atom);
    FIELD(gbnet_feature_report, largest_element); FIELD(gbnet_feature_report, largest_channel);
    SIZE(gbnet_kv);
    FIELD(gbnet_kv, key); FIELD(gbnet_kv, value);
    SIZE(gbnet_frame);
    FIELD(gbnet_frame, n_atoms); FIELD(gbnet_frame, z); FIELD(gbnet_frame, pos); FIELD(gbnet_frame, forces);
    FIELD(gbnet_frame, cell); FIELD(gbnet_frame, has_cell); FIELD(gbnet_frame, pbc); FIELD(gbnet_frame, energy);
    FIELD(gbnet_frame, has_energy); FIELD(gbnet_frame, virial); FIELD(gbnet_frame, has_virial);
    FIELD(gbnet_frame, config_type); FIELD(gbnet_frame, subset); FIELD(gbnet_frame, info);
    FIELD(gbnet_frame, n_info); FIELD(gbnet_frame, line); FIELD(gbnet_frame, source);
    SIZE(gbnet_dataset);
    FIELD(gbnet_dataset, n_frames); FIELD(gbnet_dataset, frames); FIELD(gbnet_dataset, sources);
    FIELD(gbnet_dataset, n_sources);
    SIZE(gbnet_epoch_report);
    FIELD(gbnet_epoch_report, epoch); FIELD(gbnet_epoch_report, n_epochs); FIELD(gbnet_epoch_report, global_step);
    FIELD(gbnet_epoch_report, lr); FIELD(gbnet_epoch_report, train_loss); FIELD(gbnet_epoch_report, valid_loss);
    FIELD(gbnet_epoch_report, train_energy_rmse); FIELD(gbnet_epoch_report, valid_energy_rmse);
    FIELD(gbnet_epoch_report, train_force_rmse); FIELD(gbnet_epoch_report, valid_force_rmse);
    FIELD(gbnet_epoch_report, train_stress_rmse); FIELD(gbnet_epoch_report, valid_stress_rmse);
    FIELD(gbnet_epoch_report, valid_energy_mae); FIELD(gbnet_epoch_report, valid_force_mae);
    FIELD(gbnet_epoch_report, elapsed); FIELD(gbnet_epoch_report, eta);
    FIELD(gbnet_epoch_report, structures_per_s); FIELD(gbnet_epoch_report, atoms_per_s);
    FIELD(gbnet_epoch_report, improved);
    SIZE(gbnet_train_callbacks);
    FIELD(gbnet_train_callbacks, ctx); FIELD(gbnet_train_callbacks, message); FIELD(gbnet_train_callbacks, epoch_done);
    FIELD(gbnet_train_callbacks, step_done); FIELD(gbnet_train_callbacks, stop_request);
    SIZE(gbnet_train_summary);
    FIELD(gbnet_train_summary, epoch); FIELD(gbnet_train_summary, global_step);
    FIELD(gbnet_train_summary, best_valid_loss); FIELD(gbnet_train_summary, best_epoch);
    FIELD(gbnet_train_summary, n_train); FIELD(gbnet_train_summary, n_valid);
    FIELD(gbnet_train_summary, train_atoms); FIELD(gbnet_train_summary, valid_atoms);
    FIELD(gbnet_train_summary, train_has_stress);
    printf("sig_atomic_t %zu\n", sizeof(sig_atomic_t));
    return 0;
}
