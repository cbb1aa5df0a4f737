#!/usr/bin/env bash
# ctest LAMMPS.Configure*: gbnet's configure-time check of the LAMMPS a
# plugin is built for (plugin/CMakeLists.txt). Configures this source tree
# (no tests, nothing built) in scratch folders with
#   matching headers and lmp               -> configures, names the plugin
#   4Feb2025 headers, 29Sep2021 lmp        -> stops: the two versions
#   headers of the lmp, lmp without PLUGIN -> stops: no PLUGIN package
# Usage: check_configure.sh SOURCE_DIR HEADERS_OLD LMP_OLD HEADERS_NEW LMP_WITHOUT_PLUGIN
set -uo pipefail
src="$1" old_src="$2" old_lmp="$3" new_src="$4" plain_lmp="$5"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=0

configure() {  # name, expected status (0 or 1), expected text, cmake -D options...
  local name="$1" want="$2" text="$3"; shift 3
  cmake -S "$src" -B "$scratch/$name" -DGBNET_TESTS=OFF -DGBNET_LAMMPS=ON "$@" > "$scratch/$name.log" 2>&1
  local rc=$?
  local got=$(( rc != 0 ))
  # CMake wraps long messages: compare with all whitespace runs as one space
  if [[ $got -ne $want ]] || ! tr -s ' \n' ' ' < "$scratch/$name.log" | grep -qF "$text"; then
    echo "FAIL $name: exit $rc (want $( ((want)) && echo failure || echo success )), expected text: $text"
    tail -n 25 "$scratch/$name.log"
    failed=1
  else
    echo "ok   $name: $text"
  fi
}

configure matching 0 "gbnetplugin.so ($scratch/matching/plugin): LAMMPS 20210929" \
  -DLAMMPS_SOURCE_DIR="$old_src" -DLAMMPS_BINARY="$old_lmp"
configure version 1 "are LAMMPS 20250204, but $old_lmp is LAMMPS 20210929" \
  -DLAMMPS_SOURCE_DIR="$new_src" -DLAMMPS_BINARY="$old_lmp"
configure no_plugin 1 "$plain_lmp (LAMMPS 20210929) has no PLUGIN package" \
  -DLAMMPS_SOURCE_DIR="$old_src" -DLAMMPS_BINARY="$plain_lmp"
exit $failed
