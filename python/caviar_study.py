"""caviar_study: ask-and-tell with a caviar study from Python (pure Python, standard library only).

A study (``caviar study init SPEC -o DIR``) lets caviar's samplers (random, grid, sobol, tpe,
coarse-to-fine) and schedule (successive halving, Hyperband) drive training code caviar does not
run. This module works over the study folder, from any number of processes at once: what changes
the study goes through the ``caviar`` command (``caviar ask``, ``caviar report DIR ID``,
``caviar tell``), which appends to DIR/journal.jsonl under a lock; what reads it reads the journal
directly, without a lock (docs/STUDY.md describes its records).

    import caviar_study

    study = caviar_study.Study("runs/study")          # or Study.create("spec.json", "runs/study")
    while (trial := study.ask()) is not None:         # None: every trial is finished
        model = build(**trial.params)
        for epoch in range(1, trial.epochs + 1):
            acc = train_one_epoch(model)
            if not trial.report(epoch, val_acc=acc):  # the schedule culled it: stop
                break
        else:
            trial.tell()                              # completed, with its last report's values

Under ``caviar agent DIR -- python3 train.py`` the agent asks and tells; the program reads its
trial with ``caviar_study.current()`` and prints its metrics with ``caviar_study.log(...)``.
"""

import json
import os
import subprocess
import sys

__all__ = ["Study", "Trial", "StudyError", "WAIT", "current", "log"]

WAIT = "wait"
"""What ``Study.ask(wait=False)`` returns when nothing can be handed out now."""

# caviar's exit statuses for ask, report and tell.
_STOP = 3  # report, tell: stop this trial; ask: the study is done
_NOTHING_NOW = 4  # ask --no-wait


class StudyError(Exception):
    """caviar refused a request (bad input: exit 2) or failed (exit 1); the message is its line."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


def _number(value):
    # repr of a float reads back exactly; ints stay ints.
    if isinstance(value, bool):
        raise StudyError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _metric_args(metrics):
    args = []
    for name, value in metrics.items():
        args += [f"--{name}", _number(value)]
    return args


class Study:
    """A study folder. ``caviar`` is the caviar command ($CAVIAR, else caviar on PATH)."""

    def __init__(self, path, caviar=None):
        self.path = os.fspath(path)
        self.caviar = caviar or os.environ.get("CAVIAR", "caviar")
        if not os.path.isfile(os.path.join(self.path, "study.json")):
            raise StudyError(f"{self.path}: not a study (no study.json; make one with Study.create or caviar study init)")

    @classmethod
    def create(cls, spec, path, *, seed=None, trials=None, timeout=None, attempts=None, caviar=None):
        """``caviar study init SPEC -o PATH``: a new study of the spec file in a new or empty folder.
        timeout: seconds a trial may go without a word before it is handed out again."""
        caviar = caviar or os.environ.get("CAVIAR", "caviar")
        args = ["study", "init", os.fspath(spec), "-o", os.fspath(path)]
        if seed is not None:
            args += ["--seed", str(int(seed))]
        if trials is not None:
            args += ["-n", str(int(trials))]
        if timeout is not None:
            args += ["--timeout", _number(timeout)]
        if attempts is not None:
            args += ["--attempts", str(int(attempts))]
        _run(caviar, args)
        return cls(path, caviar)

    def ask(self, wait=True, worker=None):
        """The next trial to train (a Trial), or None when the study is done. Without wait, WAIT when
        nothing can be handed out now (the population is out, or a round must finish first)."""
        args = ["ask", self.path] + ([] if wait else ["--no-wait"]) + (["--worker", worker] if worker else [])
        status, out = _run(self.caviar, args, allowed=(0, _STOP, _NOTHING_NOW))
        if status == _STOP:
            return None
        if status == _NOTHING_NOW:
            return WAIT
        return Trial(self, json.loads(out))

    def records(self):
        """Every record of the journal, in order (dicts); a last line still being written is left out."""
        with open(os.path.join(self.path, "journal.jsonl"), "rb") as f:
            data = f.read()
        end = data.rfind(b"\n") + 1
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]

    def trials(self):
        """Every trial handed out so far, by id: {"trial", "params", "attempt", "status" (running,
        completed, culled, failed), "epoch" (last reported or told), "metrics" (the latest),
        "curve" ([(epoch, metrics)] of its current attempt)}."""
        out = {}
        for r in self.records():
            event, i = r.get("event"), r.get("trial")
            if event == "start":
                t = out.setdefault(i, {"trial": i, "params": r["params"], "status": "running", "epoch": 0,
                                       "metrics": {}, "curve": []})
                t.update(attempt=r["attempt"], epoch=0, metrics={}, curve=[])
            elif event == "epoch":
                t = out[i]
                t.update(epoch=r["epoch"], metrics=r["metrics"])
                t["curve"].append((r["epoch"], r["metrics"]))
                if r.get("verdict") == "stop":
                    t["status"] = "culled"
            elif event == "tell":
                t = out[i]
                t.update(status=r["status"], epoch=r["epoch"])
                if r.get("metrics"):
                    t["metrics"] = r["metrics"]
        return out


class Trial:
    """One trial as handed out: id, params, attempt, epochs (its budget), round, bracket, rungs."""

    def __init__(self, study, line):
        self.study = study
        self.id = line["trial"]
        self.params = line["params"]
        self.attempt = line["attempt"]
        self.epochs = line["epochs"]
        self.round = line.get("round", 0)
        self.bracket = line.get("bracket", 0)
        self.rungs = line.get("rungs", [])
        self._stop = False

    def __repr__(self):
        return f"Trial({self.id}, attempt {self.attempt}, {self.params})"

    def _values(self, name, args):
        return [name, self.study.path, str(self.id), "--attempt", str(self.attempt)] + args

    def report(self, epoch, metrics=None, **more):
        """Records the values after ``epoch`` epochs (the spec's metric among them). True: go on;
        False: stop (the schedule culled it, or its attempt is over)."""
        values = dict(metrics or {}, **more)
        status, _ = _run(self.study.caviar, self._values("report", ["--epoch", str(int(epoch))] + _metric_args(values)),
                         allowed=(0, _STOP))
        self._stop = status == _STOP
        return not self._stop

    def should_prune(self):
        """Whether the last report said stop (Optuna's name for it)."""
        return self._stop

    def tell(self, metrics=None, epoch=None, **more):
        """Completes the trial with its final values (none: its last report's). False when there was
        nothing to tell (it was culled, or its attempt is over)."""
        values = dict(metrics or {}, **more)
        args = _metric_args(values) + (["--epoch", str(int(epoch))] if epoch else [])
        status, _ = _run(self.study.caviar, self._values("tell", args), allowed=(0, _STOP))
        return status == 0

    def fail(self, reason=None, metrics=None, **more):
        """The trial failed (a crash, a diverged loss); reason is kept in the journal."""
        values = dict(metrics or {}, **more)
        args = ["--status", "failed"] + (["--reason", str(reason)] if reason else []) + _metric_args(values)
        status, _ = _run(self.study.caviar, self._values("tell", args), allowed=(0, _STOP))
        return status == 0


def _run(caviar, args, allowed=(0,)):
    try:
        p = subprocess.run([caviar] + args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as e:
        raise StudyError(f"cannot run {caviar}: {e.strerror} (set $CAVIAR to the caviar command)", 1) from None
    if p.returncode not in allowed:
        message = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"{caviar} exited {p.returncode}"
        raise StudyError(message.removeprefix("caviar: "), p.returncode)
    return p.returncode, p.stdout


def current():
    """Under ``caviar agent``: the trial this process was started for, as caviar ask printed it
    ({"trial", "params", "attempt", "epochs", ...}); None otherwise."""
    path = os.environ.get("CAVIAR_PARAMS")
    if not path:
        return None
    with open(path) as f:
        return json.load(f)


def log(epoch=None, metrics=None, file=None, **more):
    """Prints a metric line for ``caviar agent`` ("epoch=3 val_acc=0.91"): with an epoch, the values
    after it (the schedule may stop the program with SIGTERM); without, final values."""
    values = dict(metrics or {}, **more)
    if not values:
        raise ValueError("log: no values")
    tokens = ([f"epoch={int(epoch)}"] if epoch is not None else []) + [
        f"{name}={value if isinstance(value, int) and not isinstance(value, bool) else repr(float(value))}"
        for name, value in values.items()]
    print(" ".join(tokens), file=file or sys.stdout, flush=True)


if __name__ == "__main__":  # a quick look: python3 caviar_study.py DIR
    for t in Study(sys.argv[1]).trials().values():
        m = t["metrics"]
        print(t["trial"], t["status"], t["epoch"], json.dumps(m), json.dumps(t["params"]))
