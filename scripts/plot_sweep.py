#!/usr/bin/env python3
"""Pictures of a caviar sweep: scripts/plot_sweep.py DIR writes PNGs into DIR (its summary.json
and curves.csv are read):

  curves.png   every trial's validation accuracy by epoch; culled and diverged trials faded,
               the rungs marked
  params.png   final validation accuracy against each numeric parameter on its own scale
               (log axis for log-scale parameters; 1 - beta on a log axis for one_minus ones)
  rounds.png   coarse-to-fine: each round's sampled points and its zoom box (two parameters)
  lineage.png  PBT: each member's learning rate over time, with the copies it made

Needs matplotlib (Debian: apt-get install python3-matplotlib; run it with /usr/bin/python3).
"""
import csv
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
except ImportError:
    sys.exit("plot_sweep.py: matplotlib is missing (apt-get install python3-matplotlib; run with /usr/bin/python3)")

LOG_SCALES = {"log_uniform", "log_uniform_values", "q_log_uniform", "q_log_uniform_values", "inv_log_uniform",
              "inv_log_uniform_values", "log_normal", "q_log_normal"}
NUMERIC = {"learning_rate", "beta1", "beta2", "epsilon", "l2", "dropout", "lr_decay", "hidden", "layers", "batch_size"}


def load(folder):
    with open(os.path.join(folder, "summary.json")) as f:
        summary = json.load(f)
    curves = {}
    with open(os.path.join(folder, "curves.csv")) as f:
        for row in csv.DictReader(f):
            curves.setdefault(int(row["trial"]), []).append((int(row["epoch"]), float(row["val_acc"])))
    return summary, curves


def axis_of(name, spec):
    """How a parameter is drawn: 'log', 'one_minus' or 'linear', from the spec's distribution."""
    entry = spec.get("parameters", {}).get(name, {})
    dist = entry.get("distribution", "")
    if dist == "one_minus_log_uniform_values":
        return "one_minus"
    return "log" if dist in LOG_SCALES else "linear"


def plot_curves(summary, curves, out):
    fig, ax = plt.subplots(figsize=(9, 5.5))
    status = {t["trial"]: t["status"] for t in summary["trials"]}
    for trial, points in curves.items():
        points.sort()
        survived = status.get(trial) == "survived"
        ax.plot([p[0] for p in points], [p[1] for p in points], color="C0" if survived else "0.6",
                alpha=0.95 if survived else 0.35, linewidth=1.8 if survived else 0.8, zorder=3 if survived else 2)
    for rung in summary.get("rungs", []):
        ax.axvline(rung, color="C3", linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("learning curves: survivors in blue, culled faded, rungs dashed")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_params(summary, out):
    spec = summary.get("spec") or {}
    trials = [t for t in summary["trials"] if t.get("val_acc") is not None]
    names = [n for n in spec.get("parameters", {}) if n in NUMERIC
             and len({t["params"][n] for t in trials}) > 1]
    if not names:
        return False
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        scale = axis_of(name, spec)
        xs = [t["params"][name] for t in trials]
        if scale == "one_minus":
            xs = [1 - x for x in xs]
        colors = ["C0" if t["status"] == "survived" else "0.55" for t in trials]
        ax.scatter(xs, [t["val_acc"] for t in trials], c=colors, s=18)
        if scale in ("log", "one_minus"):
            ax.set_xscale("log")
        ax.set_xlabel(f"1 - {name}" if scale == "one_minus" else name)
        ax.set_ylabel("validation accuracy")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("validation accuracy against each parameter, on its own scale")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return True


def plot_rounds(summary, out):
    rounds = summary.get("rounds", [])
    if len(rounds) < 2:
        return False
    spec = summary.get("spec") or {}
    names = [n for n, b in rounds[0]["box"].items() if "min" in b and n in NUMERIC][:2]
    if not names:
        return False
    fig, ax = plt.subplots(figsize=(7, 6))
    scales = [axis_of(n, spec) for n in names]

    def coord(name, scale, value):
        return 1 - value if scale == "one_minus" else value

    for r in rounds:
        color = f"C{r['round'] % 10}"
        trials = [t for t in summary["trials"] if t.get("round") == r["round"]]
        xs = [coord(names[0], scales[0], t["params"][names[0]]) for t in trials]
        ys = ([coord(names[1], scales[1], t["params"][names[1]]) for t in trials] if len(names) > 1
              else [t["val_acc"] for t in trials])
        ax.scatter(xs, ys, color=color, s=16, label=f"round {r['round']}")
        bx = sorted(coord(names[0], scales[0], r["box"][names[0]][k]) for k in ("min", "max"))
        if len(names) > 1:
            by = sorted(coord(names[1], scales[1], r["box"][names[1]][k]) for k in ("min", "max"))
            ax.add_patch(Rectangle((bx[0], by[0]), bx[1] - bx[0], by[1] - by[0], fill=False, edgecolor=color))
        else:
            ax.axvspan(bx[0], bx[1], color=color, alpha=0.08)
    if scales[0] in ("log", "one_minus"):
        ax.set_xscale("log")
    if len(names) > 1 and scales[1] in ("log", "one_minus"):
        ax.set_yscale("log")
    ax.set_xlabel(("1 - " if scales[0] == "one_minus" else "") + names[0])
    ax.set_ylabel((("1 - " if scales[1] == "one_minus" else "") + names[1]) if len(names) > 1 else "validation accuracy")
    ax.legend()
    ax.set_title("coarse to fine: each round's samples and zoom box")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return True


def plot_lineage(summary, out):
    trials = [t for t in summary["trials"] if t.get("lineage")]
    if not trials:
        return False
    by_id = {t["trial"]: t for t in summary["trials"]}
    end = max(t["epochs"] for t in trials)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for t in trials:
        events = t["lineage"]
        for i, e in enumerate(events):
            stop = events[i + 1]["epoch"] if i + 1 < len(events) else end
            lr = e["params"]["learning_rate"]
            ax.plot([e["epoch"], stop], [lr, lr], color=f"C{t['trial'] % 10}", linewidth=1.5)
            if e.get("from") is not None:
                donor = by_id[e["from"]]
                donor_lr = next(d["params"]["learning_rate"] for d in reversed(donor["lineage"]) if d["epoch"] <= e["epoch"])
                ax.annotate("", xy=(e["epoch"], lr), xytext=(e["epoch"], donor_lr),
                            arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("PBT lineage: learning rate of each member; arrows are copies from a donor")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: plot_sweep.py DIR")
    folder = sys.argv[1]
    summary, curves = load(folder)
    written = [os.path.join(folder, "curves.png")]
    plot_curves(summary, curves, written[0])
    for name, fn in (("params.png", plot_params), ("rounds.png", plot_rounds), ("lineage.png", plot_lineage)):
        path = os.path.join(folder, name)
        if fn(summary, path):
            written.append(path)
    print("\n".join(written))


if __name__ == "__main__":
    main()
