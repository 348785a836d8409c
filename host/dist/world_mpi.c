/* caviar_world over MPI: collectives on MPI_COMM_WORLD, errors returned (MPI_ERRORS_RETURN) and
 * turned into one-line messages; a rank that fails ends the job with MPI_Abort. */
#include <limits.h>
#include <stdio.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dist/world_internal.h"

/* Messages go in pieces of at most this many bytes (MPI counts are ints). */
#define PIECE (1 << 30)

static caviar_status mpi_fail(caviar_world *d, int rc, const char *what, caviar_error *err) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", rc);
  return caviar_fail(err, CAVIAR_ERUNTIME, "rank %d of %d on %s: MPI %s failed: %s", d->rank, d->size, d->host, what,
                     text);
}

static caviar_status mpi_allgather(caviar_world *d, const void *mine, size_t bytes, void **all, size_t *counts,
                                   caviar_error *err) {
  uint64_t mine_bytes = bytes, *sizes = caviar_alloc((size_t)d->size, sizeof *sizes, "an exchange between ranks", err);
  int *count = caviar_alloc((size_t)d->size, sizeof *count, "an exchange between ranks", err);
  int *displ = caviar_alloc((size_t)d->size, sizeof *displ, "an exchange between ranks", err);
  caviar_status st = sizes && count && displ ? CAVIAR_OK : CAVIAR_ERUNTIME;
  *all = NULL;
  int rc = MPI_SUCCESS;
  if (st == CAVIAR_OK) {
    rc = MPI_Allgather(&mine_bytes, 1, MPI_UINT64_T, sizes, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) st = mpi_fail(d, rc, "Allgather", err);
  }
  uint64_t total = 0;
  for (int r = 0; st == CAVIAR_OK && r < d->size; r++) {
    if (total + sizes[r] > INT_MAX)
      st = caviar_fail(err, CAVIAR_ERUNTIME, "an exchange between ranks is over 2 GiB (%llu bytes so far)",
                       (unsigned long long)(total + sizes[r]));
    count[r] = (int)sizes[r];
    displ[r] = (int)total;
    counts[r] = (size_t)sizes[r];
    total += sizes[r];
  }
  if (st == CAVIAR_OK) {
    *all = caviar_alloc(total ? total : 1, 1, "an exchange between ranks", err);
    if (!*all) st = CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK) {
    rc = MPI_Allgatherv(mine, count[d->rank], MPI_BYTE, *all, count, displ, MPI_BYTE, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) st = mpi_fail(d, rc, "Allgatherv", err);
  }
  if (st != CAVIAR_OK) {
    free(*all);
    *all = NULL;
  }
  free(sizes);
  free(count);
  free(displ);
  return st;
}

static caviar_status mpi_barrier(caviar_world *d, caviar_error *err) {
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  return rc == MPI_SUCCESS ? CAVIAR_OK : mpi_fail(d, rc, "Barrier", err);
}

static caviar_status mpi_broadcast(caviar_world *d, void *buf, size_t bytes, caviar_error *err) {
  for (size_t done = 0; done < bytes;) {
    int piece = bytes - done > PIECE ? PIECE : (int)(bytes - done);
    int rc = MPI_Bcast((char *)buf + done, piece, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(d, rc, "Bcast", err);
    done += (size_t)piece;
  }
  return CAVIAR_OK;
}

static caviar_status mpi_send(caviar_world *d, int to, const void *buf, size_t bytes, caviar_error *err) {
  for (size_t done = 0; done < bytes;) {
    int piece = bytes - done > PIECE ? PIECE : (int)(bytes - done);
    int rc = MPI_Send((const char *)buf + done, piece, MPI_BYTE, to, 0, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(d, rc, "Send", err);
    done += (size_t)piece;
  }
  return CAVIAR_OK;
}

static caviar_status mpi_recv(caviar_world *d, int from, void *buf, size_t bytes, caviar_error *err) {
  for (size_t done = 0; done < bytes;) {
    int piece = bytes - done > PIECE ? PIECE : (int)(bytes - done);
    int rc = MPI_Recv((char *)buf + done, piece, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_fail(d, rc, "Recv", err);
    done += (size_t)piece;
  }
  return CAVIAR_OK;
}

static void mpi_abort(caviar_world *d, int status) {
  (void)d;
  MPI_Abort(MPI_COMM_WORLD, status);
  exit(status); /* MPI_Abort does not return; this is for the compiler */
}

static void mpi_close(caviar_world *d) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
  free(d);
}

caviar_status caviar_world_mpi_open(caviar_world **out, caviar_error *err) {
  int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) return caviar_fail(err, CAVIAR_ERUNTIME, "MPI_Init failed (error %d): is this an mpirun or srun job?", rc);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  caviar_world *d = calloc(1, sizeof *d);
  if (!d) {
    MPI_Abort(MPI_COMM_WORLD, 1);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory joining the MPI job");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS) snprintf(name, sizeof name, "?");
  snprintf(d->host, sizeof d->host, "%s", name);
  /* The ranks sharing this host, numbered from 0: rank-local device indices. */
  MPI_Comm local;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
    MPI_Comm_rank(local, &d->local_rank);
    MPI_Comm_free(&local);
  }
  d->allgather = mpi_allgather;
  d->barrier = mpi_barrier;
  d->broadcast = mpi_broadcast;
  d->send = mpi_send;
  d->recv = mpi_recv;
  d->abort = mpi_abort;
  d->close = mpi_close;
  *out = d;
  return CAVIAR_OK;
}
