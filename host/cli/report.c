/* caviar report DIR [-o FILE]: one self-contained HTML page of a sweep's output folder. */
#include <getopt.h>
#include <stdio.h>

#include "caviar/report_html.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar report DIR [-o FILE]\n"
    "\n"
    "Write one self-contained HTML page of the sweep in DIR (caviar sweep -o DIR): its facts, the\n"
    "leaderboard with every swept parameter, the pictures scripts/plot_sweep.py DIR drew (embedded;\n"
    "run it first), each trial's parameters, learning curve and PBT lineage, and the spec. The page\n"
    "loads nothing from anywhere: mail it, archive it, open it offline.\n"
    "\n"
    "  -o, --out FILE   where to write it (default DIR/report.html)\n"
    "  -h, --help       this text\n";

int caviar_cmd_report(int argc, char **argv) {
  static const struct option options[] = {
      {"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *out = NULL;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'h': fputs(usage, stdout); return 0;
      default: return caviar_option_error("report", "o:h", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind != 1) return caviar_usage_error("report", "expected one DIR, got %d", argc - optind);
  const char *dir = argv[optind];
  char path[4200];
  int rc = out ? caviar_out_path_option("report", "-o", out, false) : caviar_out_path_option("report", "DIR", dir, true);
  if (rc) return rc;
  if (!out) {
    snprintf(path, sizeof path, "%s/report.html", dir);
    out = path;
  }
  caviar_error err;
  int pictures = 0;
  caviar_status st = caviar_report_html(dir, out, &pictures, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  fprintf(stderr, "caviar: wrote %s (%d picture(s) embedded%s)\n", out, pictures,
          pictures ? "" : "; run scripts/plot_sweep.py DIR first for them");
  printf("%s\n", out);
  return 0;
}
