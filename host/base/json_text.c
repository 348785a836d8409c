/* JSON text that stays valid UTF-8 (include/caviar/json_text.h). */
#include "caviar/json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

char *caviar_json_print_text(const cJSON *item, bool formatted) {
  return caviar_json_escape_bytes(formatted ? cJSON_Print(item) : cJSON_PrintUnformatted(item));
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
