#!/usr/bin/env python3
"""A PyTorch model swept by a caviar study: caviar proposes each trial's values (the spec's method,
here tpe) and culls the losers (successive halving); this program only trains.

  caviar study init examples/study-torch/spec.json -o runs/torch
  # either: the agent runs this program once per trial, two at a time
  caviar agent runs/torch -j 2 -- python3 examples/study-torch/train.py
  # or: this program asks and tells itself (start as many as you like, on any machines sharing runs/torch)
  python3 examples/study-torch/train.py runs/torch
  caviar report runs/torch            # summary.json, curves.csv, report.html

An MLP on Fashion-MNIST (Debian's dataset-fashion-mnist, or --data DIR with the four IDX files):
the last --val examples of the training file are the validation split the study ranks by.
Needs torch (Debian: python3-torch) and caviar on PATH (or $CAVIAR)."""
import argparse
import gzip
import math
import os
import struct
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import caviar_study  # noqa: E402


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(folder, n_train, n_val):
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        sys.exit(f"train.py: {folder}: no {stem}[.gz]")
    x = read_idx(find("train-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    y = read_idx(find("train-labels-idx1-ubyte")).long()
    if n_train + n_val > len(x):
        sys.exit(f"train.py: --train {n_train} and --val {n_val} need {n_train + n_val} examples; {folder} has {len(x)}")
    return (x[:n_train], y[:n_train]), (x[-n_val:], y[-n_val:])


def build(p):
    layers, width, inputs = [], int(p.get("hidden", 128)), 784
    for _ in range(int(p.get("layers", 1))):
        layers += [nn.Linear(inputs, width), nn.ReLU(), nn.Dropout(float(p.get("dropout", 0)))]
        inputs = width
    model = nn.Sequential(*layers, nn.Linear(inputs, 10))
    lr, beta1 = float(p.get("learning_rate", 1e-3)), float(p.get("beta1", 0.9))
    kind = p.get("optimizer", "adam")
    if kind == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, 0.999))
    elif kind == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=beta1)
    elif kind == "rmsprop":
        opt = torch.optim.RMSprop(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    return model, opt


def epochs_of(trial_params, epochs, data, seed):
    """Trains one trial, yielding (epoch, train_loss, val_loss, val_acc) after each epoch."""
    (x, y), (xv, yv) = data
    torch.manual_seed(seed)
    model, opt = build(trial_params)
    batch = int(trial_params.get("batch_size", 128))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        order, total, steps = torch.randperm(len(x)), 0.0, 0
        for i in range(0, len(x) - batch + 1, batch):
            rows = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        model.eval()
        with torch.no_grad():
            out = model(xv)
            val_loss = loss_fn(out, yv).item()
            val_acc = (out.argmax(1) == yv).float().mean().item()
        yield epoch, total / max(steps, 1), val_loss, val_acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", nargs="?", help="a study folder: ask and tell here (without it: run under caviar agent)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="folder of Fashion-MNIST's IDX files")
    ap.add_argument("--train", type=int, default=12000, help="training examples (default 12000)")
    ap.add_argument("--val", type=int, default=3000, help="validation examples, from the end of the file (default 3000)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1: runs side by side)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load(args.data, args.train, args.val)
    if args.study is None:
        # Under caviar agent: one trial, metric lines on stdout; a cull arrives as SIGTERM.
        trial = caviar_study.current()
        if trial is None:
            sys.exit("train.py: give a study folder, or run under caviar agent (see --help)")
        for epoch, train_loss, val_loss, val_acc in epochs_of(trial["params"], trial["epochs"], data, trial["trial"]):
            if not math.isfinite(val_loss):
                caviar_study.log(epoch, val_loss=val_loss)  # the agent fails the trial
                return
            caviar_study.log(epoch, val_acc=val_acc, val_loss=val_loss, train_loss=train_loss)
        return
    study = caviar_study.Study(args.study)
    while (trial := study.ask()) is not None:
        for epoch, train_loss, val_loss, val_acc in epochs_of(trial.params, trial.epochs, data, trial.id):
            if not math.isfinite(val_loss):
                trial.fail(f"val_loss {val_loss} at epoch {epoch}")
                break
            if not trial.report(epoch, val_acc=val_acc, val_loss=val_loss, train_loss=train_loss):
                print(f"trial {trial.id}: culled after epoch {epoch}", file=sys.stderr)
                break
        else:
            trial.tell()
            print(f"trial {trial.id}: val_acc {val_acc:.4f} after {trial.epochs} epochs", file=sys.stderr)


if __name__ == "__main__":
    main()
