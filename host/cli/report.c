/* caviar report DIR [-o FILE]: one self-contained HTML page of a sweep's output folder. */
#include <getopt.h>
#include <stdio.h>

#include "caviar/report_html.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar report DIR [-o FILE]\n"
    "\n"
    "Write one self-contained HTML page of the sweep in DIR (caviar sweep -o DIR): its facts, charts\n"
    "(learning curves, optimization history, the metric against each swept parameter on the scale it\n"
    "was sampled on, parallel coordinates, coarse-to-fine boxes, PBT lineage), the leaderboard, the\n"
    "leading trials' details and the spec. Every sweep writes DIR/report.html by itself as it runs;\n"
    "this redraws it, for folders of older sweeps. The page loads nothing from anywhere and needs no\n"
    "script: mail it, archive it, open it offline.\n"
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
  if (!out) {
    snprintf(path, sizeof path, "%s/report.html", dir);
    out = path;
  }
  caviar_error err;
  caviar_page_info info = {0};
  caviar_status st = caviar_report_html(dir, out, NULL, &info, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  fprintf(stderr, "caviar: wrote %s (%d chart(s))\n", out, info.charts);
  printf("%s\n", out);
  return 0;
}
