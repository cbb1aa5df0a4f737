/* gbnetplugin.so: `plugin load gbnetplugin.so` registers pair_style gbnet in a
 * LAMMPS built with the PLUGIN package. It must be compiled against the
 * headers (and MPI) of the LAMMPS that loads it. */
#include "lammpsplugin.h"
#include "version.h"

#include "pair_gbnet.h"

using namespace LAMMPS_NS;

static Pair *create_pair_gbnet(LAMMPS *lmp)
{
  return new PairGBNet(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "gbnet";
  plugin.info = "gbnet SchNet-family neural-network potential";
  plugin.author = "gbnet developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &create_pair_gbnet;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
