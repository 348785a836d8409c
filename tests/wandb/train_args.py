#!/usr/bin/env python3
"""A W&B sweep program that takes its values as --name=value arguments (argparse), as W&B's agent
passes them with ${args}, and hands them to wandb.init; logs val_loss per epoch with step=."""
import argparse

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--layers", type=int, default=2)
parser.add_argument("--activation", default="relu")
parser.add_argument("--epochs", type=int, default=6)
args = parser.parse_args()

run = wandb.init(project="caviar-test", config=args)
assert wandb.config.lr == args.lr and wandb.config.layers == args.layers, (dict(wandb.config), vars(args))
penalty = {"relu": 0.0, "tanh": 0.05}.get(args.activation, 0.1)
for epoch in range(args.epochs):
    val_loss = (1 - args.lr) ** (epoch + 1) + penalty + 0.01 * args.layers
    wandb.log({"val_loss": val_loss, "lr_seen": args.lr}, step=epoch)
print(f"done: lr={args.lr} layers={args.layers} activation={args.activation}")
wandb.finish()
