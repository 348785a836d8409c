#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/number_format.h"

static int round_trip_text(char *buf, size_t size, double x) {
  if (x == floor(x) && fabs(x) < 1e15) return snprintf(buf, size, "%.0f", x);
  /* 17 significant digits always read back exactly. 16 do for most values, and %g trims trailing
   * zeros, so hand-written values such as 0.001 come out as written. */
  int n = snprintf(buf, size, "%.16g", x);
  if (strtod(buf, NULL) == x) return n;
  return snprintf(buf, size, "%.17g", x);
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
