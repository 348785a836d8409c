#ifndef CAVIAR_IO_SVG_PLOT_H
#define CAVIAR_IO_SVG_PLOT_H
/* The report's charts as inline SVG: axes on the scale a parameter was sampled on, with readable
 * tick labels that never overlap, and text escaped for XML. Internal to host/io (report_html.c);
 * the tests include it white-box. */

#include <stdbool.h>
#include <stdio.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum svg_scale {
  SVG_LINEAR,
  SVG_INTEGER,   /* linear, ticks on whole numbers only (epochs, trial ids) */
  SVG_LOG,       /* log10 */
  SVG_ONE_MINUS, /* log10 of 1 - x, increasing with x (betas near 1) */
  SVG_CATEGORY   /* n columns, one per named value */
} svg_scale;

typedef struct svg_axis {
  svg_scale scale;
  double lo, hi;          /* the data range (category: unused) */
  int n_categories;
  const char *const *categories;
  double px0, px1;        /* pixels of lo and hi (y axes: px0 is the bottom) */
  bool vertical;
} svg_axis;

#define SVG_MAX_TICKS 32
typedef struct svg_ticks {
  int n;
  double at[SVG_MAX_TICKS];        /* values */
  char label[SVG_MAX_TICKS][24];
} svg_ticks;

/* Exactly printf's "%.<digits>f" of x (digits 0 or 1: the charts' coordinates), without printf
 * for |x| < 1e14, where printf's rounding of the exact binary value (half to even) is worked out
 * from x * 10 and its error; buf holds at least SVG_FIXED_ROOM bytes (the longest text, 1.8e308's
 * 309 digits and more). Returns the length. A 100,000-trial page prints millions of coordinates. */
#define SVG_FIXED_ROOM 320
int svg_fixed(char *buf, double x, int digits);
/* The same into f. */
void svg_put_fixed(FILE *f, double x, int digits);

/* A number as a tick label: 3e-4, 0.001, 0.25, 12, 1.5e+6. */
void svg_number(double x, char *buf, size_t size);
/* The estimated width in pixels of a label in the charts' 11 px font. */
double svg_text_width(const char *text);
/* Widens lo..hi a little (and to a valid range for log scales) before pixels are set. */
void svg_axis_pad(svg_axis *a, double fraction);
/* Pixel of value x on the axis. */
double svg_px(const svg_axis *a, double x);
/* Ticks inside the axis's range whose labels do not overlap (horizontal: by their widths plus a
 * gap; vertical: by the font's height plus a gap), as many as fit up to a readable density. */
void svg_axis_ticks(const svg_axis *a, svg_ticks *out);

/* Text escaped for XML (&, <, >, " and '), control characters dropped. */
void svg_escape(FILE *f, const char *s);

CAVIAR_C_END

#endif
