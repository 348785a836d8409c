#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/number_format.h"

/* A double that holds a float (a sweep's losses and accuracies are floats) is |x| = m 2^-k, the
 * integer d = m 5^k over 10^k: for 0 <= k <= 40 its exact decimal digits fit 128-bit integers, and
 * printf's text follows from them without printf. */
typedef struct float_digits {
  char all[48]; /* d's digits, most significant first */
  int len, k;
  uint64_t m;
  bool negative;
} float_digits;

static uint64_t five_to(int k) { /* k <= 27 */
  uint64_t p = 1;
  while (k--) p *= 5;
  return p;
}

static unsigned __int128 five_to_k(int k) { /* k <= 40 */
  return (unsigned __int128)(k > 27 ? five_to(k - 27) : 1) * five_to(k > 27 ? 27 : k);
}

static bool float_digits_of(double x, float_digits *fd) {
  if (!(x != 0 && isfinite(x) && (double)(float)x == x)) return false;
  int e2;
  uint64_t m = (uint64_t)ldexp(frexp(fabs(x), &e2), 24); /* |x| = m 2^(e2 - 24) */
  int k = 24 - e2;
  while (k > 0 && !(m & 1)) m >>= 1, k--;
  if (k < 0 || k > 40) return false; /* integers and tiny values: printf */
  /* m 5^k < 2^117: its digits as two 64-bit halves below and above 10^19 (64-bit divisions by
   * constants are multiplications; 128-bit ones are calls). */
  unsigned __int128 d = five_to_k(k) * m;
  const uint64_t ten19 = 10000000000000000000ull;
  uint64_t hi = (uint64_t)(d / ten19), lo = (uint64_t)(d % ten19);
  char rev[24];
  int len = 0, r = 0;
  for (uint64_t v = hi; v; v /= 10) rev[r++] = (char)('0' + (int)(v % 10));
  while (r) fd->all[len++] = rev[--r];
  for (uint64_t v = lo; v || (hi && r < 19); v /= 10) rev[r++] = (char)('0' + (int)(v % 10));
  while (r) fd->all[len++] = rev[--r];
  fd->len = len;
  fd->k = k;
  fd->m = m;
  fd->negative = x < 0;
  return true;
}

/* %.<digits>g's layout of the significant digits dig[0 .. nd) (already rounded to at most
 * `digits`), the first of them at 10^exp10: fixed or with an exponent as %g picks, trailing zeros
 * dropped. */
static int layout_g(char *buf, char *dig, int nd, int exp10, bool negative, int digits) {
  while (nd > 1 && dig[nd - 1] == '0') nd--;
  char *o = buf;
  if (negative) *o++ = '-';
  if (exp10 < digits && exp10 >= -4) {
    if (exp10 < 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = 0; i < -exp10 - 1; i++) *o++ = '0';
      memcpy(o, dig, (size_t)nd);
      o += nd;
    } else {
      for (int i = 0; i <= exp10; i++) *o++ = i < nd ? dig[i] : '0';
      if (nd > exp10 + 1) {
        *o++ = '.';
        memcpy(o, dig + exp10 + 1, (size_t)(nd - exp10 - 1));
        o += nd - exp10 - 1;
      }
    }
  } else {
    *o++ = dig[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, dig + 1, (size_t)nd - 1);
      o += nd - 1;
    }
    o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  }
  *o = '\0';
  return (int)(o - buf);
}

/* printf's %.<digits>g from the exact digits: rounded half to even at `digits` significant digits
 * (as glibc's printf rounds an exact expansion), laid out as %g lays it out. */
static int float_g_text(char *buf, const float_digits *fd, int digits) {
  int len = fd->len, exp10 = len - 1 - fd->k; /* of the first digit */
  char dig[24];
  int nd = len < digits ? len : digits;
  memcpy(dig, fd->all, (size_t)nd);
  if (len > digits) {
    int cmp = fd->all[digits] > '5' ? 1 : fd->all[digits] < '5' ? -1 : 0;
    for (int i = digits + 1; cmp == 0 && i < len; i++)
      if (fd->all[i] != '0') cmp = 1;
    if (cmp > 0 || (cmp == 0 && (dig[nd - 1] - '0') % 2 == 1)) {
      int i = nd - 1;
      while (i >= 0 && dig[i] == '9') dig[i--] = '0';
      if (i >= 0) dig[i]++;
      else {
        memmove(dig + 1, dig, (size_t)nd - 1);
        dig[0] = '1';
        exp10++;
      }
    }
  }
  return layout_g(buf, dig, nd, exp10, fd->negative, digits);
}

/* Powers of ten a long double holds exactly (5^27 < 2^64). */
static const long double ten_to[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                       1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                       1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* printf's %.<digits>g (digits 1 to 17) of x without printf, or -1 where it cannot tell: |x| 10^n
 * by one long double product or quotient (64-bit significand, 10^n exact) has its first `digits`
 * digits before the point, within 2^-64 of it (under 0.006 for 10^17), so rounding it to the
 * nearest integer gives printf's digits (the exact value's, rounded half to even) unless its
 * fraction lies within 0.01 of a half. Those, and |x| outside [1e-11, 1e15), it leaves to the
 * caller. A sweep's hyperparameters (10^r, 1 - 10^r) are such doubles; printf's exact expansion
 * of each was most of writing them. */
static int g_text_by_long_double(char *buf, double x, int digits) {
  double a = fabs(x);
  if (!(a >= 1e-11 && a < 1e15) || digits < 1 || digits > 17) return -1;
  int e2;
  frexp(a, &e2); /* a in [2^(e2-1), 2^e2): its first digit's power of ten is this or one more */
  int exp10 = (int)floor((e2 - 1) * 0.30102999566398120);
  for (int tries = 0; tries < 3; tries++) {
    int n = digits - 1 - exp10;
    if (n < -27 || n > 27) break;
    long double y = n >= 0 ? (long double)a * ten_to[n] : (long double)a / ten_to[-n];
    if (y < ten_to[digits - 1]) {
      exp10--;
      continue;
    }
    if (y >= ten_to[digits]) {
      exp10++;
      continue;
    }
    uint64_t i = (uint64_t)y;
    long double fraction = y - (long double)i;
    if (fabsl(fraction - 0.5L) < 0.01L) break;
    if (fraction > 0.5L) i++;
    if (i == (uint64_t)ten_to[digits]) i /= 10, exp10++;
    char dig[24] = {0};
    for (int k = digits - 1; k >= 0; k--) dig[k] = (char)('0' + (int)(i % 10)), i /= 10;
    return layout_g(buf, dig, digits, exp10, x < 0, digits);
  }
  return -1;
}

/* The same for digits 1 to 9 by one double product or quotient (10^n exact up to 10^22): |x| 10^n
 * is below 10^9 < 2^30, within 2^-24 of the exact one, so its fraction tells printf's rounding
 * unless it lies within 1e-6 of a half. A float's 9 digits (every figure of curves.csv and the
 * journal) without the long double's x87 arithmetic, two digits at a time. */
static int g_text_by_double(char *buf, double x, int digits) {
  static const double ten[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";
  double a = fabs(x);
  if (!(a >= 1e-11 && a < 1e15) || digits < 1 || digits > 9) return -1;
  int e2;
  frexp(a, &e2);
  int exp10 = (int)floor((e2 - 1) * 0.30102999566398120);
  for (int tries = 0; tries < 3; tries++) {
    int n = digits - 1 - exp10;
    if (n < -22 || n > 22) break;
    double y = n >= 0 ? a * ten[n] : a / ten[-n];
    if (y < ten[digits - 1]) {
      exp10--;
      continue;
    }
    if (y >= ten[digits]) {
      exp10++;
      continue;
    }
    uint32_t i = (uint32_t)y;
    double fraction = y - (double)i; /* exact */
    if (fabs(fraction - 0.5) < 1e-6) break;
    if (fraction > 0.5) i++;
    if (i == (uint32_t)ten[digits]) i /= 10, exp10++;
    char dig[12];
    int k = digits;
    for (; k >= 2; k -= 2, i /= 100) memcpy(dig + k - 2, pairs + 2 * (i % 100), 2);
    if (k == 1) dig[0] = (char)('0' + i);
    return layout_g(buf, dig, digits, exp10, x < 0, digits);
  }
  return -1;
}

int caviar_double_g_text(char *buf, size_t size, double x, int digits) {
  int n = size >= 32 && digits >= 15 ? g_text_by_long_double(buf, x, digits) : -1;
  return n >= 0 ? n : snprintf(buf, size, "%.*g", digits, x);
}

int caviar_float_g_text(char *buf, size_t size, double x, int digits) {
  float_digits fd;
  if (digits < 1 || digits > 17 || size < 32 || (double)(float)x != x) return snprintf(buf, size, "%.*g", digits, x);
  int n = digits <= 9 ? g_text_by_double(buf, x, digits) : -1;
  if (n >= 0) return n;
  n = g_text_by_long_double(buf, x, digits);
  if (n >= 0) return n;
  if (!float_digits_of(x, &fd)) return snprintf(buf, size, "%.*g", digits, x);
  return float_g_text(buf, &fd, digits);
}

/* Whether the 16-digit rounding of fd's value reads back as it: a decimal does when it lies
 * within half a double's ulp, 5^k 2^(bits(m) - 54) in units of 10^-k (half that below a power of
 * two); a tie goes to the value, whose 53-bit significand is even. */
static bool reads_back_16(const float_digits *fd) {
  if (fd->len <= 16) return true;
  unsigned __int128 rest = 0, p = 1;
  for (int i = 16; i < fd->len; i++) rest = rest * 10 + (unsigned)(fd->all[i] - '0'), p *= 10;
  unsigned __int128 half = p / 2;
  bool up = rest > half || (rest == half && (fd->all[15] - '0') % 2 == 1);
  unsigned __int128 diff = up ? p - rest : rest;
  int bits = 64 - __builtin_clzll(fd->m);
  int shift = 54 - bits + (fd->m == 1 && !up);
  return (diff << shift) <= five_to_k(fd->k);
}

/* Whether printf's %g text of x reads back as x: 1 yes, 0 no, -1 where this cannot tell (strtod
 * then). The text is m 10^q; one long double product puts x 10^-q (10^-q exact) within 0.006 of
 * its exact value (it is below 10^18), so m's distance from it against half the gap to x's
 * neighbours, in the same units, decides unless they lie within 0.01. */
static int reads_back(const char *text, double x) {
  double a = fabs(x);
  if (!(a >= 1e-11 && a < 1e15)) return -1;
  const char *c = text + (*text == '-');
  uint64_t m = 0;
  int significant = 0, fraction = 0, exponent = 0;
  bool point = false;
  for (; (*c >= '0' && *c <= '9') || (*c == '.' && !point); c++) {
    if (*c == '.') {
      point = true;
      continue;
    }
    fraction += point;
    if (m == 0 && *c == '0') continue;
    if (++significant > 18) return -1;
    m = m * 10 + (uint64_t)(*c - '0');
  }
  if (*c == 'e' || *c == 'E') exponent = atoi(c + 1);
  else if (*c) return -1;
  int scale = fraction - exponent; /* the text is m 10^-scale */
  if (scale < 0 || scale > 27) return -1;
  int e2;
  /* a = f 2^e2, f in [0.5, 1): its neighbours are 2^(e2-53) away, but for a power of two, whose
   * lower one is half as far (strtod decides those). */
  if (frexp(a, &e2) == 0.5) return -1;
  long double y = (long double)a * ten_to[scale], d = (long double)m;
  long double half = ldexpl(1.0L, e2 - 54) * ten_to[scale];
  long double diff = fabsl(d - y);
  if (diff < half - 0.01L) return 1;
  if (diff > half + 0.01L) return 0;
  return -1;
}

static int round_trip_text(char *buf, size_t size, double x) {
  if (x == floor(x) && fabs(x) < 1e15)
    return x == 0 && signbit(x) ? snprintf(buf, size, "-0") : size >= 24 ? caviar_int_text(buf, (long long)x) : snprintf(buf, size, "%.0f", x);
  /* 17 significant digits always read back exactly. 16 do for most values, and %g trims trailing
   * zeros, so hand-written values such as 0.001 come out as written. */
  float_digits fd;
  if (size >= 32 && float_digits_of(x, &fd)) return float_g_text(buf, &fd, reads_back_16(&fd) ? 16 : 17);
  int n = caviar_double_g_text(buf, size, x, 16);
  int back = reads_back(buf, x);
  if (back == 1 || (back < 0 && strtod(buf, NULL) == x)) return n;
  return caviar_double_g_text(buf, size, x, 17);
}

/* Fixed and categorical values repeat on every line `caviar sample` prints; remembering the text
 * of recent values keeps printf out of the loop for them. */
#define CACHE_SLOTS 64
typedef struct cached_number {
  uint64_t bits;
  bool used;
  char text[32];
  int len;
} cached_number;

int caviar_format_number(char *buf, size_t size, double x) {
  static _Thread_local cached_number cache[CACHE_SLOTS];
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  cached_number *slot = &cache[(bits ^ (bits >> 29) ^ (bits >> 47)) % CACHE_SLOTS];
  if (!slot->used || slot->bits != bits) {
    slot->len = round_trip_text(slot->text, sizeof slot->text, x);
    slot->bits = bits;
    slot->used = true;
  }
  if ((size_t)slot->len >= size) return snprintf(buf, size, "%s", slot->text);
  memcpy(buf, slot->text, (size_t)slot->len + 1);
  return slot->len;
}

const char *caviar_number_text(char *buf, size_t size, double x) {
  if (isfinite(x)) caviar_format_number(buf, size, x);
  else snprintf(buf, size, "%g", x);
  return buf;
}

int caviar_int_text(char *buf, long long v) {
  char digits[24];
  int n = 0, len = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do digits[n++] = (char)('0' + u % 10);
  while ((u /= 10) > 0);
  if (v < 0) buf[len++] = '-';
  while (n > 0) buf[len++] = digits[--n];
  buf[len] = '\0';
  return len;
}

/* Clinger's fast path: the digits as an integer, exact below 2^53, then one multiplication or
 * division by an exact power of ten (up to 10^22) is correctly rounded, as strtod is. */
double caviar_decimal_value(const char *p, char **end) {
  static const double ten[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char *c = p;
  bool negative = *c == '-';
  if (negative) c++;
  uint64_t m = 0;
  int digits = 0, scale = 0;
  for (; *c >= '0' && *c <= '9'; c++) m = m * 10 + (uint64_t)(*c - '0'), digits++;
  if (*c == '.')
    for (c++; *c >= '0' && *c <= '9'; c++) m = m * 10 + (uint64_t)(*c - '0'), digits++, scale--;
  if (*c == 'e' || *c == 'E') {
    const char *e = c + 1;
    bool down = *e == '-';
    if (*e == '-' || *e == '+') e++;
    int x = 0, n = 0;
    for (; *e >= '0' && *e <= '9' && n < 4; e++, n++) x = x * 10 + (*e - '0');
    if (n == 0 || n == 4) return strtod(p, end);
    scale += down ? -x : x;
    c = e;
  }
  if (digits == 0 || digits > 19 || m >= (1ull << 53) || scale < -22 || scale > 22 || *c == '.' ||
      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
    return strtod(p, end);
  double v = scale >= 0 ? (double)m * ten[scale] : (double)m / ten[-scale];
  *end = (char *)c;
  return negative ? -v : v;
}
