#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "caviar/progress_line.h"
#include "cli.h"

/* The terminal's width: the window's, else $COLUMNS, else 80. */
static int terminal_width(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char *columns = getenv("COLUMNS");
  int n = columns ? atoi(columns) : 0;
  return n > 0 ? n : 80;
}

void caviar_progress_printer_init(caviar_progress_printer *pp, bool quiet) {
  *pp = (caviar_progress_printer){.quiet = quiet, .tty = isatty(STDERR_FILENO) == 1, .open = false};
}

void caviar_print_progress(const caviar_progress *p, void *ctx) {
  caviar_progress_printer *pp = ctx;
  if (pp->quiet) return;
  char line[512];
  if (pp->tty) {
    /* One column spare: some terminals wrap on writing the last one. */
    caviar_progress_line(p, terminal_width() - 1, line, sizeof line);
    fprintf(stderr, "\r\033[K%s", line);
    pp->open = true;
  } else {
    /* A log gets a plain line per epoch boundary, all of it. */
    if (p->within_epoch) return;
    caviar_progress_line(p, (int)sizeof line - 1, line, sizeof line);
    fprintf(stderr, "%s\n", line);
  }
  fflush(stderr);
}

void caviar_progress_printer_end(caviar_progress_printer *pp) {
  if (pp->open) fputc('\n', stderr);
  pp->open = false;
}
