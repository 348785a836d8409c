#!/usr/bin/env python3
"""Pictures of a caviar sweep, written into its output folder (from summary.json and curves.csv):

  curves.png      every trial's validation metric by epoch, coloured by status (legend), a marker on
                  every point so a trial culled after one epoch is a visible dot; rungs dashed
  params.png      the metric against each swept parameter: numbers on their own scale (log axis for
                  log-scale ones, 1 - x on a log axis for one_minus ones), named values (activation,
                  optimizer, ...) and short lists as jittered strips; coloured by status
  history.png     optimization history: each trial's metric in trial order and the best so far
  parallel.png    parallel coordinates: one line per trial across every swept parameter and the
                  metric, coloured by the metric
  importance.png  parameter importance, an estimate: a random forest (scikit-learn) fitted to the
                  metric every trial reached at the first rung, its impurity importances
  rounds.png      coarse-to-fine: each round's samples and zoom box (rounds numbered from 1, as the
                  progress line numbers them)
  lineage.png     PBT: each member's learning rate over time in its own colour (legend), with the
                  copies it made from donors

Needs matplotlib and scikit-learn (Debian: apt-get install python3-matplotlib python3-sklearn; run
it with /usr/bin/python3). Without scikit-learn, importance.png is left out, saying so.
"""
import argparse
import csv
import json
import math
import os
import random
import sys

LOG_SCALES = {"log_uniform", "log_uniform_values", "q_log_uniform", "q_log_uniform_values", "inv_log_uniform",
              "inv_log_uniform_values", "log_normal", "q_log_normal"}
STATUS_COLOURS = {"survived": "#1f77b4", "running": "#9467bd", "culled": "#9a9a9a", "diverged": "#d62728",
                  "failed": "#ff7f0e"}  # failed: a study's trial whose program failed (caviar tell --status failed)
STATUS_ORDER = ["culled", "diverged", "failed", "running", "survived"]  # drawing order: survivors on top
PICTURES = ["curves.png", "params.png", "history.png", "parallel.png", "importance.png", "rounds.png", "lineage.png"]


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="plot_sweep.py",
        description="Write pictures of a caviar sweep (curves, parameters, optimization history, parallel "
                    "coordinates, parameter importance, coarse-to-fine rounds, PBT lineage) into its output folder.",
        epilog="Pictures: " + ", ".join(PICTURES) + ". Each is written when the sweep has what it shows "
               "(rounds.png: coarse-to-fine; lineage.png: PBT). The paths written are printed, one a line.")
    ap.add_argument("dir", metavar="DIR", help="a sweep's output folder (caviar sweep -o DIR): summary.json, curves.csv")
    ap.add_argument("--out", metavar="FOLDER", help="write the pictures here instead of DIR")
    return ap.parse_args(argv)


def load(folder):
    try:
        with open(os.path.join(folder, "summary.json")) as f:
            summary = json.load(f)
        curves = {}
        with open(os.path.join(folder, "curves.csv")) as f:
            for row in csv.DictReader(f):
                curves.setdefault(int(row["trial"]), []).append(
                    (int(row["epoch"]), number(row["val_acc"]), number(row["val_loss"])))
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"plot_sweep.py: {folder}: not a caviar sweep's output ({e})")
    for points in curves.values():
        points.sort()
    return summary, curves


def number(text):
    try:
        return float(text)
    except ValueError:
        return float("nan")


def metric_of(summary):
    spec = summary.get("spec") or {}
    name = (spec.get("metric") or {}).get("name", "val_acc")
    return name, name == "val_acc"


def label(metric):
    return "validation accuracy" if metric == "val_acc" else "validation loss"


def finite(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def swept(summary):
    """The spec's swept parameters, in the spec's order, with how each is drawn."""
    spec = summary.get("spec") or {}
    out = []
    for name, entry in (spec.get("parameters") or {}).items():
        values = [t["params"].get(name) for t in summary["trials"] if name in t.get("params", {})]
        if not values:
            continue
        dist = entry.get("distribution", "") if isinstance(entry, dict) else ""
        categorical = any(isinstance(v, str) for v in values) or (
            isinstance(entry, dict) and "values" in entry and len(entry["values"]) <= 8)
        if categorical:
            kind = "category"
        elif dist == "one_minus_log_uniform_values":
            kind = "one_minus"
        elif dist in LOG_SCALES:
            kind = "log"
        else:
            kind = "linear"
        cats = None
        if kind == "category":
            listed = entry.get("values") if isinstance(entry, dict) else None
            cats = list(listed) if listed else sorted(set(values), key=str)
            for v in values:
                if v not in cats:
                    cats.append(v)
        out.append((name, kind, cats))
    return out


def status_legend(ax, statuses, **kw):
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=STATUS_COLOURS[s], marker="o", linestyle="-", label=s)
               for s in STATUS_ORDER if s in statuses]
    ax.legend(handles=handles, title="status", **kw)


def save(fig, path, written):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt
    plt.close(fig)
    written.append(path)


def plot_curves(plt, summary, curves, metric, out, written):
    status = {t["trial"]: t["status"] for t in summary["trials"]}
    fig, ax = plt.subplots(figsize=(9, 5.5))
    column = 1 if metric == "val_acc" else 2
    seen = set()
    for s in STATUS_ORDER:
        for trial, points in curves.items():
            if status.get(trial) != s:
                continue
            seen.add(s)
            strong = s == "survived"
            ax.plot([p[0] for p in points], [p[column] for p in points], color=STATUS_COLOURS[s],
                    alpha=0.9 if strong else 0.45, linewidth=1.6 if strong else 0.8, marker="o",
                    markersize=3.5 if strong else 3, zorder=3 if strong else 2)
    for rung in summary.get("rungs", []):
        ax.axvline(rung, color="0.3", linestyle="--", linewidth=0.7)
    ax.set_xlabel("epoch")
    ax.set_ylabel(label(metric))
    ax.set_title(f"learning curves of all {len(curves)} trials (a dot: stopped after one epoch; dashed: rungs)")
    status_legend(ax, seen, loc="best", fontsize=8)
    save(fig, out, written)


def coords(kind, cats, values, jitter_seed):
    """x positions for a parameter's values: categories get a jittered strip each."""
    rng = random.Random(jitter_seed)
    if kind == "category":
        return [cats.index(v) + rng.uniform(-0.18, 0.18) for v in values]
    if kind == "one_minus":
        return [1 - v for v in values]
    return list(values)


def plot_params(plt, summary, metric, params, out, written):
    trials = [t for t in summary["trials"] if finite(t.get(metric))]
    if not params or not trials:
        return
    cols = min(3, len(params))
    rows = (len(params) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    seen = set()
    for k, (ax, (name, kind, cats)) in enumerate(zip(axes.flat, params)):
        for s in STATUS_ORDER:
            group = [t for t in trials if t["status"] == s and name in t["params"]]
            if not group:
                continue
            seen.add(s)
            xs = coords(kind, cats, [t["params"][name] for t in group], hash((name, s)) & 0xffff)
            ax.scatter(xs, [t[metric] for t in group], color=STATUS_COLOURS[s], s=16, alpha=0.8,
                       edgecolors="none", zorder=3 if s == "survived" else 2)
        if kind == "category":
            ax.set_xticks(range(len(cats)))
            ax.set_xticklabels([str(c) for c in cats])
            ax.set_xlim(-0.6, len(cats) - 0.4)
        elif kind in ("log", "one_minus"):
            ax.set_xscale("log")
        ax.set_xlabel(f"1 - {name}" if kind == "one_minus" else name)
        if k % cols == 0:
            ax.set_ylabel(label(metric))
    for ax in list(axes.flat)[len(params):]:
        ax.axis("off")
    status_legend(axes.flat[0], seen, fontsize=7, loc="best")
    fig.suptitle(f"{label(metric)} (at the epoch each trial stopped) against each swept parameter")
    save(fig, out, written)


def plot_history(plt, summary, metric, maximize, out, written):
    trials = sorted(summary["trials"], key=lambda t: t["trial"])
    fig, ax = plt.subplots(figsize=(9, 5))
    seen = set()
    for s in STATUS_ORDER:
        group = [t for t in trials if t["status"] == s and finite(t.get(metric))]
        if group:
            seen.add(s)
            ax.scatter([t["trial"] for t in group], [t[metric] for t in group], color=STATUS_COLOURS[s], s=14,
                       zorder=3)
    # Best so far over the trials that finished (survivors): what the sweep would hand back then.
    best, xs, ys = None, [], []
    for t in trials:
        v = t.get(metric)
        if t["status"] == "survived" and finite(v) and (best is None or (v > best if maximize else v < best)):
            best = v
        if best is not None:
            xs.append(t["trial"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="black", linewidth=1.5, label="best survivor so far")
    ax.set_xlabel("trial (in the order trials were drawn)")
    ax.set_ylabel(label(metric))
    ax.set_title("optimization history: each trial's last value, and the best finished trial so far")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=STATUS_COLOURS[s], marker="o", linestyle="", label=s)
               for s in STATUS_ORDER if s in seen]
    if xs:
        handles.append(Line2D([], [], color="black", label="best survivor so far"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    save(fig, out, written)


def normalised(kind, cats, values):
    if kind == "category":
        n = max(1, len(cats) - 1)
        return [cats.index(v) / n for v in values], [str(c) for c in cats]
    xs = [1 - v for v in values] if kind == "one_minus" else list(values)
    if kind in ("log", "one_minus"):
        xs = [math.log10(max(x, 1e-300)) for x in xs]
    lo, hi = min(xs), max(xs)
    span = hi - lo if hi > lo else 1.0
    ticks = None
    return [(x - lo) / span for x in xs], ticks


def plot_parallel(plt, summary, metric, params, out, written):
    import matplotlib as mpl
    trials = [t for t in summary["trials"] if finite(t.get(metric)) and all(p[0] in t["params"] for p in params)]
    if not params or len(trials) < 2:
        return
    columns, names = [], []
    for name, kind, cats in params:
        ys, _ = normalised(kind, cats, [t["params"][name] for t in trials])
        columns.append(ys)
        names.append(("1 - " if kind == "one_minus" else "") + name + (" (log)" if kind in ("log", "one_minus") else ""))
    values = [t[metric] for t in trials]
    lo, hi = min(values), max(values)
    columns.append([(v - lo) / (hi - lo) if hi > lo else 0.5 for v in values])
    names.append(metric)
    fig, ax = plt.subplots(figsize=(max(7, 1.5 * len(names)), 5))
    cmap = mpl.colormaps["viridis" if metric == "val_acc" else "viridis_r"]
    norm = mpl.colors.Normalize(lo, hi)
    order = sorted(range(len(trials)), key=lambda i: values[i] if metric == "val_acc" else -values[i])
    for i in order:
        ax.plot(range(len(names)), [c[i] for c in columns], color=cmap(norm(values[i])), alpha=0.6, linewidth=1)
    for x, (name, kind, cats) in enumerate(params):
        ax.axvline(x, color="0.2", linewidth=0.8)
        if kind == "category":
            n = max(1, len(cats) - 1)
            for j, c in enumerate(cats):
                ax.text(x + 0.04, j / n, str(c), fontsize=7, va="center")
    ax.axvline(len(names) - 1, color="0.2", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    ax.set_yticks([0, 1])
    ax.set_yticklabels(["low", "high"])
    ax.set_title("parallel coordinates: one line per trial, each axis spanning the values swept")
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label(metric))
    save(fig, out, written)


def plot_importance(plt, summary, curves, metric, params, out, written):
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        print("plot_sweep.py: importance.png left out: scikit-learn is missing (apt-get install python3-sklearn)",
              file=sys.stderr)
        return
    column = 1 if metric == "val_acc" else 2
    # Every trial's metric at the first rung (the first epoch every non-diverged trial reached), so
    # trials culled early and survivors are compared after the same training.
    alive = [t for t in summary["trials"] if t["status"] not in ("diverged", "failed") and curves.get(t["trial"])]
    if len(alive) < 8 or not params:
        return
    epoch = min(curves[t["trial"]][-1][0] for t in alive)
    rows, ys = [], []
    for t in alive:
        at = [p[column] for p in curves[t["trial"]] if p[0] == epoch and math.isfinite(p[column])]
        if not at:
            continue
        row = []
        for name, kind, cats in params:
            v = t["params"].get(name)
            if v is None:  # switched off by a "when" condition: a value of its own, below every other
                row.append(-1e3)
            elif kind == "category":
                row.append(cats.index(v) if v in cats else -1)
            elif kind == "one_minus":
                row.append(math.log10(max(1 - v, 1e-300)))
            elif kind == "log":
                row.append(math.log10(max(v, 1e-300)))
            else:
                row.append(float(v))
        rows.append(row)
        ys.append(at[0])
    if len(rows) < 8:
        return
    forest = RandomForestRegressor(n_estimators=200, random_state=0, oob_score=True, min_samples_leaf=2, n_jobs=1)
    forest.fit(rows, ys)
    order = sorted(range(len(params)), key=lambda i: forest.feature_importances_[i])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(params) + 1.8))
    ax.barh([params[i][0] for i in order], [forest.feature_importances_[i] for i in order], color="#1f77b4")
    ax.set_xlabel("importance (share of the forest's variance reduction)")
    ax.set_title(f"parameter importance, an estimate: random forest on {metric} after {epoch} epoch(s),\n"
                 f"{len(rows)} trials, out-of-bag R\u00b2 {forest.oob_score_:.2f}", fontsize=10)
    save(fig, out, written)


def plot_rounds(plt, summary, metric, out, written):
    from matplotlib.patches import Rectangle
    rounds = summary.get("rounds", [])
    if len(rounds) < 2:
        return
    spec = summary.get("spec") or {}
    kinds = {name: kind for name, kind, _ in swept(summary)}
    names = [n for n, b in rounds[0]["box"].items() if isinstance(b, dict) and "min" in b and n in kinds
             and kinds[n] != "category"][:2]
    if not names:
        return
    fig, ax = plt.subplots(figsize=(7, 6))

    def coord(name, value):
        return 1 - value if kinds[name] == "one_minus" else value

    for r in rounds:
        colour = f"C{r['round'] % 10}"
        # Trials where a "when" condition switched a plotted parameter off have no point here.
        trials = [t for t in summary["trials"] if t.get("round") == r["round"] and all(n in t["params"] for n in names)]
        xs = [coord(names[0], t["params"][names[0]]) for t in trials]
        ys = ([coord(names[1], t["params"][names[1]]) for t in trials] if len(names) > 1
              else [t.get(metric) for t in trials])
        ax.scatter(xs, ys, color=colour, s=16, label=f"round {r['round'] + 1}")
        bx = sorted(coord(names[0], r["box"][names[0]][k]) for k in ("min", "max"))
        if len(names) > 1:
            by = sorted(coord(names[1], r["box"][names[1]][k]) for k in ("min", "max"))
            ax.add_patch(Rectangle((bx[0], by[0]), bx[1] - bx[0], by[1] - by[0], fill=False, edgecolor=colour))
        else:
            ax.axvspan(bx[0], bx[1], color=colour, alpha=0.08)
    if kinds[names[0]] in ("log", "one_minus"):
        ax.set_xscale("log")
    if len(names) > 1 and kinds[names[1]] in ("log", "one_minus"):
        ax.set_yscale("log")
    ax.set_xlabel(("1 - " if kinds[names[0]] == "one_minus" else "") + names[0])
    ax.set_ylabel((("1 - " if kinds[names[1]] == "one_minus" else "") + names[1]) if len(names) > 1 else label(metric))
    ax.legend(title="coarse to fine")
    ax.set_title("coarse to fine: each round's samples and its search box")
    del spec
    save(fig, out, written)


def plot_lineage(plt, summary, out, written):
    trials = sorted((t for t in summary["trials"] if t.get("lineage")), key=lambda t: t["trial"])
    if not trials:
        return
    import matplotlib as mpl
    by_id = {t["trial"]: t for t in summary["trials"]}
    end = max(t["epochs"] for t in trials)
    cmap = mpl.colormaps["tab20"] if len(trials) > 10 else mpl.colormaps["tab10"]
    colour = {t["trial"]: cmap(i % cmap.N) for i, t in enumerate(trials)}
    fig, ax = plt.subplots(figsize=(10, 5.5))
    copies = 0
    for t in trials:
        events = t["lineage"]
        for i, e in enumerate(events):
            stop = events[i + 1]["epoch"] if i + 1 < len(events) else end
            lr = e["params"]["learning_rate"]
            ax.plot([e["epoch"], stop], [lr, lr], color=colour[t["trial"]], linewidth=1.8,
                    label=f"trial {t['trial']}" if i == 0 else None)
            if e.get("from") is not None and e["from"] in by_id:
                donor = by_id[e["from"]]
                before = [d for d in donor.get("lineage") or [] if d["epoch"] <= e["epoch"]]
                donor_lr = before[-1]["params"]["learning_rate"] if before else lr
                ax.annotate("", xy=(e["epoch"], lr), xytext=(e["epoch"], donor_lr),
                            arrowprops={"arrowstyle": "->", "color": colour[e["from"]], "linewidth": 1.2})
                copies += 1
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"PBT lineage: each member's learning rate; {copies} arrows, each a copy from a donor "
                 "(in the donor's colour)")
    ax.legend(title="member", fontsize=7, ncol=2 if len(trials) > 12 else 1, loc="center left",
              bbox_to_anchor=(1.01, 0.5))
    save(fig, out, written)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_sweep.py: matplotlib is missing (apt-get install python3-matplotlib; run with /usr/bin/python3)")
    summary, curves = load(args.dir)
    out = args.out or args.dir
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        sys.exit(f"plot_sweep.py: {out}: cannot create the folder: {e.strerror}")
    if not os.access(out, os.W_OK):
        sys.exit(f"plot_sweep.py: {out}: not writable")
    metric, maximize = metric_of(summary)
    params = swept(summary)
    written = []
    plot_curves(plt, summary, curves, metric, os.path.join(out, "curves.png"), written)
    plot_params(plt, summary, metric, params, os.path.join(out, "params.png"), written)
    plot_history(plt, summary, metric, maximize, os.path.join(out, "history.png"), written)
    plot_parallel(plt, summary, metric, params, os.path.join(out, "parallel.png"), written)
    plot_importance(plt, summary, curves, metric, params, os.path.join(out, "importance.png"), written)
    plot_rounds(plt, summary, metric, os.path.join(out, "rounds.png"), written)
    plot_lineage(plt, summary, os.path.join(out, "lineage.png"), written)
    print("\n".join(written))


if __name__ == "__main__":
    main()
