#ifndef CAVIAR_REPORT_HTML_H
#define CAVIAR_REPORT_HTML_H
/* One self-contained HTML page of a sweep: its facts, charts drawn here as inline SVG (learning
 * curves, optimization history, the metric against each swept parameter on the scale it was
 * sampled on, parallel coordinates, coarse-to-fine boxes, PBT lineage), the leaderboard, each
 * leading trial's details and the spec. It references nothing outside itself, needs no script
 * and is well-formed XML (XHTML syntax), so any XML parser can check it.
 *
 * The page is a function of two things a sweep (or anything else with trials) provides: the
 * summary (summary.json's object: "trials" with id, status, epochs, params and the metric; the
 * optional "spec", "rungs", "brackets", "rounds", "data") and the learning curves (curves.csv's
 * text: trial,epoch,train_loss,val_loss,val_acc). */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_page_live {
  bool running;      /* still running: the page reloads itself every reload_s seconds */
  int reload_s;
  const char *state; /* a word or two for the note ("running", "finished", "stopped"); NULL: none */
} caviar_page_live;

/* How many charts the page drew, for messages and tests. */
typedef struct caviar_page_info {
  int charts;
} caviar_page_info;

/* The leaderboard's rows the page lists. Of a trial ranked below them it reads "trial", "round",
 * "bracket", "params", "status", "epochs", "rank", "value" and "lineage" only, so a sweep's own
 * tree (caviar_report_write_tree) holds just those for such a trial. */
#define CAVIAR_PAGE_ROWS 1000
/* curves.csv's text longer than caviar_page_piece_bytes is read in pieces side by side (tests make
 * it small). */
#define CAVIAR_PAGE_PIECE_BYTES ((size_t)1 << 22)
extern size_t caviar_page_piece_bytes;

/* Writes the page to f. kind names what it shows ("sweep", "train"). */
void caviar_report_page(FILE *f, const char *kind, const cJSON *summary, const char *curves,
                        const caviar_page_live *live, caviar_page_info *info);

/* Reads dir/summary.json and dir/curves.csv and writes the page atomically to out_path (live: NULL
 * for a folder looked at afterwards). */
caviar_status caviar_report_html(const char *dir, const char *out_path, const caviar_page_live *live,
                                 caviar_page_info *info, caviar_error *err);

/* caviar_report_html with summary.json's tree at hand (caviar_report_write_tree's): only
 * dir/curves.csv is read. */
caviar_status caviar_report_html_of(const char *dir, const cJSON *summary, const char *out_path,
                                    const caviar_page_live *live, caviar_page_info *info, caviar_error *err);

/* The page of summary and curves written atomically to out_path. */
caviar_status caviar_report_page_write(const char *out_path, const char *kind, const cJSON *summary,
                                       const char *curves, const caviar_page_live *live, caviar_page_info *info,
                                       caviar_error *err);

CAVIAR_C_END

#endif
