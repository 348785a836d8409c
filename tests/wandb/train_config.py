#!/usr/bin/env python3
"""A W&B sweep program of the usual shape, reading wandb.config (nested: optimizer.lr), logging per
epoch, as W&B's examples do; it trains nothing, so it runs in well under a second. Its loss after
epoch e is (1 - lr) ** e + width / 1000: the larger lr, the better. Behaviour for the tests, from the
config: crash_at (raise at that epoch), log_metric false (logs no loss), sleep (seconds per epoch)."""
import time

import wandb

defaults = dict(epochs=9, width=16, optimizer=dict(name="sgd", lr=0.1), crash_at=0, log_metric=True, sleep=0.0)

with wandb.init(project="caviar-test", config=defaults) as run:
    config = wandb.config
    lr = config.optimizer["lr"]
    for epoch in range(1, config.epochs + 1):
        time.sleep(config.sleep)
        if epoch == config.crash_at:
            raise RuntimeError(f"crashed at epoch {epoch} as asked")
        loss = (1 - lr) ** epoch + config.width / 1000
        values = {"epoch": epoch, "train/loss": loss * 1.1, "accuracy": 1 - loss}
        if config.log_metric:
            values["loss"] = loss
        wandb.log(values)
    run.summary["final_width"] = config.width
