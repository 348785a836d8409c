#ifndef CAVIAR_WORLD_INTERNAL_H
#define CAVIAR_WORLD_INTERNAL_H
/* The MPI implementation's entry point (world_mpi.c, only in builds with CAVIAR_HAVE_MPI). */

#include "caviar/world.h"

CAVIAR_C_BEGIN

caviar_status caviar_world_mpi_open(caviar_world **out, caviar_error *err);

CAVIAR_C_END

#endif
