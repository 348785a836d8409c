/* JSON text that stays valid UTF-8 (include/caviar/json_text.h). */
#include "caviar/json_text.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/number_format.h"

size_t caviar_utf8_length(const char *text, size_t n) {
  const unsigned char *p = (const unsigned char *)text;
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c == 0xe0) len = 3, lo = 0xa0;
  else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) len = 3;
  else if (c == 0xed) len = 3, hi = 0x9f; /* no UTF-16 surrogates */
  else if (c == 0xf0) len = 4, lo = 0x90;
  else if (c >= 0xf1 && c <= 0xf3) len = 4;
  else if (c == 0xf4) len = 4, hi = 0x8f;
  else return 0;
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if (p[k] < 0x80 || p[k] > 0xbf) return 0;
  return len;
}

bool caviar_utf8_valid(const char *text, size_t len) {
  for (size_t i = 0; i < len;) {
    size_t k = caviar_utf8_length(text + i, len - i);
    if (!k) return false;
    i += k;
  }
  return true;
}

char *caviar_json_escape_bytes(char *printed) {
  if (!printed) return NULL;
  size_t len = strlen(printed);
  if (caviar_utf8_valid(printed, len)) return printed;
  /* Bytes outside strings are ASCII in cJSON's output, so every bad byte is inside a string. */
  char *out = malloc(6 * len + 1);
  if (!out) {
    free(printed);
    return NULL;
  }
  const unsigned char *p = (const unsigned char *)printed;
  size_t o = 0;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < len;) {
    size_t k = caviar_utf8_length(printed + i, len - i);
    if (k) {
      memcpy(out + o, p + i, k);
      o += k;
      i += k;
      continue;
    }
    memcpy(out + o, "\\udc", 4);
    out[o + 4] = hex[p[i] >> 4];
    out[o + 5] = hex[p[i] & 15];
    o += 6;
    i++;
  }
  out[o] = '\0';
  free(printed);
  return out;
}

void caviar_text_put(caviar_text *t, const char *text, size_t n) {
  if (t->failed) return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = (t->len + n + 1) * 2;
    char *grown = realloc(t->s, cap);
    if (!grown) {
      t->failed = true;
      return;
    }
    t->s = grown;
    t->cap = cap;
  }
  memcpy(t->s + t->len, text, n);
  t->len += n;
  t->s[t->len] = '\0';
}

/* A string as cJSON prints it (its escapes, \u00xx below 32), bytes that are not UTF-8 as
 * caviar_json_escape_bytes writes them (\udcXX). */
void caviar_json_put_string(caviar_text *t, const char *s) {
  static const char hex[] = "0123456789abcdef";
  caviar_text_put(t, "\"", 1);
  size_t len = s ? strlen(s) : 0, from = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    size_t k = c >= 0x80 ? caviar_utf8_length(s + i, len - i) : 1;
    if (c >= 0x80 ? k > 0 : c >= 32 && c != '"' && c != '\\') {
      i += k;
      continue;
    }
    caviar_text_put(t, s + from, i - from);
    char esc[7] = {'\\', 0};
    size_t n = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default: /* a control character, or a byte that begins no UTF-8 sequence */
        memcpy(esc + 1, c < 32 ? "u00" : "udc", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        n = 6;
    }
    caviar_text_put(t, esc, n);
    from = ++i;
  }
  caviar_text_put(t, s + from, len - from);
  caviar_text_put(t, "\"", 1);
}

void caviar_text_tabs(caviar_text *t, int n) {
  static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
  for (; n > 0; n -= 16) caviar_text_put(t, tabs, (size_t)(n < 16 ? n : 16));
}

/* A number as the cJSON caviar links (1.7.15) prints it: null for NaN and the infinities, else
 * %1.15g if that reads back within cJSON's tolerance (a relative DBL_EPSILON), else %1.17g. An
 * integer below 10^15 is its digits either way (-0.0 is "-0"). */
int caviar_json_number_text(char *text, double d) {
  if (isnan(d) || isinf(d)) return snprintf(text, 40, "null");
  if (d == 0 && signbit(d)) return snprintf(text, 40, "-0");
  if (d == floor(d) && fabs(d) < 1e15) return caviar_int_text(text, (long long)d);
  int n = caviar_double_g_text(text, 40, d, 15);
  char *end;
  double test = caviar_decimal_value(text, &end), most = fabs(test) > fabs(d) ? fabs(test) : fabs(d);
  if (!(fabs(test - d) <= most * DBL_EPSILON)) n = caviar_double_g_text(text, 40, d, 17);
  return n;
}

void caviar_json_put_number(caviar_text *t, double d) {
  char text[40];
  caviar_text_put(t, text, (size_t)caviar_json_number_text(text, d));
}

void caviar_json_put(caviar_text *t, const cJSON *item, bool formatted, int depth) {
  if (!item) return;
  switch (item->type & 0xFF) {
    case cJSON_NULL: caviar_text_put(t, "null", 4); return;
    case cJSON_False: caviar_text_put(t, "false", 5); return;
    case cJSON_True: caviar_text_put(t, "true", 4); return;
    case cJSON_Number: caviar_json_put_number(t, item->valuedouble); return;
    case cJSON_String: caviar_json_put_string(t, item->valuestring); return;
    case cJSON_Raw:
      if (item->valuestring) caviar_text_put(t, item->valuestring, strlen(item->valuestring));
      else t->failed = true;
      return;
    case cJSON_Array:
      caviar_text_put(t, "[", 1);
      for (const cJSON *c = item->child; c; c = c->next) {
        caviar_json_put(t, c, formatted, depth + 1);
        if (c->next) caviar_text_put(t, formatted ? ", " : ",", formatted ? 2 : 1);
      }
      caviar_text_put(t, "]", 1);
      return;
    case cJSON_Object:
      caviar_text_put(t, formatted ? "{\n" : "{", formatted ? 2 : 1);
      for (const cJSON *c = item->child; c; c = c->next) {
        if (formatted) caviar_text_tabs(t, depth + 1);
        caviar_json_put_string(t, c->string);
        caviar_text_put(t, formatted ? ":\t" : ":", formatted ? 2 : 1);
        caviar_json_put(t, c, formatted, depth + 1);
        if (c->next) caviar_text_put(t, ",", 1);
        if (formatted) caviar_text_put(t, "\n", 1);
      }
      if (formatted) caviar_text_tabs(t, depth);
      caviar_text_put(t, "}", 1);
      return;
    default: t->failed = true; return; /* an invalid item: cJSON prints nothing */
  }
}

char *caviar_json_print_text(const cJSON *item, bool formatted) {
  caviar_text t = {0};
  caviar_json_put(&t, item, formatted, 0);
  if (!t.failed && t.s) return t.s;
  free(t.s);
  return NULL;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t caviar_json_unescape_bytes(char *text, size_t len) {
  size_t o = 0;
  bool in_string = false;
  for (size_t i = 0; i < len;) {
    char c = text[i];
    if (!in_string) {
      in_string = c == '"';
      text[o++] = text[i++];
      continue;
    }
    if (c == '"') {
      in_string = false;
      text[o++] = text[i++];
      continue;
    }
    if (c != '\\' || i + 1 >= len) {
      text[o++] = text[i++];
      continue;
    }
    /* \udcXX with XX from 80 to ff: the byte XX; any other escape stays as it is. */
    if (i + 5 < len && text[i + 1] == 'u' && (text[i + 2] == 'd' || text[i + 2] == 'D') &&
        (text[i + 3] == 'c' || text[i + 3] == 'C') && hex_value(text[i + 4]) >= 8 && hex_value(text[i + 5]) >= 0) {
      text[o++] = (char)(hex_value(text[i + 4]) << 4 | hex_value(text[i + 5]));
      i += 6;
      continue;
    }
    text[o++] = text[i++];
    text[o++] = text[i++];
  }
  if (o < len) text[o] = '\0';
  return o;
}

cJSON *caviar_json_parse_text(const char *text, size_t len) {
  bool escapes = false;
  for (size_t i = 0; i + 1 < len && !escapes; i++) escapes = text[i] == '\\' && text[i + 1] == 'u';
  if (!escapes) return cJSON_ParseWithLength(text, len);
  char *copy = malloc(len + 1);
  if (!copy) return NULL;
  memcpy(copy, text, len);
  copy[len] = '\0';
  size_t n = caviar_json_unescape_bytes(copy, len);
  cJSON *root = cJSON_ParseWithLength(copy, n);
  free(copy);
  return root;
}
