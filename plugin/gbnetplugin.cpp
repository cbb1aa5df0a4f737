/* gbnetplugin.so: `plugin load gbnetplugin.so` registers pair_style gbnet in a
 * LAMMPS built with the PLUGIN package. It must be compiled against the
 * headers (and MPI) of the LAMMPS that loads it. */
#include "register_pair_gbnet.h"

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  register_pair_gbnet(plugin, lmp, handle, regfunc);
}
