/* Checks that the examples a command validates or tests a saved model on were not its training
 * examples: the model's data is reloaded with its seed, and the rows compared. */
#include <stdio.h>

#include "cli.h"

void caviar_warn_overlap(const caviar_model *model, const char *model_path, const caviar_dataset *now,
                         const uint32_t *rows, size_t n, const char *what) {
  if (!model->has_data || n == 0) return;
  caviar_data trained;
  caviar_error err;
  if (caviar_data_load(&model->data, model->seed, &trained, &err) != CAVIAR_OK) {
    fprintf(stderr, "caviar: note: cannot check the %s examples against %s's training data: %s\n", what, model_path,
            err.msg);
    return;
  }
  size_t shared = 0;
  if (caviar_overlap_count(&trained.train, trained.split.train, trained.split.n_train, now, rows, n, &shared, &err) ==
          CAVIAR_OK &&
      shared > 0)
    fprintf(stderr,
            "caviar: warning: %zu of %zu %s examples were in %s's training data (%s, seed %llu, validation %g): "
            "its %s figures are optimistic\n",
            shared, n, what, model_path, trained.train_name, (unsigned long long)model->seed, model->data.validation,
            what);
  caviar_data_free(&trained);
}
