# ML-GBNET: pair_style gbnet built into LAMMPS (CMake build), the gbnet core
# linked in. LAMMPS's own tree stays unchanged; on LAMMPS's cmake command line:
#
#   cmake -S lammps/cmake -B build-lammps \
#         -D CMAKE_PROJECT_lammps_INCLUDE=/path/to/gbnet/lammps/ML-GBNET/ML-GBNET.cmake \
#         -D CMAKE_PREFIX_PATH=/path/to/gbnet-install ...
#
# (or, the way other external packages do it, append
# `include(/path/to/gbnet/lammps/ML-GBNET/ML-GBNET.cmake)` to the end of
# LAMMPS's cmake/CMakeLists.txt). Step by step: docs/pair_gbnet.md.
#
# Included right after project(lammps), this file defers its work to the end
# of LAMMPS's CMakeLists.txt (cmake_language(DEFER), CMake >= 3.19), when the
# `lammps` target and the style-header machinery exist. It then compiles
# pair_gbnet.cpp into liblammps, links gbnet::gbnet_static (find_package(gbnet),
# an installed gbnet: `cmake --install BUILD --prefix PREFIX`), and registers
# the style by regenerating LAMMPS's style headers with pair_gbnet.h added.
cmake_minimum_required(VERSION 3.19)

get_filename_component(ML_GBNET_DIR "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)
# pair_gbnet.cpp/.h sit one folder up (lammps/ in the source tree,
# share/gbnet/lammps/ in an install), shared with the plugin and gbnet-lmp
get_filename_component(ML_GBNET_SOURCES_DIR "${ML_GBNET_DIR}/.." ABSOLUTE)

function(ml_gbnet_add_to_lammps)
  if(NOT TARGET lammps)
    message(FATAL_ERROR "ML-GBNET: no 'lammps' target: include ML-GBNET.cmake from LAMMPS's "
            "cmake/CMakeLists.txt (CMAKE_PROJECT_lammps_INCLUDE or include() at its end)")
  endif()
  if(NOT EXISTS "${ML_GBNET_SOURCES_DIR}/pair_gbnet.cpp")
    message(FATAL_ERROR "ML-GBNET: ${ML_GBNET_SOURCES_DIR}/pair_gbnet.cpp is missing")
  endif()
  # installed beside this file (PREFIX/share/gbnet/lammps/ML-GBNET), or on CMAKE_PREFIX_PATH
  find_package(gbnet CONFIG HINTS ${ML_GBNET_DIR}/../../../..)
  if(NOT TARGET gbnet::gbnet_static)
    message(FATAL_ERROR "ML-GBNET: gbnet not found. Install it (cmake --install BUILD --prefix PREFIX "
            "in a gbnet build) and add -D CMAKE_PREFIX_PATH=PREFIX (or -D gbnet_DIR=PREFIX/lib/cmake/gbnet)")
  endif()
  # LAMMPS's CMakeLists.txt sets PROJECT_VERSION to yyyymmdd from version.h
  get_lammps_version(${LAMMPS_SOURCE_DIR}/version.h _ml_gbnet_lammps_version)
  target_sources(lammps PRIVATE ${ML_GBNET_SOURCES_DIR}/pair_gbnet.cpp)
  set_source_files_properties(${ML_GBNET_SOURCES_DIR}/pair_gbnet.cpp PROPERTIES
                              COMPILE_DEFINITIONS "LAMMPS_VERSION_NUMBER=${_ml_gbnet_lammps_version}")
  target_include_directories(lammps PRIVATE ${ML_GBNET_SOURCES_DIR})
  target_link_libraries(lammps PRIVATE gbnet::gbnet_static)
  # register pair_style gbnet: style_pair.h is regenerated with pair_gbnet.h
  AddStyleHeader(${ML_GBNET_SOURCES_DIR}/pair_gbnet.h PAIR)
  GenerateStyleHeaders(${LAMMPS_STYLE_HEADERS_DIR})
  # `lmp -h` lists ML-GBNET among the installed packages
  file(READ "${LAMMPS_STYLE_HEADERS_DIR}/lmpinstalledpkgs.h" _pkgs)
  if(NOT _pkgs MATCHES "\"ML-GBNET\"")
    string(REGEX REPLACE "(installed_packages\\[\\] *= *{\n)" "\\1  \"ML-GBNET\",\n" _pkgs "${_pkgs}")
    file(WRITE "${LAMMPS_STYLE_HEADERS_DIR}/lmpinstalledpkgs.h.tmp" "${_pkgs}")
    execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${LAMMPS_STYLE_HEADERS_DIR}/lmpinstalledpkgs.h.tmp"
                    "${LAMMPS_STYLE_HEADERS_DIR}/lmpinstalledpkgs.h")
  endif()
  message(STATUS "ML-GBNET: pair_style gbnet built in (LAMMPS ${_ml_gbnet_lammps_version}, gbnet ${gbnet_VERSION} "
          "from ${gbnet_DIR})")
endfunction()

# LAMMPS's project is C++ only; the gbnet package needs OpenMP for C (its
# static library is C), and enable_language may not be called in a function
enable_language(C)

if(TARGET lammps)
  ml_gbnet_add_to_lammps()
else()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL ml_gbnet_add_to_lammps)
endif()
