/* The ranks of a sweep through one interface: a NULL caviar_world is the one-process run (every
 * exchange a copy of this process's own bytes), otherwise the implementation's table (MPI:
 * world_mpi.c). Every operation is timed into comm_s. */
#include "caviar/world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/trainer.h"
#include "dist/world_internal.h"

int caviar_world_rank(const caviar_world *d) { return d ? d->rank : 0; }
int caviar_world_size(const caviar_world *d) { return d ? d->size : 1; }

caviar_status caviar_world_allgather(caviar_world *d, const void *mine, size_t bytes, void **all, size_t *counts,
                                    caviar_error *err) {
  if (!d) {
    *all = caviar_alloc(bytes ? bytes : 1, 1, "an exchange between ranks", err);
    if (!*all) return CAVIAR_ERUNTIME;
    if (bytes) memcpy(*all, mine, bytes);
    counts[0] = bytes;
    return CAVIAR_OK;
  }
  double t0 = caviar_now();
  caviar_status st = d->barrier(d, err);
  double t1 = caviar_now();
  d->wait_s += t1 - t0;
  if (st == CAVIAR_OK) st = d->allgather(d, mine, bytes, all, counts, err);
  d->comm_s += caviar_now() - t1;
  d->exchanges++;
  return st;
}

caviar_status caviar_world_broadcast(caviar_world *d, void *buf, size_t bytes, caviar_error *err) {
  if (!d) return CAVIAR_OK;
  double t0 = caviar_now();
  caviar_status st = d->broadcast(d, buf, bytes, err);
  d->comm_s += caviar_now() - t0;
  return st;
}

caviar_status caviar_world_send(caviar_world *d, int to, const void *buf, size_t bytes, caviar_error *err) {
  if (!d) return caviar_fail(err, CAVIAR_ERUNTIME, "internal error: a message to rank %d in a one-process run", to);
  double t0 = caviar_now();
  caviar_status st = d->send(d, to, buf, bytes, err);
  d->comm_s += caviar_now() - t0;
  return st;
}

caviar_status caviar_world_recv(caviar_world *d, int from, void *buf, size_t bytes, caviar_error *err) {
  if (!d) return caviar_fail(err, CAVIAR_ERUNTIME, "internal error: a message from rank %d in a one-process run", from);
  double t0 = caviar_now();
  caviar_status st = d->recv(d, from, buf, bytes, err);
  d->comm_s += caviar_now() - t0;
  return st;
}

int caviar_launcher_rank(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return atoi(getenv(vars[i]));
  return 0;
}

bool caviar_world_launched(void) {
  const char *forced = getenv("CAVIAR_MPI");
  if (forced && strcmp(forced, "0") == 0) return false;
  if (forced && strcmp(forced, "1") == 0) return true;
  /* Open MPI's mpirun, PMIx launchers (srun --mpi=pmix, prterun) and PMI-1/2 launchers. */
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return true;
  return false;
}

caviar_status caviar_world_open(caviar_world **out, caviar_error *err) {
  *out = NULL;
  if (!caviar_world_launched()) return CAVIAR_OK;
#ifdef CAVIAR_HAVE_MPI
  return caviar_world_mpi_open(out, err);
#else
  /* Several copies of a build without MPI would each run the whole sweep and overwrite each
   * other's results: refused, unless the launcher started just one. */
  const char *size = getenv("OMPI_COMM_WORLD_SIZE");
  if (!size) size = getenv("PMI_SIZE");
  if (size && atoi(size) > 1)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "started as one of %s ranks, but this caviar was built without MPI (install libopenmpi-dev "
                       "and rebuild with -DCAVIAR_MPI=ON)",
                       size);
  return CAVIAR_OK;
#endif
}

void caviar_world_close(caviar_world *d) {
  if (d) d->close(d);
}

void caviar_world_fail(caviar_world *d, int status, const char *message) {
  if (!d) {
    fprintf(stderr, "caviar: %s\n", message);
    exit(status);
  }
  /* An error every rank meets (a bad spec, a missing file on a shared disk) is printed once: rank 0
   * prints and aborts at once, which ends the others while they wait here; an error of this rank
   * alone is printed a moment later. */
  if (d->rank > 0) {
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "caviar: rank %d of %d on %s: %s\n", d->rank, d->size, d->host, message);
  fflush(stderr);
  d->abort(d, status ? status : 1);
}
