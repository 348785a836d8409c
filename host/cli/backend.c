/* --device: which backend a command trains on. */
#include <stdio.h>
#include <string.h>

#include "caviar/cpu_ceiling.h"
#include "caviar/cpu_room.h"
#include "cli.h"
#ifdef CAVIAR_HAVE_CUDA
#include "caviar/cuda_device.h"
#endif

static bool gpu_present(void) {
#ifdef CAVIAR_HAVE_CUDA
  char devices[1024];
  return caviar_cuda_devices(devices, sizeof devices) > 0;
#else
  return false;
#endif
}

int caviar_local_gpu(int local_rank) {
#ifdef CAVIAR_HAVE_CUDA
  char devices[1024];
  int n = caviar_cuda_devices(devices, sizeof devices);
  return n > 0 ? local_rank % n : 0;
#else
  (void)local_rank;
  return 0;
#endif
}

caviar_status caviar_open_backend(const char *device, bool tf32, caviar_backend **out, const char **description,
                                  caviar_error *err) {
  caviar_backend_options options = {.tf32 = tf32};
  return caviar_open_backend_with(device, &options, out, description, err);
}

caviar_status caviar_open_backend_with(const char *device, const caviar_backend_options *options,
                                       caviar_backend **out, const char **description, caviar_error *err) {
  bool cuda = strcmp(device, "cuda") == 0;
  if (!cuda && strcmp(device, "cpu") != 0 && strcmp(device, "auto") != 0)
    return caviar_fail(err, CAVIAR_EINPUT, "--device: expected auto, cpu or cuda, got '%s'", device);
  if (strcmp(device, "auto") == 0) cuda = gpu_present();
  if (cuda) {
#ifdef CAVIAR_HAVE_CUDA
    caviar_status st = caviar_backend_cuda(options, out, err);
    if (st == CAVIAR_OK) *description = (*out)->name;
    return st;
#else
    return caviar_fail(err, CAVIAR_EINPUT,
                       "--device cuda: this build has no CUDA backend (build with -DCAVIAR_CUDA=ON where nvcc is "
                       "installed)");
#endif
  }
  if (options->tf32) return caviar_fail(err, CAVIAR_EINPUT, "--tf32: only the CUDA backend has tensor cores to allow");
  if (options->eager) return caviar_fail(err, CAVIAR_EINPUT, "--eager: only the CUDA backend captures step graphs");
  if (options->chunks > 1) return caviar_fail(err, CAVIAR_EINPUT, "--chunks: only the CUDA backend splits its steps");
  caviar_status st = caviar_open_cpu_backend(out, err);
  if (st == CAVIAR_OK) *description = caviar_cpu_description();
  return st;
}

caviar_status caviar_open_cpu_backend(caviar_backend **out, caviar_error *err) {
  char note[512];
  caviar_status st = caviar_cpu_claim_blas(note, sizeof note, err);
  if (st != CAVIAR_OK) return st;
  if (note[0]) fprintf(stderr, "caviar: note: %s\n", note);
  return caviar_backend_cpu(out, err);
}
