/* gbnet-lmp: LAMMPS (the installed liblammps, e.g. Debian's, built without the
 * PLUGIN package) with pair_style gbnet registered. Same command line as
 * `lmp`: -in, -var, -log, -screen, -echo, -sf ..., and it runs under mpirun.
 *
 * Registration: `(*lmp->force->pair_map)["gbnet"] = creator`. The `clear`
 * command destroys Force and builds a fresh style map, then calls
 * LAMMPS::post_create(). This program defines LAMMPS::post_create() itself;
 * the dynamic linker binds liblammps's call (through its PLT) to this
 * definition, which runs the library's original (found with
 * dlsym(RTLD_NEXT)) and registers gbnet again. So `pair_style gbnet` works at
 * any point of any input script, including loops, jumps and include files,
 * which a line-by-line reader would break. At start-up the program checks
 * that the interposition is in effect and warns if not (e.g. a liblammps
 * linked with -Bsymbolic): then only the first `clear` loses gbnet. */
#include "force.h"
#include "input.h"
#include "lammps.h"
#include "pair_gbnet.h"

#include <dlfcn.h>
#include <mpi.h>
#include <cstdio>
#include <cstdlib>
#include <exception>

using namespace LAMMPS_NS;

namespace {

Pair *create_pair_gbnet(LAMMPS *lmp)
{
  return new PairGBNet(lmp);
}

void register_gbnet(LAMMPS *lmp)
{
  if (lmp && lmp->force && lmp->force->pair_map) (*lmp->force->pair_map)["gbnet"] = &create_pair_gbnet;
}

const char POST_CREATE_SYMBOL[] = "_ZN9LAMMPS_NS6LAMMPS11post_createEv";
using PostCreateFn = void (*)(LAMMPS *);

PostCreateFn library_post_create()
{
  static PostCreateFn original = nullptr;
  if (!original) original = reinterpret_cast<PostCreateFn>(dlsym(RTLD_NEXT, POST_CREATE_SYMBOL));
  return original;
}

}    // namespace

// Interposes liblammps's LAMMPS::post_create(): see the comment at the top.
void LAMMPS::post_create()
{
  PostCreateFn original = library_post_create();
  if (!original) {
    fprintf(stderr, "gbnet-lmp: cannot find %s in liblammps: %s\n", POST_CREATE_SYMBOL, dlerror());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  original(this);
  register_gbnet(this);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm world = MPI_COMM_WORLD;
  int status = 0;
  try {
    auto *lmp = new LAMMPS(argc, argv, world);
    // The constructor may call post_create() inside the library without the
    // PLT; register directly, then check that a later clear reaches the hook.
    register_gbnet(lmp);
    void *bound = dlsym(RTLD_DEFAULT, POST_CREATE_SYMBOL);
    if (bound == nullptr || bound == reinterpret_cast<void *>(library_post_create())) {
      int me = 0;
      MPI_Comm_rank(world, &me);
      if (me == 0)
        fprintf(stderr, "gbnet-lmp: WARNING: cannot interpose LAMMPS::post_create(); "
                        "pair_style gbnet is unavailable after 'clear'\n");
    }
    lmp->input->file();
    delete lmp;
  } catch (std::exception &e) {
    fprintf(stderr, "gbnet-lmp: %s\n", e.what());
    status = 1;
    MPI_Abort(world, 1);
  }
  MPI_Barrier(world);
  MPI_Finalize();
  return status;
}
