/* --device: which backend a command trains on. */
#include <string.h>

#include "caviar/cpu_ceiling.h"
#include "cli.h"

caviar_status caviar_open_backend(const char *device, caviar_backend **out, const char **description,
                                  caviar_error *err) {
  if (strcmp(device, "cuda") == 0) {
    if (!caviar_has_cuda())
      return caviar_fail(err, CAVIAR_EINPUT,
                         "--device cuda: this build has no CUDA backend (build with -DCAVIAR_CUDA=ON where nvcc is "
                         "installed)");
    return caviar_fail(err, CAVIAR_EINPUT, "--device cuda: the CUDA trainer is not part of this version yet; use --device cpu");
  }
  if (strcmp(device, "cpu") != 0 && strcmp(device, "auto") != 0)
    return caviar_fail(err, CAVIAR_EINPUT, "--device: expected auto, cpu or cuda, got '%s'", device);
  *description = caviar_cpu_description();
  return caviar_backend_cpu(out, err);
}
