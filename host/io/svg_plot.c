#include "svg_plot.h"

#include "caviar/json_text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Drops a fraction's trailing zeros (and a bare point). */
static void trim(char *s) {
  char *dot = strchr(s, '.');
  if (!dot) return;
  char *end = s + strlen(s);
  while (end > dot + 1 && end[-1] == '0') *--end = '\0';
  if (end == dot + 1) *dot = '\0';
}

/* x with sig significant digits: 3e-4, 0.001, 0.25, 12, 1.5e+6. */
static void number_sig(double x, int sig, char *buf, size_t size) {
  if (!isfinite(x)) {
    /* No digits to count (log10 of it is no whole number): as C writes it. */
    snprintf(buf, size, "%s", isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
    return;
  }
  if (x == 0 || fabs(x) < 1e-300) {
    snprintf(buf, size, "0");
    return;
  }
  if (sig < 1) sig = 1;
  if (sig > 12) sig = 12;
  double a = fabs(x);
  int e = (int)floor(log10(a));
  if (a < 1e-3 || a >= 1e5) {
    /* Mantissa and a short exponent. */
    double m = x / pow(10, e);
    char mant[32];
    snprintf(mant, sizeof mant, "%.*f", sig - 1, m);
    if (fabs(atof(mant)) >= 10) {
      e++;
      snprintf(mant, sizeof mant, "%.*f", sig - 1, x / pow(10, e));
    }
    trim(mant);
    snprintf(buf, size, "%.12se%s%d", mant, e < 0 ? "-" : "+", (e < 0 ? -e : e) % 1000);
    return;
  }
  int decimals = sig - 1 - e;
  snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, x);
  trim(buf);
}

void svg_number(double x, char *buf, size_t size) { number_sig(x, 4, buf, size); }

int svg_fixed(char *buf, double x, int digits) {
  double a = fabs(x), scale = digits == 1 ? 10 : 1;
  if (!(a < 1e14) || (digits != 0 && digits != 1)) return snprintf(buf, SVG_FIXED_ROOM, "%.*f", digits, x);
  /* a * scale = p + e exactly (fma); p rounded to an integer, half to even, is the rounding of the
   * exact value unless p is a half and e says which side of it the exact value lies. */
  double p = a * scale, e = fma(a, scale, -p), below = floor(p), n = nearbyint(p);
  if (p - below == 0.5 && e != 0) n = e > 0 ? below + 1 : below;
  uint64_t v = (uint64_t)n;
  char digits_rev[24];
  int len = 0, r = 0;
  if (signbit(x)) buf[len++] = '-';
  if (digits == 1) digits_rev[r++] = (char)('0' + v % 10), v /= 10;
  do digits_rev[r++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  while (r > digits) buf[len++] = digits_rev[--r];
  if (digits == 1) buf[len++] = '.', buf[len++] = digits_rev[0];
  buf[len] = '\0';
  return len;
}

void svg_put_fixed(FILE *f, double x, int digits) {
  char buf[SVG_FIXED_ROOM];
  fwrite(buf, 1, (size_t)svg_fixed(buf, x, digits), f);
}

double svg_text_width(const char *text) {
  /* The charts' font is 11 px: digits and most letters are about 6.2 px wide, narrow ones less. */
  double w = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if ((*p & 0xC0) == 0x80) continue; /* a UTF-8 continuation byte */
    w += strchr(".,:;il1|'!", *p) ? 3.5 : strchr("mwMW", *p) ? 9.5 : 6.3;
  }
  return w;
}

/* The coordinate the axis is linear in. */
static double coord(svg_scale s, double x) {
  switch (s) {
    case SVG_LOG: return log10(x);
    case SVG_ONE_MINUS: return -log10(1 - x);
    default: return x;
  }
}

static double uncoord(svg_scale s, double u) {
  switch (s) {
    case SVG_LOG: return pow(10, u);
    case SVG_ONE_MINUS: return 1 - pow(10, -u);
    default: return u;
  }
}

void svg_axis_pad(svg_axis *a, double fraction) {
  if (a->scale == SVG_CATEGORY) return;
  if ((a->scale == SVG_LOG && !(a->lo > 0)) || (a->scale == SVG_ONE_MINUS && !(a->hi < 1))) a->scale = SVG_LINEAR;
  if (!isfinite(a->lo) || !isfinite(a->hi)) a->lo = 0, a->hi = 1;
  double u0 = coord(a->scale, a->lo), u1 = coord(a->scale, a->hi);
  if (u1 - u0 <= 0) {
    double half = a->scale == SVG_LINEAR || a->scale == SVG_INTEGER ? (fabs(u0) > 0 ? fabs(u0) * 0.1 : 0.5) : 0.15;
    if (a->scale == SVG_INTEGER) half = 1;
    u0 -= half;
    u1 += half;
  } else {
    double pad = (u1 - u0) * fraction;
    u0 -= pad;
    u1 += pad;
  }
  a->lo = uncoord(a->scale, u0);
  a->hi = uncoord(a->scale, u1);
}

double svg_px(const svg_axis *a, double x) {
  if (a->scale == SVG_CATEGORY) {
    int n = a->n_categories > 0 ? a->n_categories : 1;
    return a->px0 + (x + 0.5) / n * (a->px1 - a->px0);
  }
  double u0 = coord(a->scale, a->lo), u1 = coord(a->scale, a->hi), u = coord(a->scale, x);
  if (!(u1 > u0)) return (a->px0 + a->px1) / 2;
  return a->px0 + (u - u0) / (u1 - u0) * (a->px1 - a->px0);
}

/* Whether the candidate ticks' labels stand apart. */
static bool fits(const svg_axis *a, const svg_ticks *t) {
  const double gap = a->vertical ? 24 : 14, min_step = a->vertical ? 24 : 36;
  for (int i = 1; i < t->n; i++) {
    double d = fabs(svg_px(a, t->at[i]) - svg_px(a, t->at[i - 1]));
    double need = a->vertical ? gap : (svg_text_width(t->label[i]) + svg_text_width(t->label[i - 1])) / 2 + gap;
    if (d < need || d < min_step) return false;
  }
  return true;
}

static void add_tick(svg_ticks *t, double x, const char *label) {
  if (t->n >= SVG_MAX_TICKS) return;
  t->at[t->n] = x;
  snprintf(t->label[t->n], sizeof t->label[0], "%s", label);
  t->n++;
}

/* Multiples of step inside [lo, hi]. */
static void linear_ticks(double lo, double hi, double step, svg_ticks *t) {
  t->n = 0;
  double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
  if (k1 - k0 + 1 > SVG_MAX_TICKS) return;
  for (double k = k0; k <= k1; k++) {
    double x = k * step;
    if (fabs(x) < step * 1e-9) x = 0;
    char label[24];
    /* As many digits as the step needs: 0.5, 1, 1.5; 602.46, 602.48. */
    int sig = x == 0 ? 1 : (int)floor(log10(fabs(x))) - (int)floor(log10(step) + 1e-9) + 1;
    number_sig(x, sig, label, sizeof label);
    add_tick(t, x, label);
  }
}

/* Linear ticks at 1, 2 or 5 times a power of ten (whole numbers only for SVG_INTEGER): the densest
 * that fit. */
static void nice_linear(const svg_axis *a, double lo, double hi, svg_ticks *out) {
  double range = hi - lo;
  out->n = 0;
  if (!(range > 0)) return;
  double base = pow(10, floor(log10(range / SVG_MAX_TICKS)));
  static const double mult[] = {1, 2, 5};
  for (int e = 0; e < 8; e++) {
    for (int m = 0; m < 3; m++) {
      double step = base * mult[m] * pow(10, e);
      if (a->scale == SVG_INTEGER && step < 1) continue;
      svg_ticks t;
      linear_ticks(lo, hi, step, &t);
      if (t.n >= 1 && t.n <= SVG_MAX_TICKS && fits(a, &t)) {
        *out = t;
        return;
      }
    }
  }
}

/* Log ticks on y (the value itself for SVG_LOG, 1 - x for SVG_ONE_MINUS): m * 10^e for m in a set,
 * or every k-th decade; the densest set that fits with at least two ticks. */
static bool log_ticks(const svg_axis *a, svg_ticks *out) {
  bool one_minus = a->scale == SVG_ONE_MINUS;
  double ylo = one_minus ? 1 - a->hi : a->lo, yhi = one_minus ? 1 - a->lo : a->hi;
  if (!(ylo > 0) || !(yhi > ylo)) return false;
  static const double sets[][6] = {{1, 2, 3, 5, 7, 0}, {1, 2, 5, 0}, {1, 3, 0}, {1, 0}};
  int e0 = (int)floor(log10(ylo)) - 1, e1 = (int)ceil(log10(yhi)) + 1;
  for (int s = 0; s < 4 + 4; s++) {
    int every = s < 4 ? 1 : (s == 4 ? 2 : s == 5 ? 3 : s == 6 ? 5 : 10);
    const double *set = sets[s < 4 ? s : 3];
    svg_ticks t = {0};
    for (int e = e0; e <= e1; e++) {
      if (every > 1 && ((e % every) + every) % every != 0) continue;
      for (int m = 0; set[m] != 0; m++) {
        double y = set[m] * pow(10, e);
        if (y < ylo * (1 - 1e-9) || y > yhi * (1 + 1e-9)) continue;
        char label[24];
        double x = one_minus ? 1 - y : y;
        if (one_minus) snprintf(label, sizeof label, "%.*f", e < 0 ? -e : 0, x);
        else svg_number(x, label, sizeof label);
        add_tick(&t, x, label);
      }
    }
    if (one_minus) /* ascending x */
      for (int i = 0; i < t.n / 2; i++) {
        double x = t.at[i];
        char l[24];
        memcpy(l, t.label[i], sizeof l);
        t.at[i] = t.at[t.n - 1 - i];
        memcpy(t.label[i], t.label[t.n - 1 - i], sizeof l);
        t.at[t.n - 1 - i] = x;
        memcpy(t.label[t.n - 1 - i], l, sizeof l);
      }
    if (t.n >= 2 && fits(a, &t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

void svg_axis_ticks(const svg_axis *a, svg_ticks *out) {
  out->n = 0;
  if (a->scale == SVG_CATEGORY) {
    /* Every k-th column whose labels stand apart. */
    for (int every = 1; every <= a->n_categories; every++) {
      svg_ticks t = {0};
      for (int i = 0; i < a->n_categories; i += every) add_tick(&t, i, a->categories[i]);
      if (fits(a, &t) || t.n <= 1) {
        *out = t;
        return;
      }
    }
    return;
  }
  if ((a->scale == SVG_LOG || a->scale == SVG_ONE_MINUS) && log_ticks(a, out)) return;
  /* A range too narrow for log ticks: linear ticks of the value, placed on the axis's own scale. */
  nice_linear(a, a->lo, a->hi, out);
}

void svg_escape(FILE *f, const char *s) {
  /* A byte that is not UTF-8 text (a path's) or an XML control character becomes U+FFFD, so the
   * page stays well-formed. */
  size_t n = s ? strlen(s) : 0;
  for (size_t i = 0; i < n;) {
    size_t k = caviar_utf8_length(s + i, n - i);
    unsigned char c = (unsigned char)s[i];
    if (!k || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
      fputs("\xef\xbf\xbd", f);
      i++;
      continue;
    }
    switch (c) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&#39;", f); break;
      default: fwrite(s + i, 1, k, f);
    }
    i += k;
  }
}
