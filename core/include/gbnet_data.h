/* gbnet_data.h: datasets of labelled structures, read from extended XYZ
 * files (ASE conventions) and DeePMD-kit npy folders, written as extended
 * XYZ. Everything is in Angstrom, eV, eV/Angstrom (docs/model.md).
 *
 * A dataset is a plain struct the caller owns: zero-initialise it, read
 * files into it (each read appends, and leaves it as it was on failure),
 * read its frames directly, and free it with gbnet_dataset_free. Errors are
 * status codes with a message from gbnet_last_error() naming file and line
 * ("data.xyz:1203: expected 6 columns ..."). */
#ifndef GBNET_DATA_H
#define GBNET_DATA_H

#include "gbnet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *key;
    char *value;   /* raw text of the value (quotes removed) */
} gbnet_kv;

typedef struct {
    int n_atoms;
    int *z;               /* [n_atoms] atomic numbers */
    double *pos;          /* [n_atoms][3] */
    double *forces;       /* [n_atoms][3], NULL if the frame has no forces */
    double cell[9];       /* lattice vectors as rows; zero if has_cell == 0 */
    int has_cell;
    int pbc[3];
    double energy;        /* total energy (energy= or free_energy=) */
    int has_energy;
    double virial[9];     /* eV; from virial= or from stress= as -stress*V */
    int has_virial;
    char *config_type;    /* metadata or NULL */
    char *subset;
    gbnet_kv *info;          /* all other per-frame key=value pairs */
    int n_info;
    int line;             /* 1-based line of the frame's atom-count line in its file */
    const char *source;   /* file the frame came from (owned by the dataset) */
} gbnet_frame;

typedef struct {
    int n_frames;
    gbnet_frame *frames;
    char **sources;       /* file names, owned */
    int n_sources;
} gbnet_dataset;

/* Reads all frames of an extended XYZ file and appends them to ds (ds must
 * be zero-initialised before the first call). Malformed input fails with
 * GBNET_ERR_FORMAT and a message "FILE:LINE: what was expected"; on failure ds
 * keeps only the frames it had before the call. */
gbnet_status gbnet_read_extxyz(gbnet_dataset *ds, const char *path);

/* Reads a DeePMD-kit system folder (type.raw, type_map.raw, set.* /
 * {box,coord,energy,force[,virial]}.npy) and appends its frames. */
gbnet_status gbnet_read_deepmd(gbnet_dataset *ds, const char *dir);

/* Appends every snapshot of a LAMMPS text dump (dump custom with columns id
 * type and x y z, xu yu zu or xs ys zs) as a frame without labels: atoms
 * sorted by id, the cell and pbc of BOX BOUNDS (triclinic included), element
 * of type t = type_z[t-1] (atomic numbers, n_types of them), the step as info
 * "timestep". A missing column or a type outside the map is a format error
 * naming the file and line. */
gbnet_status gbnet_read_lammps_dump(gbnet_dataset *ds, const char *path, const int *type_z, int n_types);

/* Reads path as extxyz, or as a DeePMD system if it is a directory. */
gbnet_status gbnet_dataset_read(gbnet_dataset *ds, const char *path);

/* Value of a per-frame metadata key ("config_type", "subset" or any other),
 * or NULL. */
const char *gbnet_frame_info(const gbnet_frame *f, const char *key);

/* Writes frames as extended XYZ (ASE style); forces/energy/virial given per
 * frame override the frame's own if non-NULL (used for predictions). */
gbnet_status gbnet_write_extxyz(const char *path, const gbnet_frame *frames, int n_frames,
                             const double *energies /* [n_frames] or NULL */,
                             const double *const *forces /* [n_frames] -> [n][3] or NULL */,
                             const double *virials /* [n_frames][9] or NULL */);

void gbnet_dataset_free(gbnet_dataset *ds);

/* species[i] = element index in the model (hp's order) of atom i of frame.
 * Fails (GBNET_ERR_INVALID_ARGUMENT, "FILE:LINE: ...") naming the element
 * when the model does not have it. */
gbnet_status gbnet_frame_species(int *species /* [frame->n_atoms] */, const gbnet_frame *frame,
                                 const gbnet_hyperparams *hp);

/* Whether frame's metadata value of key matches pattern (shell wildcards as
 * in fnmatch(3), e.g. "data_3*"). Frames without the key never match. */
int gbnet_frame_matches(const gbnet_frame *frame, const char *key, const char *pattern);

#ifdef __cplusplus
}
#endif

#endif
