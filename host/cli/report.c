/* caviar report DIR [-o FILE]: one self-contained HTML page of a sweep's or a study's folder;
 * caviar report DIR ID --epoch E --METRIC X: a study trial's values (cli/study.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caviar/report_html.h"
#include "caviar/study.h"
#include "cli.h"

const char caviar_report_usage[] =
    "usage: caviar report DIR [-o FILE]\n"
    "       caviar report DIR ID --epoch E --METRIC X [--METRIC X ...] [--attempt K]\n"
    "\n"
    "caviar report DIR writes one self-contained HTML page of the sweep in DIR (caviar sweep -o DIR)\n"
    "or of the study in DIR (caviar study init; its summary.json and curves.csv are written first):\n"
    "its facts, charts (learning curves, optimization history, the metric against each swept\n"
    "parameter on the scale it was sampled on, parallel coordinates, coarse-to-fine boxes, PBT\n"
    "lineage), the leaderboard, the leading trials' details and the spec. Every sweep writes\n"
    "DIR/report.html by itself as it runs; this redraws it, for folders of older sweeps or for a\n"
    "study. The page loads nothing from anywhere and needs no script: mail it, archive it, open it\n"
    "offline.\n"
    "\n"
    "  -o, --out FILE   where to write it (default DIR/report.html)\n"
    "  -h, --help       this text\n"
    "\n"
    "caviar report DIR ID ... (a trial ID after DIR: DIR must be a study) records trial ID's values\n"
    "after epoch E (--val_acc 0.91 --val_loss 0.25 ...: any names, the spec's metric required) and\n"
    "asks the study's schedule (successive halving, hyperband) whether the trial goes on: it prints\n"
    "go and exits 0, or prints stop and exits 3 (culled at a rung, culled before, or its attempt\n"
    "handed out again after a timeout). An unknown trial, one told already, a value that is not\n"
    "finite, the metric missing or an epoch out of order exit 2 and record nothing.\n"
    "\n"
    "      --epoch E      epochs trained so far (1 .. the trial's budget, after its last report)\n"
    "      --attempt K    the attempt caviar ask printed (default: whichever holds the trial)\n"
    "      --NAME X       a metric's value\n";

/* Whether the arguments are DIR ID ...: a study trial's values. */
static bool values_form(int argc, char **argv) {
  if (argc < 3 || argv[1][0] == '-' || !argv[2][0]) return false;
  return strspn(argv[2], "0123456789") == strlen(argv[2]);
}

int caviar_cmd_report(int argc, char **argv) {
  if (values_form(argc, argv)) return caviar_study_report_cmd(argc, argv);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--epoch") || !strncmp(argv[i], "--epoch=", 8))
      return caviar_usage_error("report", "values go with a trial: caviar report DIR ID --epoch E --METRIC X");
  static const struct option options[] = {
      {"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *out = NULL;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'h': fputs(caviar_report_usage, stdout); return 0;
      default: return caviar_option_error("report", "o:h", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind != 1) return caviar_usage_error("report", "expected one DIR, got %d", argc - optind);
  const char *dir = argv[optind];
  char path[4200];
  int rc = out ? caviar_out_path_option("report", "-o", out, false) : caviar_out_path_option("report", "DIR", dir, true);
  if (rc) return rc;
  snprintf(path, sizeof path, "%s/" CAVIAR_STUDY_FILE, dir);
  if (access(path, F_OK) == 0) {
    /* A study: its results so far first, then the page of them. */
    rc = caviar_study_results_cmd(dir);
    if (rc) return rc;
  }
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
