#ifndef CAVIAR_REPORT_HTML_H
#define CAVIAR_REPORT_HTML_H
/* One self-contained HTML page of a sweep's output folder: the spec, the leaderboard with the swept
 * parameters, every picture scripts/plot_sweep.py left there embedded as a data: URI, and each
 * trial's details (parameters, learning curve, PBT lineage). It references nothing outside itself
 * and is well-formed XML (XHTML syntax), so any XML parser can check it. */

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Reads dir/summary.json and dir/curves.csv (and any of the plot script's PNGs in dir) and writes
 * the page atomically to out_path; *pictures gets how many pictures it embedded. */
caviar_status caviar_report_html(const char *dir, const char *out_path, int *pictures, caviar_error *err);

CAVIAR_C_END

#endif
