#!/usr/bin/python3
"""W&B's bayes (its own Gaussian process: sweeps' bayes_search.next_sample, a Matern(nu = 1.5)
GP with expected improvement over 1000 random points of the unit cube) against caviar's bayes
(host/spec/gp.c, the same algorithm in C), tpe, sobol and random, on standard test functions
(Branin, Hartmann-6), one evaluation after another, over several seeds; and, with --sweep, on scripts/compare_methods.sh's Fashion-MNIST space (24
trials of 2 epochs, learning rate and dropout), W&B's GP proposing each trial from every result
so far and `caviar train` training it.

W&B's code is not part of caviar: point SWEEPS_SRC at a checkout of github.com/wandb/sweeps (its
src/sweeps folder); it needs numpy, scipy and scikit-learn (Debian: python3-sklearn).

  SWEEPS_SRC=/path/to/sweeps/src/sweeps scripts/compare_bayes.py [--seeds 10] [--sweep SEEDS]

Prints, per function and method, the best value after each budget (mean and median over seeds,
and the seeds' range), and writes BAYES_OUT/functions.csv (and sweep.csv)."""
import argparse
import csv
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("CAVIAR_BUILD_DIR", os.path.join(ROOT, "build-cpu"))
OPTIMA = {"branin": 0.397887, "hartmann6": -3.32237}
DIMS = {"branin": 2, "hartmann6": 6}
BUDGETS = {"branin": 40, "hartmann6": 60}


def load_wandb_next_sample():
    """bayes_search.next_sample from a sweeps checkout, its package's config and run modules
    stubbed (next_sample needs only numpy, scipy and scikit-learn)."""
    src = os.environ.get("SWEEPS_SRC")
    if not src or not os.path.exists(os.path.join(src, "bayes_search.py")):
        sys.exit("compare_bayes.py: set SWEEPS_SRC to a wandb/sweeps checkout's src/sweeps folder")
    package = types.ModuleType("sweeps")
    package.__path__ = [src]
    sys.modules["sweeps"] = package
    for name in ["sweeps.config", "sweeps.config.cfg", "sweeps.config.schema", "sweeps.params", "sweeps.run"]:
        stub = types.ModuleType(name)
        stub.SweepConfig = stub.fill_validate_metric = stub.HyperParameter = stub.HyperParameterSet = object
        stub.RunState = stub.SweepRun = stub.is_number = stub.run_state_is_terminal = object
        sys.modules[name] = stub
    for name in ["_types", "bayes_search"]:
        spec = importlib.util.spec_from_file_location("sweeps." + name, os.path.join(src, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["sweeps." + name] = module
        spec.loader.exec_module(module)
    return sys.modules["sweeps.bayes_search"].next_sample


def branin(u):
    x1, x2 = -5 + 15 * u[0], 15 * u[1]
    b, c, t = 5.1 / (4 * np.pi ** 2), 5 / np.pi, 1 / (8 * np.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


def hartmann6(x):
    alpha = np.array([1.0, 1.2, 3.0, 3.2])
    A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
    P = np.array([[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
                  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]])
    return -float(np.sum(alpha * np.exp(-np.sum(A * (np.asarray(x) - P) ** 2, axis=1))))


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6}


def wandb_gp_trace(next_sample, function, seed, budget):
    """W&B's bayes run by hand, as its controller does: each next point from every result so far."""
    np.random.seed(seed)
    f, dims = FUNCTIONS[function], DIMS[function]
    xs, ys, best, trace = [], [], float("inf"), []
    for _ in range(budget):
        x = next_sample(sample_X=np.array(xs).reshape(len(xs), dims), sample_y=np.array(ys), X_bounds=[[0.0, 1.0]] * dims)[0]
        y = f(x)
        xs.append(list(x))
        ys.append(y)
        best = min(best, y)
        trace.append(best)
    return trace


def caviar_trace(function, method, seed, budget):
    out = subprocess.run([os.path.join(BUILD, "tests", "bench_functions"), function, method, str(seed), str(budget)],
                         check=True, capture_output=True, text=True).stdout
    return [float(v) for v in out.split()]


def functions(args, next_sample, out):
    rows = []
    for function in ["branin", "hartmann6"]:
        budget = BUDGETS[function]
        for seed in range(1, args.seeds + 1):
            traces = {"wandb-gp": wandb_gp_trace(next_sample, function, seed, budget)}
            for method in ["bayes", "tpe", "sobol", "random"]:
                traces[method] = caviar_trace(function, method, seed, budget)
            for method, trace in traces.items():
                for k, best in enumerate(trace):
                    rows.append({"function": function, "method": method, "seed": seed, "evaluations": k + 1,
                                 "regret": best - OPTIMA[function]})
            print(f"{function} seed {seed}: " + ", ".join(f"{m} {t[-1] - OPTIMA[function]:.4g}" for m, t in traces.items()),
                  flush=True)
    with open(os.path.join(out, "functions.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"\n{'function':<10} {'method':<9} {'evals':>5} {'mean':>9} {'median':>9} {'min':>9} {'max':>9}   regret (best - optimum)")
    for function in ["branin", "hartmann6"]:
        for k in sorted({BUDGETS[function] // 2, BUDGETS[function]}):
            for method in ["wandb-gp", "bayes", "tpe", "sobol", "random"]:
                v = [r["regret"] for r in rows if r["function"] == function and r["method"] == method and r["evaluations"] == k]
                print(f"{function:<10} {method:<9} {k:>5} {statistics.mean(v):>9.4f} {statistics.median(v):>9.4f} "
                      f"{min(v):>9.4f} {max(v):>9.4f}")


def sweep(args, next_sample, out):
    """W&B's GP on compare_methods.sh's space: 24 trials of 2 epochs, each proposed from every
    result so far (one agent), each trained by `caviar train` on the sweep's data and split."""
    spec = json.load(open(os.path.join(ROOT, "examples", "compare-methods.json")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.sweep + 1):
            np.random.seed(seed)
            xs, ys = [], []
            for trial in range(spec["trials"]):
                x = next_sample(sample_X=np.array(xs).reshape(len(xs), 2), sample_y=np.array(ys), X_bounds=[[0.0, 1.0]] * 2)[0]
                # W&B's ppf of each parameter: log_uniform_values and uniform.
                lr = float(np.exp(np.log(1e-5) + x[0] * (np.log(1e-1) - np.log(1e-5))))
                dropout = float(0.6 * x[1])
                params = dict(spec["model"], learning_rate=lr, dropout=dropout)
                del params["type"], params["epochs"]
                config = {"trial": trial, "params": params, "seed": seed, "data": spec["data"]}
                path = os.path.join(tmp, "trial.json")
                json.dump(config, open(path, "w"))
                run = subprocess.run([os.path.join(BUILD, "caviar"), "train", path, "--epochs", str(spec["model"]["epochs"]),
                                      "-o", os.path.join(tmp, "model.safetensors")], capture_output=True, text=True)
                val_acc = parse_val_acc(run.stdout + run.stderr)
                xs.append(list(x))
                ys.append(-val_acc)  # next_sample minimises
                rows.append({"seed": seed, "trial": trial, "learning_rate": lr, "dropout": dropout, "val_acc": val_acc})
            best = max(r["val_acc"] for r in rows if r["seed"] == seed)
            print(f"wandb-gp seed {seed}: best val_acc {best:.4f}", flush=True)
    with open(os.path.join(out, "sweep.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    best = [max(r["val_acc"] for r in rows if r["seed"] == s) for s in range(1, args.sweep + 1)]
    sd = statistics.stdev(best) if len(best) > 1 else 0.0
    print(f"\nwandb-gp on compare-methods: best val_acc {statistics.mean(best):.4f} +- {sd:.4f} "
          f"(min {min(best):.4f}, max {max(best):.4f}) over {len(best)} seeds")


def parse_val_acc(text):
    """The last epoch's validation accuracy from caviar train's learning curve."""
    acc = float("nan")
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["epoch"] and "val_acc" in words:
            acc = float(words[words.index("val_acc") + 1])
    if acc != acc:
        sys.exit("compare_bayes.py: no val_acc in caviar train's output:\n" + text)
    return acc


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--sweep", type=int, default=0, help="seeds of the Fashion-MNIST sweep (0: skip it)")
    p.add_argument("--no-functions", action="store_true")
    args = p.parse_args()
    out = os.environ.get("BAYES_OUT", "compare-bayes-out")
    os.makedirs(out, exist_ok=True)
    next_sample = load_wandb_next_sample()
    if not args.no_functions:
        functions(args, next_sample, out)
    if args.sweep:
        sweep(args, next_sample, out)


if __name__ == "__main__":
    main()
