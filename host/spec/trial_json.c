#include <stdio.h>
#include <string.h>

#include "caviar/trial_json.h"

/* Appends text; a full buffer truncates silently and the return value says how long it should be. */
static size_t append(char *buf, size_t size, size_t used, const char *text, size_t len) {
  if (used < size) {
    size_t room = size - used - 1;
    memcpy(buf + used, text, len < room ? len : room);
    buf[used + (len < room ? len : room)] = '\0';
  }
  return used + len;
}

int caviar_hparams_json(const caviar_hparams *hp, char *buf, size_t size) {
  size_t used = 0;
  char number[40];
  bool first = true;
  for (int i = 0; i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    if (!caviar_hp_active(hp, info)) continue; /* switched off by a condition: not part of the config */
    double value = caviar_hp_get(hp, info);
    used = append(buf, size, used, first ? "{\"" : ", \"", first ? 2 : 3);
    first = false;
    used = append(buf, size, used, info->name, strlen(info->name));
    used = append(buf, size, used, "\": ", 3);
    if (info->type == CAVIAR_HP_CHOICE) {
      const char *name = info->choices[(int)value];
      used = append(buf, size, used, "\"", 1);
      used = append(buf, size, used, name, strlen(name));
      used = append(buf, size, used, "\"", 1);
    } else {
      int n = caviar_format_number(number, sizeof number, value);
      used = append(buf, size, used, number, (size_t)n);
    }
  }
  return (int)append(buf, size, used, first ? "{}" : "}", first ? 2 : 1);
}

cJSON *caviar_hparams_cjson(const caviar_hparams *hp) {
  cJSON *obj = cJSON_CreateObject();
  for (int i = 0; obj && i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    if (!caviar_hp_active(hp, info)) continue;
    double value = caviar_hp_get(hp, info);
    cJSON *item = info->type == CAVIAR_HP_CHOICE ? cJSON_CreateString(info->choices[(int)value]) : cJSON_CreateNumber(value);
    if (!item || !cJSON_AddItemToObject(obj, info->name, item)) {
      cJSON_Delete(item);
      cJSON_Delete(obj);
      obj = NULL;
    }
  }
  return obj;
}

int caviar_trial_json(const caviar_trial *trial, char *buf, size_t size) {
  int head = snprintf(buf, size, "{\"trial\": %u, \"params\": ", (unsigned)trial->id);
  if (head < 0 || (size_t)head >= size) return head;
  size_t used = (size_t)head + (size_t)caviar_hparams_json(&trial->hp, buf + head, size - (size_t)head);
  return (int)append(buf, size, used, "}", 1);
}
