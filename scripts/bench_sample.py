#!/usr/bin/env python3
"""Benchmark: `caviar sample` drawing N configs of the default spec, against the baseline a user
would otherwise write (Python's random + json.dumps drawing the same space), in one run.

usage: scripts/bench_sample.py [CAVIAR_BINARY] [N]
"""
import json
import random
import subprocess
import sys
import time


def python_baseline(n, out):
    rng = random.Random(1)
    for trial in range(n):
        params = {
            "learning_rate": 10 ** rng.uniform(-4, -2),
            "optimizer": "adam",
            "beta1": 1 - 10 ** rng.uniform(-2 + 0.69897, -1 + 0.30103),
            "beta2": 1 - 10 ** rng.uniform(-4, -2),
            "epsilon": 1e-8,
            "hidden": rng.choice([128, 256]),
            "layers": rng.choice([1, 2]),
            "batch_size": 128,
            "l2": rng.choice([0, 1e-5, 1e-4]),
            "dropout": rng.choice([0, 0.1, 0.2]),
            "lr_decay": 0,
            "activation": rng.choice(["relu", "tanh"]),
        }
        out.write(json.dumps({"trial": trial, "params": params}) + "\n")


def best_of(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/caviar"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000

    def run_caviar():
        subprocess.run([binary, "sample", "-n", str(n)], stdout=subprocess.DEVNULL, check=True)

    def run_python():
        with open("/dev/null", "w") as devnull:
            python_baseline(n, devnull)

    caviar_s = best_of(5, run_caviar)
    python_s = best_of(3, run_python)
    print(f"workload: {n} configs of the default spec, written as JSON lines to /dev/null (best of 5 / 3)")
    print(f"caviar sample:            {caviar_s:.3f} s  ({n / caviar_s / 1e6:.2f} M configs/s)")
    print(f"python random+json.dumps: {python_s:.3f} s  ({n / python_s / 1e6:.2f} M configs/s)")
    print(f"ratio: caviar is {python_s / caviar_s:.1f}x the python baseline")


if __name__ == "__main__":
    main()
