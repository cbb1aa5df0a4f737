/* A program of your own against the installed gbnet library: loads a
 * potential, reads the first frame of an extended XYZ file (Lattice=,
 * species and positions as the first four columns, as ASE writes them) and
 * prints its energy, virial and forces.
 *
 *   cc evaluate.c $(pkg-config --cflags --libs gbnet) -o evaluate
 *   ./evaluate water.gbnet frame.extxyz
 *
 * or with CMake: find_package(gbnet) and link gbnet::gbnet (CMakeLists.txt
 * beside this file). Only the public header gbnet.h is used. */
#include <gbnet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "evaluate: %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) return fail("usage: evaluate MODEL.gbnet FRAME.extxyz");
    gbnet_model *model = NULL;
    if (gbnet_model_load(&model, argv[1]) != GBNET_OK) return fail(gbnet_last_error());

    FILE *in = fopen(argv[2], "r");
    if (!in) return fail("cannot open the extxyz file");
    int n = 0;
    char line[4096];
    if (!fgets(line, sizeof line, in) || sscanf(line, "%d", &n) != 1 || n < 1)
        return fail("line 1: expected the number of atoms");
    if (!fgets(line, sizeof line, in)) return fail("line 2: expected the comment line");
    double cell[9] = {0};
    const char *lat = strstr(line, "Lattice=\"");
    if (!lat || sscanf(lat + 9, "%lf %lf %lf %lf %lf %lf %lf %lf %lf", &cell[0], &cell[1], &cell[2], &cell[3],
                       &cell[4], &cell[5], &cell[6], &cell[7], &cell[8]) != 9)
        return fail("line 2: expected Lattice=\"...\" with 9 numbers");
    int *species = malloc(sizeof(int) * (size_t)n);
    double *pos = malloc(sizeof(double) * 3 * (size_t)n), *forces = malloc(sizeof(double) * 3 * (size_t)n);
    if (!species || !pos || !forces) return fail("out of memory");
    for (int i = 0; i < n; ++i) {
        char symbol[8];
        if (!fgets(line, sizeof line, in) ||
            sscanf(line, "%7s %lf %lf %lf", symbol, &pos[3 * i], &pos[3 * i + 1], &pos[3 * i + 2]) != 4)
            return fail("atom line: expected a symbol and three coordinates");
        species[i] = gbnet_model_element_index(model, symbol);
        if (species[i] < 0) return fail("an element the model does not know");
    }
    fclose(in);

    gbnet_workspace *ws = NULL;
    if (gbnet_workspace_create(&ws, model, GBNET_DOUBLE) != GBNET_OK) return fail(gbnet_last_error());
    gbnet_structure s = {n, species, pos, cell, {1, 1, 1}};
    gbnet_result r = {0};
    r.forces = forces;
    if (gbnet_evaluate(ws, 1, &s, &r) != GBNET_OK) return fail(gbnet_last_error());

    printf("gbnet %s\nenergy %.12f\nvirial", gbnet_version(), r.energy);
    for (int k = 0; k < 9; ++k) printf(" %.10f", r.virial[k]);
    printf("\n");
    for (int i = 0; i < n; ++i) printf("force %d %.10f %.10f %.10f\n", i, forces[3 * i], forces[3 * i + 1], forces[3 * i + 2]);

    gbnet_workspace_free(ws);
    gbnet_model_free(model);
    free(species);
    free(pos);
    free(forces);
    return 0;
}
