#ifndef CAVIAR_WORLD_H
#define CAVIAR_WORLD_H
/* Ranks of a sweep: the processes that share one population, each training its part on its own
 * device. The trainer calls these functions whether or not the sweep is distributed: a NULL
 * caviar_world is the one-process run (rank 0 of 1), where every exchange is a copy and nothing is
 * sent. With MPI (builds with CAVIAR_HAVE_MPI, started by mpirun or srun) host/dist/world_mpi.c
 * implements them with MPI collectives and point-to-point messages. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_world caviar_world;

struct caviar_world {
  int rank, size;
  int local_rank;      /* among the ranks on this host (which GPU it takes) */
  char host[256];      /* this rank's host name */
  char device[160];    /* what this rank trains on, for summary.json */
  double comm_s;       /* seconds spent in exchanges and messages so far (not waiting: below) */
  double wait_s;       /* seconds spent waiting for the other ranks to reach an exchange */
  long long exchanges; /* collective exchanges so far */
  void *impl;
  /* Every rank's bytes, concatenated in rank order (malloc'd into *all); counts[r] gets rank r's
   * byte count (counts has size entries). */
  caviar_status (*allgather)(caviar_world *d, const void *mine, size_t bytes, void **all, size_t *counts,
                             caviar_error *err);
  /* Returns once every rank has called it. */
  caviar_status (*barrier)(caviar_world *d, caviar_error *err);
  /* Rank 0's bytes to every rank. */
  caviar_status (*broadcast)(caviar_world *d, void *buf, size_t bytes, caviar_error *err);
  caviar_status (*send)(caviar_world *d, int to, const void *buf, size_t bytes, caviar_error *err);
  caviar_status (*recv)(caviar_world *d, int from, void *buf, size_t bytes, caviar_error *err);
  /* Ends every rank of the job at once with this exit status (never returns). */
  void (*abort)(caviar_world *d, int status);
  void (*close)(caviar_world *d);
};

/* Rank and size; a NULL d is rank 0 of 1. */
int caviar_world_rank(const caviar_world *d);
int caviar_world_size(const caviar_world *d);

/* The operations above, timed into comm_s; with a NULL d: the one-process run. An allgather
 * first waits for every rank (timed into wait_s), so comm_s is the exchange itself. */
caviar_status caviar_world_allgather(caviar_world *d, const void *mine, size_t bytes, void **all, size_t *counts,
                                    caviar_error *err);
caviar_status caviar_world_broadcast(caviar_world *d, void *buf, size_t bytes, caviar_error *err);
caviar_status caviar_world_send(caviar_world *d, int to, const void *buf, size_t bytes, caviar_error *err);
caviar_status caviar_world_recv(caviar_world *d, int from, void *buf, size_t bytes, caviar_error *err);

/* Whether this process was started as one rank of several by a launcher (mpirun, srun): the
 * launcher's environment says so, or CAVIAR_MPI=1 forces it (CAVIAR_MPI=0 turns it off). */
bool caviar_world_launched(void);

/* This process's rank as its launcher's environment says, before MPI starts (0 when alone). */
int caviar_launcher_rank(void);
/* Joins the job's ranks (MPI_Init); *out stays NULL where the process runs alone: not launched as
 * a rank, or a build without MPI. An error where MPI is wanted but cannot start. */
caviar_status caviar_world_open(caviar_world **out, caviar_error *err);
/* Leaves the job (MPI_Finalize) and frees d; NULL is fine. */
void caviar_world_close(caviar_world *d);
/* Prints "caviar: rank R of K on HOST: message" and ends every rank of the job with status
 * (MPI_Abort), so a failing rank never leaves the others waiting. */
void caviar_world_fail(caviar_world *d, int status, const char *message);

CAVIAR_C_END

#endif
