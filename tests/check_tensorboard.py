#!/usr/bin/env python3
"""Reads a caviar sweep's TensorBoard event files with TensorBoard's own loaders and checks them
against the sweep's outputs: every trial's scalars (train_loss, val_loss, the metric) equal
curves.csv at every epoch, with no step twice; the HParams plugin (its data provider and
list-session-groups handler, as the dashboard calls them) lists every trial that trained, with its
swept parameters equal to summary.json's and its status; and the experiment names every swept
parameter and the metric.

  check_tensorboard.py TB_DIR OUT_DIR     prints {"trials": n, "points": n}; exit 1 with a reason
Exit 77 (skipped) where tensorboard cannot be imported (scripts/setup.sh installs it in .venv)."""
import csv
import json
import math
import os
import sys
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    from tensorboard.backend.event_processing import data_provider, event_accumulator, plugin_event_multiplexer
    from tensorboard import context
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups, metadata
except Exception as e:  # noqa: BLE001 (any import failure means: not installed here)
    print(f"check_tensorboard.py: skipped: tensorboard cannot be imported ({e})")
    sys.exit(77)


def fail(why):
    sys.exit(f"check_tensorboard.py: {why}")


def close(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or abs(a - b) <= 1e-6 * max(1.0, abs(b))


def main():
    tb, out = sys.argv[1], sys.argv[2]
    summary = json.load(open(os.path.join(out, "summary.json")))
    metric = summary["metric"]
    curves = {}
    with open(os.path.join(out, "curves.csv")) as f:
        for row in csv.DictReader(f):
            curves.setdefault(int(row["trial"]), []).append(row)
    trials = {t["trial"]: t for t in summary["trials"] if t["epochs"] > 0}
    points = 0
    for tid, t in trials.items():
        run = os.path.join(tb, f"trial-{tid}")
        acc = event_accumulator.EventAccumulator(run, size_guidance={event_accumulator.SCALARS: 0})
        acc.Reload()
        tags = acc.Tags()["scalars"]
        for tag, column in (("train_loss", "train_loss"), ("val_loss", "val_loss"), ("val_acc", "val_acc")):
            if tag == "val_acc" and metric != "val_acc":
                continue
            if tag not in tags:
                fail(f"{run}: no {tag} scalars (has {tags})")
            got = acc.Scalars(tag)
            want = curves[tid]
            steps = [e.step for e in got]
            if steps != [int(r["epoch"]) for r in want]:
                fail(f"{run}: {tag} steps {steps}, curves.csv has epochs {[int(r['epoch']) for r in want]}")
            for e, r in zip(got, want):
                if not close(e.value, float(r[column])):
                    fail(f"{run}: {tag} at step {e.step} is {e.value}, curves.csv says {r[column]}")
            points += len(got)
        if "learning_rate" not in tags or len(acc.Scalars("learning_rate")) != len(curves[tid]):
            fail(f"{run}: learning_rate missing or not one per epoch")

    # The HParams dashboard's view, through its own backend.
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(tb)
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, tb)
    tb_context = base_plugin.TBContext(logdir=tb, multiplexer=mux, data_provider=provider)
    backend = backend_context.Context(tb_context)
    ctx = context.RequestContext()
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=1 << 20,
        allowed_statuses=[api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING])
    response = list_session_groups.Handler(ctx, backend, "", request).run()
    groups = {g.name: g for g in response.session_groups}
    swept = set()
    content = backend.hparams_metadata(ctx, "")
    experiment = None
    for run, tags in content.items():
        if metadata.EXPERIMENT_TAG in tags:
            experiment = metadata.parse_experiment_plugin_data(tags[metadata.EXPERIMENT_TAG])
    if experiment is None:
        fail("no HParams experiment record")
    swept = {h.name for h in experiment.hparam_infos}
    if metric not in {m.name.tag for m in experiment.metric_infos}:
        fail(f"the experiment's metrics {[m.name.tag for m in experiment.metric_infos]} lack {metric}")
    statuses = {"survived": api_pb2.STATUS_SUCCESS, "culled": api_pb2.STATUS_SUCCESS,
                "diverged": api_pb2.STATUS_FAILURE, "running": api_pb2.STATUS_UNKNOWN}
    for tid, t in trials.items():
        g = groups.get(f"trial-{tid}")
        if g is None:
            fail(f"the HParams dashboard has no session trial-{tid} (it has {sorted(groups)[:5]}...)")
        for name, value in t["params"].items():
            if name not in swept:
                continue
            hv = g.hparams.get(name)
            if hv is None:
                fail(f"trial-{tid}: hparam {name} missing")
            got = hv.string_value if isinstance(value, str) else hv.number_value
            if (got != value) if isinstance(value, str) else not close(got, value):
                fail(f"trial-{tid}: hparam {name} is {got}, summary.json says {value}")
        session = g.sessions[0]
        if session.status != statuses[t["status"]]:
            fail(f"trial-{tid}: status {session.status}, summary.json says {t['status']}")
        values = {m.name.tag: m.value for m in session.metric_values}
        if metric == "val_acc" and not close(values.get("val_acc", float("nan")), float(curves[tid][-1]["val_acc"])):
            fail(f"trial-{tid}: the dashboard's val_acc {values.get('val_acc')} is not its last epoch's")
    print(json.dumps({"trials": len(trials), "points": points, "sessions": len(groups)}))


if __name__ == "__main__":
    main()
