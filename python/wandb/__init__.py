"""caviar's stand-in for W&B's client: a training program written for a W&B sweep runs unchanged
under ``caviar agent sweep.yaml -o DIR``, with no W&B server and no account.

It implements the part of W&B's public API that sweep programs use, over the study instead of a
server (pure Python, the standard library only):

    run = wandb.init(project=..., config=defaults, name=..., tags=..., reinit=..., mode=...)
    wandb.config.lr, wandb.config["lr"], wandb.config.optimizer["beta"], wandb.config.update({...})
    wandb.log({"loss": 0.3, "accuracy": 0.9}, step=None, commit=None)
    run.summary["best"] = 0.93; wandb.define_metric("loss", summary="min")
    wandb.finish() / run.finish(); wandb.run; with wandb.init() as run: ...

Under the agent, ``wandb.config`` holds the trial's sampled values before the program's own
defaults, as under ``wandb agent`` (a value the sweep set is locked: a later update of it is
ignored with a warning, as W&B does). Each committed ``wandb.log`` row that holds the study's
metric ($CAVIAR_METRIC) is a report to the schedule at the next step (the first such row is step
1: W&B's Hyperband counts a run's logged values of the metric the same way), with the latest value
of every key logged so far; the run's summary at ``finish`` (at exit, if the program never calls
it) is its final values. Both go to the agent as caviar_study's metric lines on the process's
stdout. A culled run gets SIGTERM, as under ``wandb agent``.

Outside the agent nothing is sent anywhere: values are kept in memory (``run.history``).

Anything else of W&B's API (wandb.watch, wandb.Image, wandb.Table, wandb.save, wandb.alert,
artifacts, integrations such as wandb.keras) is a no-op that warns once per name; it never raises.
"""

import atexit
import fnmatch
import json
import math
import os
import re
import sys
import tempfile
import time

__version__ = "0.0.0+caviar"
__all__ = ["init", "log", "finish", "define_metric", "config", "run", "summary", "login", "Config", "Run"]

_NAME_BAD = re.compile(r"[^A-Za-z0-9_.:/-]")
_warned = set()


def _warn(what):
    """One line on stderr, once per name."""
    if what in _warned:
        return
    _warned.add(what)
    print(f"wandb (caviar): {what}", file=sys.stderr, flush=True)


class _NoOp:
    """What an unimplemented part of W&B's API gives: callable, any attribute, a context manager,
    iterable (empty); always itself."""

    def __init__(self, name="wandb"):
        object.__setattr__(self, "_name", name)

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _NoOp(f"{self._name}.{attr}")

    def __setattr__(self, attr, value):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __repr__(self):
        return f"<{self._name}: not implemented by caviar's wandb (a no-op)>"


def _not_implemented(name):
    _warn(f"{name} is not implemented here: a no-op")
    return _NoOp(name)


class _AttrDict(dict):
    """A nested config value: a dict that also answers attribute access (W&B's gives plain dicts;
    this is one more way in, never fewer)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _nested(value):
    if isinstance(value, dict) and not isinstance(value, _AttrDict):
        return _AttrDict({k: _nested(v) for k, v in value.items()})
    return value


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Config:
    """wandb.config: attribute and item access, nested values, update. Keys the sweep set are
    locked: a different value for one is ignored (with a warning), as W&B does under its agent."""

    def __init__(self, sweep=None):
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", set())
        for key, value in (sweep or {}).items():
            self._items[key] = _nested(value)
            self._locked.add(key)

    def _set(self, key, value, allow_val_change=False):
        key = str(key)
        if key in self._locked:
            if _plain(self._items[key]) != _plain(value):
                _warn(f"config item '{key}' was set by the sweep (ignored update)")
            return
        self._items[key] = _nested(value)

    def update(self, d=None, allow_val_change=False, **more):
        for key, value in _as_dict(d).items():
            self._set(key, value, allow_val_change)
        for key, value in more.items():
            self._set(key, value, allow_val_change)

    def setdefaults(self, d):
        for key, value in _as_dict(d).items():
            if key not in self._items:
                self._items[key] = _nested(value)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError(f"wandb.config has no {name!r}") from None

    def __setattr__(self, name, value):
        self._set(name, value)

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value):
        self._set(key, value)

    def __delitem__(self, key):
        self._items.pop(key, None)

    def __contains__(self, key):
        return key in self._items

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def keys(self):
        return self._items.keys()

    def values(self):
        return self._items.values()

    def items(self):
        return self._items.items()

    def get(self, key, default=None):
        return self._items.get(key, default)

    def as_dict(self):
        return _plain(self._items)

    def persist(self):
        pass

    def __repr__(self):
        return repr(self.as_dict())


def _as_dict(d):
    """A config given as a dict, an argparse Namespace, a Config, absl-style flags, or None."""
    if d is None:
        return {}
    if isinstance(d, Config):
        return d.as_dict()
    if isinstance(d, dict):
        return d
    if isinstance(d, str):
        return _config_file(d)
    if hasattr(d, "__dict__"):
        return {k: v for k, v in vars(d).items() if not k.startswith("_")}
    return dict(d)


def _config_file(path):
    """A config given as a file's name, as W&B reads it: JSON, or YAML (PyYAML where installed),
    each key's value or, in W&B's config-defaults.yaml shape, its {"value": ...}."""
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            _warn(f"{path}: not JSON, and PyYAML is not installed to read it as YAML: ignored")
            return {}
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        _warn(f"{path}: not a mapping of config values: ignored")
        return {}
    return {k: v["value"] if isinstance(v, dict) and set(v) <= {"value", "desc"} and "value" in v else v
            for k, v in data.items() if k != "wandb_version"}


def _number(value):
    """A logged value as a float, or None for what is not one number (images, tables, text)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)  # torch tensors and numpy scalars of one element
    if callable(item):
        try:
            return float(item())
        except Exception:
            return None
    try:
        return float(value)
    except Exception:
        return None


def _flatten(data, prefix=""):
    """{"val": {"loss": 1}} as W&B's charts name it: {"val.loss": 1}."""
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _metric_name(key):
    """A key as a metric line's name: letters, digits and _.:/- (others become _); epoch, the
    line's own word, becomes _epoch."""
    name = _NAME_BAD.sub("_", str(key))[:128] or "_"
    if not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name[:127]
    return "_epoch" if name == "epoch" else name


class Summary(dict):
    """run.summary: the last value of each key logged (or min, max, mean as define_metric says),
    and whatever the program sets."""

    def update(self, d=None, **more):
        super().update(_as_dict(d), **more)


class Run:
    def __init__(self, project=None, entity=None, name=None, tags=None, notes=None, group=None, job_type=None,
                 config=None, mode=None, dir=None, id=None):
        self.project = project or os.environ.get("WANDB_PROJECT") or "uncategorized"
        self.entity = entity
        trial = os.environ.get("CAVIAR_TRIAL")
        self.id = id or os.environ.get("WANDB_RUN_ID") or f"caviar-{os.getpid()}"
        self.name = name or (f"trial-{trial}" if trial is not None else self.id)
        self.tags = tuple(tags or ())
        self.notes, self.group, self.job_type, self.mode = notes, group, job_type, mode or "offline"
        self.sweep_id = os.environ.get("WANDB_SWEEP_ID")
        self.config = config
        self.summary = Summary()
        self.history = []        # committed rows, each {key: value} with "_step"
        self.step = 0            # the step the next row gets
        self.url = None
        self.path = f"{self.entity or 'caviar'}/{self.project}/{self.id}"
        run_dir = dir or os.environ.get("CAVIAR_RUN_DIR")
        if run_dir:
            os.makedirs(run_dir, exist_ok=True)
        else:
            run_dir = tempfile.mkdtemp(prefix="wandb-caviar-")
        self.dir = run_dir
        self.start_time = time.time()
        self._pending = {}
        self._latest = {}        # the last value of every numeric key logged
        self._reported = 0       # rows with the study's metric sent so far (the schedule's step)
        self._summaries = {}     # define_metric's summary by name (or glob)
        self._goals = {}
        self._finished = False
        self._metric = os.environ.get("CAVIAR_METRIC")
        # The agent's run is the one started with the trial's WANDB_RUN_ID, as under wandb agent: a
        # process the program starts with W&B's variables removed (W&B's cross-validation example
        # does) makes a run of its own, which reports nothing.
        self._agent = bool(os.environ.get("CAVIAR_STUDY")) and bool(os.environ.get("WANDB_RUN_ID")) and mode != "disabled"
        self._sums = {}
        self._counts = {}

    # -- logging ----------------------------------------------------------------------------

    def log(self, data, step=None, commit=None, sync=None):
        if self._finished:
            _warn("log after finish: ignored")
            return
        if not isinstance(data, dict):
            raise TypeError("wandb.log expects a dict")
        if step is not None:
            step = int(step)
            if step < self.step:
                _warn(f"step {step} is before the current step {self.step}: that log is dropped, as W&B drops it")
                return
            if step > self.step:
                self._commit()
                self.step = step
            self._pending.update(_flatten(data))
            if commit:
                self._commit()
        else:
            self._pending.update(_flatten(data))
            if commit is None or commit:
                self._commit()

    def _commit(self):
        if not self._pending:
            return
        row = dict(self._pending, _step=self.step)
        self._pending = {}
        self.history.append(row)
        self.step += 1
        values = {}
        for key, value in row.items():
            if key == "_step":
                continue
            number = _number(value)
            if number is None:
                continue
            values[key] = number
            self._latest[key] = number
            self._summarise(key, number)
        if self._agent and values and (self._metric == "" or self._metric in values):
            self._reported += 1
            self._send(self._reported, self._latest)

    def _summary_mode(self, key):
        for pattern, mode in self._summaries.items():
            if pattern == key or fnmatch.fnmatchcase(key, pattern):
                return mode
        return "last"

    def _summarise(self, key, number):
        modes = self._summary_mode(key)
        if modes == "none":
            return
        self._sums[key] = self._sums.get(key, 0.0) + number
        self._counts[key] = self._counts.get(key, 0) + 1
        for mode in modes.split(","):
            mode = mode.strip()
            if mode in ("min", "max"):
                old = self.summary.get(key)
                if old is None or (number < old if mode == "min" else number > old):
                    self.summary[key] = number
            elif mode == "mean":
                self.summary[key] = self._sums[key] / self._counts[key]
            elif mode == "best":
                old = self.summary.get(key)
                better = old is None or (number > old if self._goal_max(key) else number < old)
                if better:
                    self.summary[key] = number
            else:
                self.summary[key] = number

    def _goal_max(self, key):
        return self._goals.get(key) == "maximize"

    def _send(self, epoch, values):
        """A metric line for the agent (caviar_study's format): the study's metric first, then the
        other keys; values that are not finite are left out but for the metric's own (a diverged
        run: the agent stops it)."""
        import caviar_study  # beside this package on the agent's PYTHONPATH

        line = {}
        for key in ([self._metric] if self._metric else []) + [k for k in values if k != self._metric]:
            if key not in values:
                continue
            value = values[key]
            if key != self._metric and not math.isfinite(value):
                continue
            name = _metric_name(key)
            if name not in line and len(line) < 200:
                line[name] = value
        if line:
            caviar_study.log(epoch, line, file=sys.__stdout__)

    # -- the rest of a run ------------------------------------------------------------------

    def define_metric(self, name, step_metric=None, step_sync=None, hidden=None, summary=None, goal=None,
                      overwrite=None, **kwargs):
        if summary is not None:
            self._summaries[name] = summary
        if goal is not None:
            self._goals[name] = "maximize" if str(goal).startswith("max") else "minimize"
        return _NoOp("wandb.define_metric")

    def finish(self, exit_code=None, quiet=None):
        global run
        if self._finished:
            return
        self._commit()
        self._finished = True
        if self._agent:
            final = {}
            for key, value in self.summary.items():
                number = _number(value)
                if number is not None and (math.isfinite(number) or key == self._metric):
                    final[key] = number
            if final and (exit_code in (None, 0)):
                self._send(None, final)
        if run is self:
            run = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        self.finish(exit_code=1 if kind else 0)
        return False

    def watch(self, *args, **kwargs):
        return _not_implemented("wandb.watch")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _not_implemented(f"run.{name}")

    def __repr__(self):
        return f"<caviar wandb Run {self.name} ({self.project})>"


# -- the module's API ---------------------------------------------------------------------------

def _sweep_values():
    text = os.environ.get("CAVIAR_PARAMS_JSON")
    if not text:
        return {}
    try:
        values = json.loads(text)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


config = Config(_sweep_values())
run = None
_runs_started = []
summary = Summary()


def init(project=None, entity=None, config=None, name=None, tags=None, reinit=None, mode=None, notes=None,
         group=None, job_type=None, dir=None, id=None, resume=None, anonymous=None, settings=None, save_code=None,
         config_exclude_keys=None, config_include_keys=None, allow_val_change=None, sync_tensorboard=None,
         monitor_gym=None, magic=None, force=None, **kwargs):
    """Starts the run: the sweep's values first, then the program's config for the keys the sweep
    does not set. A second init without reinit returns the same run (W&B's default)."""
    global run, summary
    module = sys.modules[__name__]
    if run is not None:
        if not reinit or reinit == "return_previous":
            if config is not None:
                module.config.setdefaults(_as_dict(config))
            return run
        run.finish()
    for key in kwargs:
        _warn(f"wandb.init({key}=...) is not implemented here: ignored")
    given = dict(_as_dict(config))
    if config_include_keys:
        given = {k: v for k, v in given.items() if k in config_include_keys}
    if config_exclude_keys:
        given = {k: v for k, v in given.items() if k not in config_exclude_keys}
    # The first run takes wandb.config as it is (the sweep's values, and anything the program set
    # before init); a run after a finished one starts from the sweep's values again.
    cfg = module.config if not _runs_started else Config(_sweep_values())
    _runs_started.append(True)
    cfg.setdefaults(given)
    module.config = cfg
    r = Run(project=project, entity=entity, name=name, tags=tags, notes=notes, group=group, job_type=job_type,
            config=cfg, mode=mode, dir=dir, id=id)
    run = r
    summary = r.summary
    return r


def log(data, step=None, commit=None, sync=None):
    if run is None:
        raise RuntimeError("You must call wandb.init() before wandb.log()")
    run.log(data, step=step, commit=commit)


def finish(exit_code=None, quiet=None):
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def define_metric(name, step_metric=None, step_sync=None, hidden=None, summary=None, goal=None, overwrite=None,
                  **kwargs):
    if run is None:
        raise RuntimeError("You must call wandb.init() before wandb.define_metric()")
    return run.define_metric(name, step_metric=step_metric, step_sync=step_sync, hidden=hidden, summary=summary,
                             goal=goal, overwrite=overwrite)


def login(*args, **kwargs):
    """Nothing to log in to: True."""
    return True


def join(exit_code=None):
    """W&B's old name for finish."""
    finish(exit_code=exit_code)


def watch(*args, **kwargs):
    return _not_implemented("wandb.watch")


def sweep(sweep, entity=None, project=None, prior_runs=None):
    """Under caviar the sweep is the config given to caviar agent: an id that names nothing."""
    _warn("wandb.sweep is not needed under caviar (caviar agent sweep.yaml -o DIR makes the study): ignored")
    return os.environ.get("WANDB_SWEEP_ID", "caviar")


def agent(sweep_id, function=None, entity=None, project=None, count=None):
    """Under caviar agent each process is one trial: the function runs once, with this trial's
    config (caviar's agent runs the next trials)."""
    if function is not None:
        function()


@atexit.register
def _finish_at_exit():
    # W&B finishes a run the program never finished when the process exits.
    if run is not None:
        run.finish()


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _not_implemented(f"wandb.{name}")


class _StubModule(type(sys)):
    """wandb.keras, wandb.integration.lightning, ...: modules of no-ops."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _not_implemented(f"{self.__name__}.{name}")


class _StubFinder:
    """Imports of W&B's submodules find stubs, so `from wandb.keras import WandbCallback` works."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if not fullname.startswith(__name__ + "."):
            return None
        import importlib.machinery

        return importlib.machinery.ModuleSpec(fullname, _StubFinder, is_package=True)

    @staticmethod
    def create_module(spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    @staticmethod
    def exec_module(module):
        _warn(f"{module.__name__} is not implemented here: its names are no-ops")


sys.meta_path.append(_StubFinder)
