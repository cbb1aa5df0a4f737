/* The registration of pair_style gbnet that both plugins make
 * (gbnetplugin.cpp, gbnetkkplugin.cpp). */
#ifndef GBNET_REGISTER_PAIR_GBNET_H
#define GBNET_REGISTER_PAIR_GBNET_H

#include "lammpsplugin.h"
#include "version.h"

#include "pair_gbnet.h"

static LAMMPS_NS::Pair *create_pair_gbnet(LAMMPS_NS::LAMMPS *lmp)
{
  return new LAMMPS_NS::PairGBNet(lmp);
}

/* Registers `pair_style gbnet`; plugin is left filled in for further styles. */
static void register_pair_gbnet(lammpsplugin_t &plugin, void *lmp, void *handle, void *regfunc)
{
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

#endif
