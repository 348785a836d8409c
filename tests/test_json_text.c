/* JSON text: caviar's own printer (caviar_json_print_text, caviar_json_put) against cJSON's
 * printer itself, the independent reference, on random trees of every kind of item, formatted
 * and not, and at every depth inside another document. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/json_text.h"
#include "caviar/trainer.h"
#include "caviar/trial_json.h"

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A number of every kind cJSON prints differently: small and big integers (within an int and
 * beyond), signed zeros, NaN and the infinities, doubles of every size, floats (whose 15 digits
 * read back only within cJSON's tolerance), decimals written by hand and their neighbours. */
static double number_case(uint64_t *s) {
  uint64_t r = next(s), bit = next(s) & 1; /* r's own bits depend on r % 12 */
  double u = (double)(r >> 11) / 9007199254740992.0;
  switch (r % 12) {
    case 0: return (double)(int)(r >> 33) - 1e9;
    case 1: return ldexp(u, (int)(r % 80)) * 1e10;
    case 2: return bit ? -0.0 : 0.0;
    case 3: return (r >> 8) % 3 == 0 ? NAN : (r >> 8) % 3 == 1 ? INFINITY : -INFINITY;
    case 4: return pow(10, -20 + 45 * u);
    case 5: return -pow(10, -12 + 24 * u);
    case 6: return (double)(float)pow(10, -6 + 12 * u);
    case 7: return 1 - pow(10, -5 * u);
    case 8: return (double)(r % 100000) / pow(10, (double)(r % 10));
    case 9: return nextafter((double)(r % 1000) / 1000, bit ? INFINITY : -INFINITY);
    case 10: { double x; memcpy(&x, &r, sizeof x); return x; } /* any bit pattern */
    default: return (double)(int64_t)(r >> 12) * (bit ? 1 : -1);
  }
}

/* A string of every kind of byte: ASCII, quotes, backslashes, control characters, valid UTF-8 of
 * 2 to 4 bytes, bytes that begin or continue nothing, cut sequences. */
static void string_case(uint64_t *s, char *out, size_t size) {
  static const char *const pieces[] = {"a", "Z", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f", "\x7f",
                                       "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x90\x9f", "\xff", "\xfe", "\x80",
                                       "\xc3", "\xe2\x82", "\xed\xa0\x80", " ", "caviar"};
  size_t n = 0, count = next(s) % 12;
  for (size_t k = 0; k < count; k++) {
    const char *p = pieces[next(s) % (sizeof pieces / sizeof *pieces)];
    size_t len = strlen(p);
    if (n + len + 1 >= size) break;
    memcpy(out + n, p, len);
    n += len;
  }
  out[n] = '\0';
}

static cJSON *tree_case(uint64_t *s, int depth) {
  char text[128];
  uint64_t r = next(s) % (depth > 3 ? 6 : 9);
  switch (r) {
    case 0: return cJSON_CreateNull();
    case 1: return cJSON_CreateBool(next(s) & 1);
    case 2:
    case 3: return cJSON_CreateNumber(number_case(s));
    case 4: string_case(s, text, sizeof text); return cJSON_CreateString(text);
    case 5: return cJSON_CreateRaw(next(s) & 1 ? "0.1" : "1e-05");
    case 6:
    case 7: {
      cJSON *object = cJSON_CreateObject();
      for (int k = (int)(next(s) % 5); k > 0; k--) {
        string_case(s, text, sizeof text);
        cJSON_AddItemToObject(object, text, tree_case(s, depth + 1));
      }
      return object;
    }
    default: {
      cJSON *array = cJSON_CreateArray();
      for (int k = (int)(next(s) % 5); k > 0; k--) cJSON_AddItemToArray(array, tree_case(s, depth + 1));
      return array;
    }
  }
}

Test(json_text, caviars_printer_writes_what_cjson_prints_for_every_kind_of_tree) {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 40000; i++) {
    cJSON *tree = tree_case(&s, 0);
    for (int formatted = 0; formatted <= 1; formatted++) {
      char *theirs = caviar_json_escape_bytes(formatted ? cJSON_Print(tree) : cJSON_PrintUnformatted(tree));
      char *mine = caviar_json_print_text(tree, formatted);
      cr_assert(theirs && mine);
      cr_assert_str_eq(mine, theirs, "tree %d, %s", i, formatted ? "formatted" : "unformatted");
      free(mine);
      free(theirs);
    }
    cJSON_Delete(tree);
  }
}

Test(json_text, a_tree_put_inside_a_document_reads_as_the_documents_own_print) {
  /* caviar_json_put at depth d writes what cJSON prints for the tree as the value of a field of
   * an object whose fields stand d tabs in: {"k": {"k": ... value}} printed whole. */
  uint64_t s = 12345;
  for (int i = 0; i < 5000; i++) {
    cJSON *tree = tree_case(&s, 0), *doc = cJSON_CreateObject(), *at = doc;
    int depth = 1 + (int)(next(&s) % 4);
    for (int d = 1; d < depth; d++) at = cJSON_AddObjectToObject(at, "k");
    cJSON_AddItemToObject(at, "the value", tree);
    char *whole = caviar_json_escape_bytes(cJSON_Print(doc));
    caviar_text t = {0};
    caviar_json_put(&t, tree, true, depth);
    cr_assert(whole && t.s && !t.failed);
    char *value = strstr(whole, "\"the value\":\t");
    cr_assert(value);
    cr_assert(strncmp(value + 13, t.s, t.len) == 0, "depth %d: %s\nagainst %s", depth, t.s, value + 13);
    free(t.s);
    free(whole);
    cJSON_Delete(doc);
  }
}

/* A lineage of n events with values of every kind: each hyperparameter switched off, at its
 * default (a quiet one is then left out), or at a number of number_case's kinds (a choice: one of
 * its names); donors or none. */
static caviar_trial_result lineage_case(uint64_t *s, int n) {
  caviar_trial_result t;
  memset(&t, 0, sizeof t);
  t.lineage = calloc((size_t)n, sizeof *t.lineage);
  t.n_lineage = n;
  for (int k = 0; k < n; k++) {
    caviar_lineage_event *e = &t.lineage[k];
    e->epoch = k == 0 ? 0 : (int)(next(s) % 100000);
    e->from = k == 0 || next(s) % 7 == 0 ? -1 : (int64_t)(next(s) % 4000000000u);
    caviar_hparams_default(&e->hp);
    for (int i = 0; i < caviar_hp_count; i++) {
      const caviar_hp_info *info = &caviar_hp_table[i];
      uint64_t r = next(s) % 4;
      if (r == 0) caviar_hp_set_active(&e->hp, info, false);
      else if (r == 1) caviar_hp_set(&e->hp, info, info->default_value);
      else if (info->type == CAVIAR_HP_CHOICE) caviar_hp_set(&e->hp, info, (double)(next(s) % (uint64_t)info->n_choices));
      else if (info->type == CAVIAR_HP_INT) caviar_hp_set(&e->hp, info, (double)(int)(next(s) % 2000) - 1000);
      else {
        double x = number_case(s);
        caviar_hp_set(&e->hp, info, isfinite(x) ? x : 0.5);
      }
    }
  }
  return t;
}

/* The tree the lineage stands for, built as PBT used to keep it: caviar_hparams_cjson's params. */
static cJSON *lineage_reference(const caviar_trial_result *t) {
  cJSON *array = cJSON_CreateArray();
  for (int k = 0; k < t->n_lineage; k++) {
    const caviar_lineage_event *e = &t->lineage[k];
    cJSON *event = cJSON_CreateObject();
    cJSON_AddItemToObject(event, "epoch", cJSON_CreateNumber(e->epoch));
    cJSON_AddItemToObject(event, "from", e->from < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)e->from));
    cJSON_AddItemToObject(event, "params", caviar_hparams_cjson(&e->hp));
    cJSON_AddItemToArray(array, event);
  }
  return array;
}

/* Same kinds, keys, strings and numbers to the bit. */
static bool same_tree(const cJSON *a, const cJSON *b) {
  if (!a || !b) return a == b;
  if ((a->type & 0xFF) != (b->type & 0xFF)) return false;
  if ((a->string || b->string) && (!a->string || !b->string || strcmp(a->string, b->string))) return false;
  if (cJSON_IsNumber(a) && (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) || a->valueint != b->valueint))
    return false;
  if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring)) return false;
  const cJSON *x = a->child, *y = b->child;
  for (; x && y; x = x->next, y = y->next)
    if (!same_tree(x, y)) return false;
  return !x && !y;
}

Test(json_text, a_lineage_is_written_as_cjson_prints_its_tree_and_read_as_cjson_parses_it) {
  uint64_t s = 777;
  for (int i = 0; i < 3000; i++) {
    caviar_trial_result t = lineage_case(&s, 1 + (int)(next(&s) % 4));
    cJSON *reference = lineage_reference(&t);
    /* Its text, alone and inside a document at every depth, formatted and not. */
    for (int formatted = 0; formatted <= 1; formatted++) {
      char *theirs = caviar_json_escape_bytes(formatted ? cJSON_Print(reference) : cJSON_PrintUnformatted(reference));
      caviar_text mine = {0};
      caviar_lineage_put(&mine, &t, formatted, 0);
      cr_assert(theirs && mine.s && !mine.failed);
      cr_assert_str_eq(mine.s, theirs, "lineage %d, %s", i, formatted ? "formatted" : "unformatted");
      free(mine.s);
      free(theirs);
    }
    int depth = 1 + (int)(next(&s) % 4);
    caviar_text inside = {0}, expected = {0};
    caviar_lineage_put(&inside, &t, true, depth);
    caviar_json_put(&expected, reference, true, depth);
    cr_assert_str_eq(inside.s, expected.s, "lineage %d at depth %d", i, depth);
    free(inside.s);
    free(expected.s);
    /* A params object alone, as the journal writes it. */
    char *params = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(reference, 0), "params"));
    caviar_text put = {0};
    caviar_hparams_put(&put, &t.lineage[0].hp, false, 0);
    cr_assert_str_eq(put.s, params);
    free(put.s);
    free(params);
    /* The trees: as built, and with the numbers a reader of the text gets. */
    cJSON *built = caviar_lineage_cjson(&t, false), *read = caviar_lineage_cjson(&t, true);
    char *text = cJSON_PrintUnformatted(reference);
    cJSON *parsed = cJSON_Parse(text);
    cr_assert(same_tree(built, reference), "lineage %d: the tree", i);
    cr_assert(same_tree(read, parsed), "lineage %d: the tree as read: %s", i, text);
    free(text);
    cJSON_Delete(parsed);
    cJSON_Delete(built);
    cJSON_Delete(read);
    cJSON_Delete(reference);
    free(t.lineage);
  }
}
