#ifndef CAVIAR_CPU_ROOM_H
#define CAVIAR_CPU_ROOM_H
/* Room for OpenBLAS under an address-space limit (ulimit -v; issue 31). At a thread's first call
 * OpenBLAS maps a buffer of 128 MiB, and when it cannot, it retries for ever (a process at full
 * CPU that no stop request ends). So before training the CPU backend's threads take their buffers
 * while the room is known: the room is probed first, the threads are capped to the buffers that
 * fit (said in a note; a member's numbers do not depend on the thread count), and with no room for
 * one buffer the command fails with a one-line error. Without a limit this does nothing. */

#include <stddef.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* What one thread's OpenBLAS buffer takes (its BUFFER_SIZE, 128 MiB on x86-64, and a page). */
#define CAVIAR_BLAS_BUFFER_BYTES (((size_t)128 << 20) + 4096)

/* Gives OpenBLAS its buffers on every OpenMP thread that will call it, capping the threads to what
 * the address-space limit leaves room for; note (size bytes) says so when it caps. */
caviar_status caviar_cpu_claim_blas(char *note, size_t size, caviar_error *err);

CAVIAR_C_END

#endif
