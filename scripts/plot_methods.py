#!/usr/bin/env python3
"""scripts/plot_methods.py RESULTS.csv OUT.png: the method comparison of scripts/compare_methods.sh
as a strip plot: every seed's best validation accuracy per method, with the mean and one standard
deviation. Needs matplotlib (Debian: python3-matplotlib; run with /usr/bin/python3)."""
import csv
import statistics
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("plot_methods.py: matplotlib is missing (apt-get install python3-matplotlib; run with /usr/bin/python3)")

if len(sys.argv) != 3:
    sys.exit("usage: plot_methods.py RESULTS.csv OUT.png")
rows = list(csv.DictReader(open(sys.argv[1])))
methods = [m for m in ["random", "grid", "sobol", "tpe", "bayes", "coarse-to-fine"] if any(r["method"] == m for r in rows)]
fig, ax = plt.subplots(figsize=(7, 4))
for i, m in enumerate(methods):
    v = [float(r["best_val_acc"]) for r in rows if r["method"] == m]
    ax.scatter([i + (k - (len(v) - 1) / 2) * 0.06 for k in range(len(v))], v, s=18, alpha=0.7)
    mean = statistics.mean(v)
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    ax.errorbar([i + 0.3], [mean], yerr=[sd], fmt="o", color="black", capsize=4)
ax.set_xticks(range(len(methods)))
ax.set_xticklabels(methods)
ax.set_ylabel("best validation accuracy")
seeds = len({r["seed"] for r in rows})
ax.set_title(f"Same budget, {seeds} seeds: each dot a seed, black the mean +- sd")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=120)
print(f"wrote {sys.argv[2]}")
