# Decides whether this build runs sweeps across MPI ranks (CAVIAR_WITH_MPI) from the CAVIAR_MPI
# option. OFF never looks for MPI; the build without it runs every sweep in one process.
set(CAVIAR_WITH_MPI OFF)
if(CAVIAR_MPI STREQUAL "OFF")
  message(STATUS "caviar: MPI disabled (CAVIAR_MPI=OFF)")
elseif(CAVIAR_MPI STREQUAL "AUTO" OR CAVIAR_MPI STREQUAL "ON")
  if(CAVIAR_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS C)
  else()
    find_package(MPI QUIET COMPONENTS C)
  endif()
  if(MPI_C_FOUND)
    set(CAVIAR_WITH_MPI ON)
    find_program(CAVIAR_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
    # FindMPI names the library only when asked to compile a probe; the standard's version and the
    # launcher found say enough.
    message(STATUS "caviar: MPI enabled (MPI ${MPI_C_VERSION}, ${MPI_C_LIB_NAMES}; launcher ${CAVIAR_MPIEXEC})")
  else()
    message(STATUS "caviar: no MPI found, sweeps run in one process (Debian: libopenmpi-dev openmpi-bin)")
  endif()
else()
  message(FATAL_ERROR "caviar: CAVIAR_MPI must be AUTO, ON or OFF, got '${CAVIAR_MPI}'")
endif()
