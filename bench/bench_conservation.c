/* Are a model's forces conservative? (docs/compression.md, "Quantization")
 *   bench_conservation DATA N_PATHS AMPLITUDE STEPS MODEL.gbnet...
 * For N_PATHS frames of DATA, single precision, 1 thread: a random displacement
 * d (each coordinate uniform in +-AMPLITUDE A); the work W of the forces along
 * x0 -> x0 + d (midpoint rule, STEPS steps) against the energy change, and the
 * work around the closed square x0 -> +d -> +d+d2 -> +d2 -> x0 (zero for a
 * conservative force). Prints the means in meV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gbnet.h"
#include "gbnet_data.h"
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: bench_conservation DATA N_PATHS AMPLITUDE STEPS MODEL.gbnet...\n"); return 2; }
  const char *data = argv[1]; int nframes = atoi(argv[2]); double amp = atof(argv[3]); int steps = atoi(argv[4]);
  gbnet_dataset ds = {0};
  if (gbnet_dataset_read(&ds, data)) { fprintf(stderr, "%s\n", gbnet_last_error()); return 1; }
  for (int mi = 5; mi < argc; ++mi) {
    gbnet_model *m; if (gbnet_model_load(&m, argv[mi])) { fprintf(stderr, "%s\n", gbnet_last_error()); return 1; }
    gbnet_workspace *ws; gbnet_workspace_create(&ws, m, GBNET_FLOAT); gbnet_workspace_set_threads(ws, 1);
    double sum_abs = 0, sum_de = 0, sum_len = 0, sum_loop = 0; srand(7);
    for (int k = 0; k < nframes; ++k) {
      const gbnet_frame *f = &ds.frames[k * (ds.n_frames / nframes)];
      int n = f->n_atoms; int *sp = malloc(n * sizeof(int)); gbnet_frame_species(sp, f, gbnet_model_hyperparams(m));
      double *d = malloc(24 * n), *x = malloc(24 * n), *F = malloc(24 * n), len = 0;
      for (int i = 0; i < 3 * n; ++i) { d[i] = amp * ((rand() / (double)RAND_MAX) * 2 - 1); len += d[i] * d[i]; }
      gbnet_structure s = {0}; s.n_atoms = n; s.species = sp; s.positions = x; s.cell = f->has_cell ? f->cell : NULL;
      for (int c = 0; c < 3; ++c) s.pbc[c] = f->pbc[c];
      gbnet_result r = {0}; r.forces = F;
      double E0, E1, W = 0, WL = 0;
      memcpy(x, f->pos, 24 * n);
      gbnet_evaluate(ws, 1, &s, &r);
      E0 = r.energy;
      for (int i = 0; i < 3 * n; ++i) x[i] = f->pos[i] + d[i];
      gbnet_evaluate(ws, 1, &s, &r);
      E1 = r.energy;
      for (int t = 0; t < steps; ++t) { /* midpoint rule */
        double sm = (t + 0.5) / steps;
        for (int i = 0; i < 3 * n; ++i) x[i] = f->pos[i] + sm * d[i];
        gbnet_evaluate(ws, 1, &s, &r);
        for (int i = 0; i < 3 * n; ++i) W += F[i] * d[i] / steps;
      }
      /* closed square loop x0 -> +d1 -> +d1+d2 -> +d2 -> x0 (d2 a second random displacement) */
      double *d2 = malloc(24 * n);
      for (int i = 0; i < 3 * n; ++i) d2[i] = amp * ((rand() / (double)RAND_MAX) * 2 - 1);
      for (int side = 0; side < 4; ++side)
        for (int t = 0; t < steps; ++t) {
          double sm = (t + 0.5) / steps;
          for (int i = 0; i < 3 * n; ++i) {
            double a1 = side == 0 ? sm : side == 1 ? 1 : side == 2 ? 1 - sm : 0;
            double a2 = side == 0 ? 0 : side == 1 ? sm : side == 2 ? 1 : 1 - sm;
            x[i] = f->pos[i] + a1 * d[i] + a2 * d2[i];
          }
          gbnet_evaluate(ws, 1, &s, &r);
          for (int i = 0; i < 3 * n; ++i) {
            double v = side == 0 ? d[i] : side == 1 ? d2[i] : side == 2 ? -d[i] : -d2[i];
            WL += F[i] * v / steps;
          }
        }
      free(d2);
      sum_loop += fabs(WL);
      sum_abs += fabs((E1 - E0) + W); sum_de += fabs(E1 - E0); sum_len += sqrt(len);
      free(sp); free(d); free(x); free(F);
    }
    printf("%s: mean |dE + W| %.3g meV, mean |dE| %.3g meV, mean path length %.3g A; closed-loop |W| %.3g meV (%d paths, %d steps)\n", argv[mi],
           1e3 * sum_abs / nframes, 1e3 * sum_de / nframes, sum_len / nframes, 1e3 * sum_loop / nframes, nframes, steps);
    gbnet_workspace_free(ws); gbnet_model_free(m);
  }
  return 0;
}
