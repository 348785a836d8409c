/* caviar info: which backends this build has and which devices it sees. */
#include <stdio.h>
#include <string.h>

#include "caviar/cpu_ceiling.h"
#include "cli.h"
#ifdef CAVIAR_HAVE_CUDA
#include "caviar/cuda_device.h"
#endif

bool caviar_has_cuda(void) {
#ifdef CAVIAR_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

void caviar_describe_devices(char *buf, size_t size) {
#ifdef CAVIAR_HAVE_CUDA
  caviar_cuda_devices(buf, size);
#else
  snprintf(buf, size, "CUDA backend not built (CAVIAR_CUDA=OFF or no nvcc at build time)");
#endif
}

int caviar_cmd_info(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs("usage: caviar info\n\nPrint this build's version, backends, the devices it sees and the BLAS (library, version,\nkernel) each backend's GEMMs run on.\n\n  -h, --help   this text\n",
          stdout);
    return 0;
  }
  if (argc > 1) return caviar_usage_error("info", "takes no arguments, got '%s'", argv[1]);
  char devices[2048];
  caviar_describe_devices(devices, sizeof devices);
  printf("caviar %s\nbackends: cpu%s\ndevices: cpu; %s\n", CAVIAR_VERSION, caviar_has_cuda() ? ", cuda" : "", devices);
  caviar_blas_info blas;
  char text[256];
  caviar_cpu_blas(&blas);
  caviar_blas_text(&blas, text, sizeof text);
  printf("blas (cpu): %s; --blas-kernel NAME or OPENBLAS_CORETYPE=NAME pins it\n", text);
#ifdef CAVIAR_HAVE_CUDA
  caviar_cuda_blas(&blas);
  caviar_blas_text(&blas, text, sizeof text);
  printf("blas (cuda): %s\n", text);
#endif
  return 0;
}
