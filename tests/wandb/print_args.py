#!/usr/bin/env python3
"""Prints its arguments (JSON, on stderr, one line: ARGV [...]) and, where one is a file, the
file's text (FILE ...); logs loss=1 so that its trial completes. The ARGV line is written as an
unbuffered Python (PYTHONUNBUFFERED=1) writes a print: its text, then its newline apart, with a
stdout line in between, which the agent's log must not put inside it."""
import json
import os
import sys
import time

import wandb

sys.stderr.write("ARGV " + json.dumps(sys.argv[1:]))
sys.stderr.flush()
time.sleep(0.2)
print("a line on stdout", flush=True)
time.sleep(0.2)
sys.stderr.write("\n")
sys.stderr.flush()
for arg in sys.argv[1:]:
    if os.path.isfile(arg):
        with open(arg) as f:
            print("FILE " + f.read().strip(), file=sys.stderr)
wandb.init()
wandb.log({"loss": 1.0})
