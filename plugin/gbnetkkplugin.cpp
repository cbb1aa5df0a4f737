/* gbnetkkplugin.so: `plugin load gbnetkkplugin.so` registers pair_style
 * gbnet and pair_style gbnet/kk in a LAMMPS built with the KOKKOS and PLUGIN
 * packages (tools/build_lammps_kokkos.sh), so `lmp -k on -sf kk` picks
 * gbnet/kk for `pair_style gbnet`. It must be compiled against the headers,
 * Kokkos and MPI of the LAMMPS that loads it (lammps/KOKKOS/CMakeLists.txt). */
#include "register_pair_gbnet.h"

#include "pair_gbnet_kokkos.h"

using namespace LAMMPS_NS;

static Pair *create_pair_gbnet_kokkos(LAMMPS *lmp)
{
  return new PairGBNetKokkos<LMPDeviceType>(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  register_pair_gbnet(plugin, lmp, handle, regfunc);
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.name = "gbnet/kk";
  plugin.info = "gbnet SchNet-family neural-network potential, KOKKOS";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &create_pair_gbnet_kokkos;
  (*register_plugin)(&plugin, lmp);
}
