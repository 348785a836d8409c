#ifndef CAVIAR_TENSORBOARD_H
#define CAVIAR_TENSORBOARD_H
/* A sweep as TensorBoard event files, one run per trial (DIR/trial-<id>/events.out.tfevents.*)
 * plus DIR/events.out.tfevents.* with the HParams plugin's experiment, so `tensorboard --logdir
 * DIR` shows every trial's curves and its HParams dashboard every trial's parameters.
 *
 * The format is TensorFlow's: TFRecord framing (a little-endian uint64 length, the masked CRC32C
 * of those 8 bytes, the serialized tensorboard.Event, the masked CRC32C of it); a first event with
 * file_version "brain.Event:2"; per epoch one event (step = the epoch, 1-based) whose summary holds
 * train_loss, val_loss, the metric (val_acc; val_rmse for regression, val_mse too when that is the
 * metric) and learning_rate (the one the epoch trained with) as simple values; the HParams
 * plugin's session_start_info (the trial's swept values) when the trial starts and its
 * session_end_info when it stops (survived or culled: success; diverged: failure; stopped by a
 * time budget: unknown). The messages are encoded by hand (docs/DESIGN.md says why). */

#include <stddef.h>
#include <stdint.h>

#include "caviar/spec.h"
#include "caviar/status.h"
#include "caviar/trainer.h"

CAVIAR_C_BEGIN

typedef struct caviar_tensorboard caviar_tensorboard;

/* Opens dir for the sweep (creating it). resume: the runs there continue (each trial's file is cut
 * back to its last whole record and only later steps are added); otherwise event files of another
 * sweep in dir are refused, or removed when replace is set. */
caviar_status caviar_tensorboard_open(const char *dir, const caviar_spec *spec, bool resume, bool replace,
                                      caviar_tensorboard **out, caviar_error *err);
/* Appends what r holds that the files do not yet: new epochs, starts and ends; one write(2) per
 * trial that changed, so each epoch's events are in the file when it returns. final: the sweep is
 * over, and trials still running (stopped by a time budget) end with status unknown. */
caviar_status caviar_tensorboard_update(caviar_tensorboard *tb, const caviar_sweep_result *r, bool final,
                                        caviar_error *err);
/* Seconds spent in caviar_tensorboard_update so far. */
double caviar_tensorboard_seconds(const caviar_tensorboard *tb);
void caviar_tensorboard_close(caviar_tensorboard *tb);

/* The pieces, for the tests' reader. CRC32C (Castagnoli) of n bytes, and TFRecord's masked form. */
uint32_t caviar_crc32c(const void *data, size_t n);
uint32_t caviar_crc32c_masked(const void *data, size_t n);

CAVIAR_C_END

#endif
