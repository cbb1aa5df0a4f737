/* Structures with ab initio labels, read from extended XYZ (and DeePMD npy
 * folders). Everything is in Angstrom, eV, eV/Angstrom. */
#ifndef GB_DATASET_H
#define GB_DATASET_H

#include "gbnet.h"

typedef struct {
    char *key;
    char *value;   /* raw text of the value (quotes removed) */
} gb_kv;

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
    gb_kv *info;          /* all other per-frame key=value pairs */
    int n_info;
    int line;             /* 1-based line of the frame's atom-count line in its file */
    const char *source;   /* file the frame came from (owned by the dataset) */
} gb_frame;

typedef struct {
    int n_frames;
    gb_frame *frames;
    char **sources;       /* file names, owned */
    int n_sources;
} gb_dataset;

/* Reads all frames of an extended XYZ file and appends them to ds (ds must
 * be zero-initialised before the first call). Malformed input fails with
 * GBNET_ERR_FORMAT and a message "FILE:LINE: what was expected"; on failure ds
 * keeps only the frames it had before the call. */
gbnet_status gb_read_extxyz(gb_dataset *ds, const char *path);

/* Reads a DeePMD-kit system folder (type.raw, type_map.raw, set.* /
 * {box,coord,energy,force[,virial]}.npy) and appends its frames. */
gbnet_status gb_read_deepmd(gb_dataset *ds, const char *dir);

/* Reads path as extxyz, or as a DeePMD system if it is a directory. */
gbnet_status gb_read_dataset(gb_dataset *ds, const char *path);

/* Value of a per-frame metadata key ("config_type", "subset" or any other),
 * or NULL. */
const char *gb_frame_info(const gb_frame *f, const char *key);

/* Writes frames as extended XYZ (ASE style); forces/energy/virial given per
 * frame override the frame's own if non-NULL (used for predictions). */
gbnet_status gb_write_extxyz(const char *path, const gb_frame *frames, int n_frames,
                             const double *energies /* [n_frames] or NULL */,
                             const double *const *forces /* [n_frames] -> [n][3] or NULL */,
                             const double *virials /* [n_frames][9] or NULL */);

void gb_dataset_free(gb_dataset *ds);

#endif
