/* Numbers as text: caviar's printf-free path for the figures of a sweep (doubles that hold floats)
 * against printf itself, the independent reference. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/number_format.h"

/* Floats of every kind: random bit patterns, quotients of small integers (a validation split's
 * accuracies), powers of two and their neighbours, and values that round up to a new digit. */
static float float_case(uint64_t *s, long i) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  uint32_t bits = (uint32_t)*s;
  float f;
  memcpy(&f, &bits, sizeof f);
  switch (i % 5) {
  case 1: return (float)((*s >> 32) % 100000) / (float)(1 + (*s >> 50) % 1000);
  case 2: return ldexpf(1.0f, (int)((*s >> 40) % 90) - 64);
  case 3: return nextafterf(ldexpf(1.0f, (int)((*s >> 40) % 90) - 64), (*s >> 20) & 1 ? INFINITY : 0);
  case 4: return (float)(9.99999999 * pow(10, (int)((*s >> 40) % 20) - 10));
  default: return f;
  }
}

Test(number_format, a_floats_text_is_printfs_for_every_count_of_digits) {
  uint64_t s = 88172645463325252ull;
  char mine[64], ref[64];
  long n = 0;
  for (long i = 0; i < 150000; i++) {
    double x = float_case(&s, i);
    if (!isfinite(x)) continue;
    if (i % 2) x = -x;
    for (int d = 1; d <= 17; d++) {
      int len = caviar_float_g_text(mine, sizeof mine, x, d);
      snprintf(ref, sizeof ref, "%.*g", d, x);
      cr_assert_str_eq(mine, ref, "%.9g at %d digits", x, d);
      cr_assert_eq(len, (int)strlen(ref));
      n++;
    }
  }
  cr_expect_gt(n, 2000000);
  /* Doubles that are not floats go to printf: the same text. */
  caviar_float_g_text(mine, sizeof mine, 0.1, 17);
  cr_expect_str_eq(mine, "0.10000000000000001");
}

/* The reference: 16 digits when they read back exactly, else 17 (integers as such). */
static void round_trip_reference(char *buf, size_t size, double x) {
  if (x == floor(x) && fabs(x) < 1e15) {
    snprintf(buf, size, "%.0f", x);
    return;
  }
  snprintf(buf, size, "%.16g", x);
  if (strtod(buf, NULL) != x) snprintf(buf, size, "%.17g", x);
}

Test(number_format, a_figure_is_written_in_16_digits_when_they_read_back_else_17) {
  uint64_t s = 2463534242ull;
  char mine[64], ref[64];
  int sixteen = 0, seventeen = 0;
  for (long i = 0; i < 400000; i++) {
    double x = float_case(&s, i);
    if (!isfinite(x)) continue;
    caviar_format_number(mine, sizeof mine, x);
    round_trip_reference(ref, sizeof ref, x);
    cr_assert_str_eq(mine, ref, "%.9g", x);
    cr_assert_eq(strtod(mine, NULL), x, "%s does not read back", mine);
    int digits = 0;
    for (const char *c = mine; *c && *c != 'e'; c++) digits += *c >= '0' && *c <= '9';
    sixteen += digits == 16;
    seventeen += digits == 17;
  }
  /* Both ways were taken (a float's 16 digits read back now and then, not always). */
  cr_expect_gt(sixteen, 1000);
  cr_expect_gt(seventeen, 1000);
}

Test(number_format, a_doubles_16_or_17_digits_are_printfs_for_every_kind_of_double) {
  /* Doubles that are not floats (a sweep's 10^r and 1 - 10^r) take a long double path where it is
   * safe: the same text as printf's, on log-uniform values of both signs across and beyond its
   * range, the hyperparameters' shapes, decimals written by hand and their neighbours an ulp away
   * (near printf's rounding ties), powers of ten with theirs, and powers of two with theirs. */
  uint64_t s = 88172645463325252ull;
  char mine[64], ref[64];
  long n = 0;
  for (long i = 0; i < 1500000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double u = (double)(s >> 11) / 9007199254740992.0, x;
    switch (i % 7) {
      case 0: x = pow(10, -14 + 31 * u); break;
      case 1: x = -pow(10, -6 + 12 * u); break;
      case 2: x = 1 - pow(10, -4 * u); break;
      case 3: x = (double)(s % 100000000) / pow(10, (double)(s % 13)); break;
      case 4: x = nextafter((double)(s % 100000) / pow(10, (double)(s % 9)), s & 1 ? INFINITY : -INFINITY); break;
      case 5: x = nextafter(pow(10, (double)((int)(s % 30) - 14)), s & 1 ? INFINITY : -INFINITY); break;
      default: { /* a power of two (its lower neighbour is half as far as its upper) or a neighbour */
        x = ldexp(1.0, (int)(s % 100) - 45);
        if (s & 2) x = nextafter(x, s & 4 ? INFINITY : -INFINITY);
        break;
      }
    }
    if (!isfinite(x) || x == 0) continue;
    caviar_format_number(mine, sizeof mine, x);
    round_trip_reference(ref, sizeof ref, x);
    cr_assert_str_eq(mine, ref, "%.17g", x);
    n++;
  }
  cr_expect_gt(n, 1400000);
}

/* caviar_decimal_value against strtod: the same value (bit for bit, signed zeros and NaNs by
 * their class) and the same end. */
static void expect_read_as_strtod(const char *text) {
  char *mine_end, *their_end;
  double mine = caviar_decimal_value(text, &mine_end), theirs = strtod(text, &their_end);
  bool same = isnan(theirs) ? isnan(mine) : memcmp(&mine, &theirs, sizeof mine) == 0;
  cr_assert(same && mine_end == their_end, "\"%s\": %.17g (end +%d), strtod %.17g (end +%d)", text, mine,
            (int)(mine_end - text), theirs, (int)(their_end - text));
}

Test(number_format, a_decimal_reads_as_strtod_reads_it) {
  /* caviar's own texts (%.9g of floats, 16/17-digit doubles), then every shape a hand-edited file
   * may hold: signs, bare points, exponents of every size, too many digits, nan, inf, hex, junk. */
  static const char *const texts[] = {"0", "-0", "0.0", "-0.0", "1", "-1", "1.", ".5", "-.5", ".", "-", "+1", " 1", "1e5",
                                      "1e-5", "1E+05", "1e", "1e+", "1e-", "1e400", "1e-400", "1e22", "1e23", "1e-22",
                                      "1e-23", "9007199254740993", "9007199254740992", "12345678901234567890",
                                      "0.00000000000000000000001", "123456789012345678", "1.2.3", "1x", "nan", "-nan",
                                      "inf", "-inf", "infinity", "0x1p3", "1e0001", "4.9406564584124654e-324",
                                      "1.7976931348623157e308", "2.2250738585072014e-308", "0.1,", "3.5\n", ""};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) expect_read_as_strtod(texts[i]);
  uint64_t s = 7;
  char text[64];
  for (long i = 0; i < 1000000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double u = (double)(s >> 11) / 9007199254740992.0;
    switch (i % 4) {
      case 0: caviar_float_g_text(text, sizeof text, (float)(pow(10, -8 + 16 * u) * (s & 1 ? 1 : -1)), 9); break;
      case 1: caviar_format_number(text, sizeof text, pow(10, -12 + 24 * u)); break;
      case 2: snprintf(text, sizeof text, "%.*f", (int)(s % 12), (u - 0.5) * pow(10, (double)(s % 9))); break;
      default: snprintf(text, sizeof text, "%llu.%llue%d", (unsigned long long)(s % 100000), (unsigned long long)(s >> 40),
                        (int)(s % 61) - 30); break;
    }
    expect_read_as_strtod(text);
  }
}

Test(number_format, integers_are_written_as_printf_writes_them) {
  const long long edges[] = {0, 1, -1, 9, 10, -10, 99, 100, 2147483647LL, -2147483648LL, 4294967295LL, 4294967296LL,
                             LLONG_MAX, LLONG_MIN, LLONG_MIN + 1, 1000000000000000000LL};
  char mine[32], theirs[32];
  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
    int n = caviar_int_text(mine, edges[i]);
    snprintf(theirs, sizeof theirs, "%lld", edges[i]);
    cr_expect_str_eq(mine, theirs);
    cr_expect_eq(n, (int)strlen(theirs));
  }
  uint64_t state = 12345;
  for (int i = 0; i < 1000000; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    long long v = (long long)(state >> (state % 64));
    if (state & 1) v = -v;
    caviar_int_text(mine, v);
    snprintf(theirs, sizeof theirs, "%lld", v);
    if (strcmp(mine, theirs) != 0) {
      cr_expect_str_eq(mine, theirs, "%lld", v);
      break;
    }
  }
}
