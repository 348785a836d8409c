#!/usr/bin/env python3
"""README.md, word for word, against the build under test (issue 36). Every fenced block and every
command written inline is found, run in a fresh folder laid out as a clone of this repository (its
folders linked, build/caviar the binary under test), and what the README says it prints or leaves
is checked. A block, a line of a block or an inline command this script does not know fails the
test: the README cannot gain a command nobody ran, nor keep one that no longer works.

Where running the README's words as written would take long or reach outside this machine, they
run with these substitutions (README's "The README is tested" lists them too):

  SMALL       Fashion-MNIST's shape in small: a synthetic IDX folder (`caviar synth`: 600 training
              and 200 test examples of 784 byte features, 10 classes). The default sweep,
              `-o runs/a`, bench and the panda runs of the default spec's trials take `--data SMALL`.
              What the README says of the default sweep (36 trials, culled 36 -> 12 -> 4 -> 1 at
              epochs 1, 3, 9 and 27, the survivor trained to 40, the outputs it leaves, the swept
              parameters) is checked on it; its measured figures (the test accuracy, the minutes)
              are measurements of Fashion-MNIST itself (docs/PERF.md) and are not.
  scripts/setup.sh            scripts/setup.sh --check: every package it installs is installed
                              (it builds nothing; the build under test is what it builds)
  scripts/test.sh             bash -n: it parses (it is the command that runs this test)
  scripts/fuzz.sh M [T ...]   FUZZ_PLAN=1: each target's share of M minutes, which must add up to M
                              (no clang build, no fuzzing)
  cmake -S . -B build ...     configured in a scratch folder with the README's options
  cmake --build build -j      the build under test (scripts/test.sh makes it with these commands)
  ctest --test-dir build      ctest -N on the build under test (running it would run this test)
  random_vs_grid.sh, compare_methods.sh N
                              CAVIAR=<binary> SWEEP_FLAGS="--data SMALL", one seed: the tables' form
                              and what the README says of them (the grid's 5 learning rates
                              against random search's 25); the numbers are docs/PERF.md's
  srun --mpi=pmix caviar      (the Slurm script) mpirun -np 2 --oversubscribe caviar, as root with
                              OMPI_ALLOW_RUN_AS_ROOT (one process in a build without MPI); its
                              spec.json a small sweep on SMALL; stopped by kill -USR1 to mpirun and
                              resumed by the same script
  placeholders                DIR, OUT: the default sweep's folder (or one stopped on purpose);
                              MODEL: its best model; CONFIG.json, LINE.json: a line of
                              `caviar sample`; SPEC: a small spec; K: 2

Not run here, each with its reason (the check still fails if the README's text changes):
  scripts/device-prepare.sh, scripts/device-check.sh   need the CUDA build: tests/device_check_dry_run.sh
                                                       runs both there
  mpirun --map-by slot:PE=4 ... -np 8 ...              needs 32 cores
  scancel --signal=USR1 JOBID                          needs Slurm (it sends the ranks SIGUSR1:
                                                       kill -USR1 to mpirun is checked instead)

usage: check_readme.py CAVIAR README.md [MPIEXEC]"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

caviar = os.path.realpath(sys.argv[1])
readme = os.path.realpath(sys.argv[2])
mpiexec = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
repo = os.path.dirname(readme)
system_python = "/usr/bin/python3"
failures = []


def fail(where, why):
    failures.append(f"README.md:{where}: {why}")


def run(cmd, cwd, timeout=900, env=None, check=True, where="?"):
    """cmd through bash in cwd; a failure (when check) is recorded with its output."""
    full = dict(os.environ, **(env or {}))
    try:
        r = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full)
    except subprocess.TimeoutExpired:
        fail(where, f"`{cmd}` ran past {timeout} s")
        return subprocess.CompletedProcess(cmd, -1, "", "")
    if check and r.returncode != 0:
        fail(where, f"`{cmd}` exited {r.returncode}: {(r.stderr or r.stdout).strip()[-600:]}")
    return r


# ---- the README, taken apart ----

text = open(readme).read()
lines = text.split("\n")
blocks = []  # (line, lang, body, marker)
i = 0
while i < len(lines):
    m = re.match(r"^```(\w*)\s*$", lines[i])
    if m:
        start, lang = i + 1, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        marker = lines[i - 1].strip() if i > 0 and lines[i - 1].strip().startswith("<!--") else \
            (lines[i - 2].strip() if i > 1 and lines[i - 2].strip().startswith("<!--") else "")
        blocks.append((start, lang, "\n".join(lines[i + 1:j]), marker))
        i = j + 1
        continue
    i += 1

# Inline code outside the fences, joined across line breaks, with the line it starts on.
prose = text
for start, lang, body, marker in blocks:
    prose = prose.replace("```" + lang + "\n" + body + "\n```", "\n" * (body.count("\n") + 2))
inline = []
for m in re.finditer(r"`([^`]+)`", prose):
    span = re.sub(r"\s+", " ", m.group(1)).strip()
    line = prose.count("\n", 0, m.start()) + 1
    if re.match(r"^(build/caviar|caviar|scripts/\S+\.(sh|py)|/usr/bin/python3|mpirun|srun|kill|scancel|cmake|ctest)"
                r"( |$)", span):
        inline.append((line, span))

# ---- a fresh clone: the repository's folders linked, build/caviar the binary under test ----

work = tempfile.mkdtemp(prefix="caviar-readme-")
clone = os.path.join(work, "clone")
os.makedirs(os.path.join(clone, "build"))
for name in os.listdir(repo):
    if name.startswith(".") or name.startswith("build"):
        continue
    os.symlink(os.path.join(repo, name), os.path.join(clone, name))
os.symlink(caviar, os.path.join(clone, "build", "caviar"))
small = os.path.join(work, "small")
run(f"build/caviar synth {small} --features 784 --train 600 --test 200 --classes 10", clone, where="setup")
images = os.path.join(work, "images")
small_spec = os.path.join(work, "small.json")
json.dump({"method": "random", "trials": 4, "seed": 3, "data": {"dir": small},
           "model": {"hidden": 16, "batch_size": 32, "epochs": 3},
           "parameters": {"learning_rate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-2}},
           "early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 3, "eta": 2}},
          open(small_spec, "w"))
state = {}  # what earlier commands left for later ones


def test_acc(output):
    m = re.search(r"test_acc (\S+)", output)
    return float(m.group(1)) if m else None


def eval_acc(model, where):
    return test_acc(run(f"build/caviar eval {model}", clone, where=where).stdout)


# ---- the commands of the fenced sh blocks, line by line ----

def default_sweep(where, comment):
    """scripts/setup.sh && build/caviar sweep, and what the README says of the default sweep."""
    run("scripts/setup.sh --check", clone, where=where)
    r = run(f"build/caviar sweep --data {small}", clone, where=where)
    out = os.path.join(clone, "caviar-out")
    for name in ("summary.json", "curves.csv", "best"):
        if not os.path.exists(os.path.join(out, name)):
            fail(where, f"the default sweep left no caviar-out/{name}")
            return
    s = json.load(open(os.path.join(out, "summary.json")))
    state["default"] = s
    trials = s["trials"]
    spec = s["spec"]
    reached = lambda e: sum(1 for t in trials if t["epochs"] >= e)
    said = {"trials": 36, "rungs": [1, 3, 9, 27], "reached": [(1, 36), (3, 12), (9, 4), (27, 1), (40, 1)]}
    if len(trials) != said["trials"]:
        fail(where, f"the default sweep trains {len(trials)} trials, the README says 36")
    if s["rungs"] != said["rungs"]:
        fail(where, f"the default sweep's rungs are {s['rungs']}, the README says epochs 1, 3, 9 and 27")
    for epoch, n in said["reached"]:
        if reached(epoch) != n:
            fail(where, f"{reached(epoch)} trials reached epoch {epoch}, the README says {n} (36 -> 12 -> 4 -> 1, "
                        "the last trained to 40)")
    values = {}
    for t in trials:
        for name, v in t["params"].items():
            values.setdefault(name, set()).add(json.dumps(v))
    if values.get("layers") != {"2"} or values.get("hidden") != {"512"} or spec.get("method") != "sobol":
        fail(where, f"the default sweep is not two-layer MLPs of 512 units drawn by Sobol points: layers "
                    f"{values.get('layers')}, hidden {values.get('hidden')}, method {spec.get('method')}")
    swept = {name for name, seen in values.items() if len(seen) > 1}
    if swept != {"learning_rate", "beta1", "beta2", "dropout", "lr_decay", "l2"}:
        fail(where, f"the default spec sweeps {sorted(swept)}, the README says learning rate, betas, dropout, "
                    "lr decay and l2")
    if "rank" not in r.stdout or "Ranked:" not in r.stdout:
        fail(where, "the default sweep printed no leaderboard with its ranking rule")


def line_test_sh(where, comment=None):
    if not os.access(os.path.join(repo, "scripts/test.sh"), os.X_OK):
        fail(where, "scripts/test.sh is not executable")
    run("bash -n scripts/test.sh", clone, where=where)


def line_fuzz(where, comment, minutes, targets=None):
    r = run(f"FUZZ_PLAN=1 scripts/fuzz.sh {minutes} {' '.join(targets or [])}", clone, where=where)
    shares = dict(l.split() for l in r.stdout.strip().split("\n") if l)
    total = int(shares.pop("total", -1))
    expected = targets or ["spec", "spec_yaml", "idx", "csv", "model", "checkpoint", "study"]
    if sorted(shares) != sorted(expected):
        fail(where, f"fuzz.sh would fuzz {sorted(shares)}, not {expected}")
    spent = sum(int(v) for v in shares.values())
    if total != int(minutes) * 60 or (int(minutes) * 60 >= 5 * len(expected) and spent != total):
        fail(where, f"fuzz.sh {minutes} shares {spent} s of {total} s among the targets, not {minutes} minutes in all")
    if comment is not None and "in all" not in comment:
        fail(where, f"the comment does not say the {minutes} minutes are in all: {comment}")


def line_spec(where, comment):
    run("build/caviar spec > my-sweep.json", clone, where=where)
    json.load(open(os.path.join(clone, "my-sweep.json")))


def line_sample(where, comment, n):
    r = run(f"build/caviar sample my-sweep.json -n {n}", clone, where=where)
    rows = [json.loads(l) for l in r.stdout.strip().split("\n")]
    if len(rows) != int(n) or [row["trial"] for row in rows] != list(range(int(n))):
        fail(where, f"caviar sample -n {n} printed {len(rows)} trials")
    state["line"] = r.stdout.split("\n")[0]


def line_sweep_runs(where, comment):
    if os.path.exists(os.path.join(clone, "runs")):
        fail(where, "runs/ exists before the sweep: the check of -o making it would prove nothing")
    run(f"build/caviar sweep my-sweep.json -o runs/a --data {small}", clone, where=where)
    if not os.path.exists(os.path.join(clone, "runs/a/summary.json")):
        fail(where, "caviar sweep -o runs/a left no runs/a/summary.json")


def line_eval_glob(where, comment):
    models = glob.glob(os.path.join(clone, "runs/a/best/trial-*.safetensors"))
    if len(models) != 1:
        fail(where, f"runs/a/best holds {len(models)} models; the README says the spec keeps one")
    r = run("build/caviar eval runs/a/best/trial-*.safetensors", clone, where=where)
    s = json.load(open(os.path.join(clone, "runs/a/summary.json")))
    acc = test_acc(r.stdout)
    if acc is None or abs(acc - s["best"]["test_acc"]) > 6e-5:
        fail(where, f"caviar eval says test_acc {acc}, the sweep's survivor had {s['best']['test_acc']}")


def line_bench(where, comment, models, hidden):
    r = run(f"build/caviar bench --models {models} --hidden {hidden} --data {small}", clone, where=where)
    if "model-samples/s" not in r.stdout or "SGEMM" not in r.stdout + r.stderr:
        fail(where, f"bench printed no speed against the SGEMM ceiling: {r.stdout[-300:]}")


def line_info(where, comment):
    r = run("build/caviar info", clone, where=where)
    if not re.search(r"blas \(cpu\): OpenBLAS \S+, kernel \S+", r.stdout):
        fail(where, f"caviar info names no BLAS kernel: {r.stdout}")


def line_cmake_configure(where, comment, options):
    run(f"cmake -S . -B {work}/build-readme {options}", clone, timeout=600, where=where)
    if not os.path.exists(os.path.join(work, "build-readme", "CMakeCache.txt")):
        fail(where, "cmake configured nothing")


def line_cmake_build(where, comment):
    # The build under test: scripts/test.sh made it with this command.
    r = run("build/caviar --version", clone, where=where)
    if not r.stdout.startswith("caviar "):
        fail(where, "the build under test does not run")


def line_ctest(where, comment):
    build_dir = os.path.dirname(caviar)
    r = run(f"ctest --test-dir {build_dir} -N", clone, where=where)
    if "readme" not in r.stdout:
        fail(where, "ctest lists no README test")


def line_agent(where, comment, resume):
    """caviar agent sweep.yaml: a W&B-shaped program and its config (tests/wandb's) as sweep.yaml in
    the clone; the first run makes runs/w and finishes it, --resume goes on with it (done: exit 0)."""
    if not os.path.exists(os.path.join(clone, "sweep.yaml")):
        text = open(os.path.join(repo, "tests/wandb/sweep_config.yaml")).read()
        open(os.path.join(clone, "sweep.yaml"), "w").write(text)
        shutil.copy(os.path.join(repo, "tests/wandb/train_config.py"), os.path.join(clone, "train_config.py"))
    r = run(f"build/caviar agent sweep.yaml -o runs/w {'--resume' if resume else '-j 4'}", clone, where=where)
    s = json.load(open(os.path.join(clone, "runs/w/summary.json")))
    statuses = sorted({t["status"] for t in s["trials"]})
    if len(s["trials"]) != 8 or statuses != ["culled", "survived"] or "loss" not in r.stdout.split("\n")[0]:
        fail(where, f"caviar agent sweep.yaml ran {len(s['trials'])} trials ({statuses}); its leaderboard: "
                    f"{r.stdout[:200]!r}")


def study_dir():
    return os.path.join(clone, "runs/torch")


def line_study_init(where, comment):
    run("build/caviar study init examples/study-torch/spec.json -o runs/torch", clone, where=where)
    if not os.path.exists(os.path.join(study_dir(), "journal.jsonl")):
        fail(where, "caviar study init left no runs/torch/journal.jsonl")


def line_ask(where, comment):
    r = run("build/caviar ask runs/torch", clone, where=where)
    try:
        asked = json.loads(r.stdout)
    except ValueError:
        fail(where, f"caviar ask printed no JSON: {r.stdout[-300:]}")
        return
    if asked.get("trial") != 0 or "params" not in asked or asked.get("epochs") != 9:
        fail(where, f"caviar ask did not hand out trial 0 with its params and 9 epochs: {asked}")


def line_report_values(where, comment):
    r = run("build/caviar report runs/torch 0 --epoch 1 --val_acc 0.81", clone, check=False, where=where)
    if r.returncode not in (0, 3) or r.stdout.strip() not in ("go", "stop"):
        fail(where, f"caviar report DIR ID said {r.stdout.strip()!r}, exit {r.returncode}: {r.stderr[-300:]}")


def line_tell(where, comment):
    run("build/caviar tell runs/torch 0 --val_acc 0.88", clone, where=where)
    journal = open(os.path.join(study_dir(), "journal.jsonl")).read()
    if '"val_acc": 0.88' not in journal and '"val_acc":0.88' not in journal:
        fail(where, "caviar tell did not record val_acc 0.88 in the journal")


def line_agent_torch(where, comment):
    # PyTorch's training of the example takes minutes: the study_torch_example test runs it (and
    # skips without torch); here the program and the test must exist.
    if not os.path.exists(os.path.join(repo, "examples/study-torch/train.py")):
        fail(where, "examples/study-torch/train.py is missing")
    r = run(f"ctest --test-dir {os.path.dirname(caviar)} -N", clone, where=where)
    if "study_torch_example" not in r.stdout:
        fail(where, "no study_torch_example test runs the agent on the example")
    if "needs torch" not in (comment or ""):
        fail(where, "the agent line must say it needs torch")


def line_report_study(where, comment):
    run("build/caviar report runs/torch", clone, where=where)
    for name in ("summary.json", "curves.csv", "report.html"):
        if not os.path.exists(os.path.join(study_dir(), name)):
            fail(where, f"caviar report on a study left no {name}")


sh_lines = [
    (r"build/caviar agent sweep\.yaml -o runs/w -j 4", lambda where, comment: line_agent(where, comment, False)),
    (r"build/caviar agent sweep\.yaml -o runs/w --resume", lambda where, comment: line_agent(where, comment, True)),
    (r"scripts/setup\.sh && build/caviar sweep", default_sweep),
    (r"build/caviar study init examples/study-torch/spec\.json -o runs/torch", line_study_init),
    (r"build/caviar ask runs/torch", line_ask),
    (r"build/caviar report runs/torch 0 --epoch 1 --val_acc 0\.81", line_report_values),
    (r"build/caviar tell runs/torch 0 --val_acc 0\.88", line_tell),
    (r"build/caviar agent runs/torch -j 2 -- python3 examples/study-torch/train\.py", line_agent_torch),
    (r"build/caviar report runs/torch", line_report_study),
    (r"scripts/test\.sh", line_test_sh),
    (r"scripts/fuzz\.sh (\d+)", line_fuzz),
    (r"build/caviar spec > my-sweep\.json", line_spec),
    (r"build/caviar sample my-sweep\.json -n (\d+)", line_sample),
    (r"build/caviar sweep my-sweep\.json -o runs/a", line_sweep_runs),
    (r"build/caviar eval runs/a/best/trial-\*\.safetensors", line_eval_glob),
    (r"build/caviar bench --models (\d+) --hidden (\d+)", line_bench),
    (r"build/caviar info", line_info),
    (r"cmake -S \. -B build (-DCAVIAR_CUDA=AUTO)", line_cmake_configure),
    (r"cmake --build build -j", line_cmake_build),
    (r"ctest --test-dir build --output-on-failure", line_ctest),
]


def sh_block(start, body):
    for k, raw in enumerate(body.split("\n")):
        if not raw.strip():
            continue
        command, _, comment = raw.partition("#")
        command = command.strip()
        if not command:
            continue  # a comment line
        for pattern, handler in sh_lines:
            m = re.fullmatch(pattern, command)
            if m:
                handler(start + 1 + k, comment.strip() if comment else None, *m.groups())
                break
        else:
            fail(start + 1 + k, f"a command the README test does not know: `{command}` (add it to tests/check_readme.py)")


# ---- the other blocks ----

def numpy_snippet(start, body):
    """Run as README says: Debian's python3 after the default sweep; it prints caviar eval's figure."""
    path = os.path.join(work, "snippet_numpy.py")
    open(path, "w").write(body)
    r = run(f"{system_python} {path}", clone, where=start)
    best = state.get("default", {}).get("best")
    if not best:
        fail(start, "no default sweep to run the numpy snippet on")
        return
    acc, expected = test_acc(r.stdout), eval_acc("caviar-out/" + best["model"], start)
    if acc is None or expected is None or abs(acc - expected) > 1.5e-4 + 1 / 200:
        fail(start, f"the numpy snippet printed {r.stdout.strip()!r}; caviar eval says test_acc {expected}")


def torch_snippet(start, body):
    """load_caviar on the default sweep's survivor gives caviar eval's accuracy on the test images
    (tests/check_torch.py runs it on every kind of model)."""
    if subprocess.run([system_python, "-c", "import torch"], capture_output=True).returncode != 0:
        print(f"README.md:{start}: the PyTorch snippet not run: {system_python} has no torch "
              "(python3-torch, optional; tests/check_torch.py skips too)")
        return
    best = state.get("default", {}).get("best")
    if not best:
        fail(start, "no default sweep to run the PyTorch snippet on")
        return
    path = os.path.join(work, "snippet_torch.py")
    open(path, "w").write(body + f"""
import gzip
model, meta = load_caviar("caviar-out/{best['model']}")
folder = json.loads(meta["data"])["dir"]
raw = gzip.open(folder + "/t10k-images-idx3-ubyte.gz").read()
x = torch.tensor(list(raw[4 + 4 * raw[3]:]), dtype=torch.float32)
y = torch.tensor(list(gzip.open(folder + "/t10k-labels-idx1-ubyte.gz").read()[8:]))
with torch.no_grad():
    print("test_acc %.4f" % float((model(x.reshape(len(y), -1)).argmax(1) == y).float().mean()))
""")
    r = run(f"{system_python} {path}", clone, where=start)
    acc, expected = test_acc(r.stdout), eval_acc("caviar-out/" + best["model"], start)
    if acc is None or expected is None or abs(acc - expected) > 1.5e-4 + 1 / 200:
        fail(start, f"the PyTorch snippet's model scores {acc}; caviar eval says {expected}")


def sample_line(start, body):
    """The line `caviar sample` prints first for the default spec, with ... for the rest."""
    got = run("build/caviar sample -n 1", clone, where=start).stdout.strip()
    pattern = ".*".join(re.escape(part) for part in body.strip().split("..."))
    if not re.fullmatch(pattern, got):
        fail(start, f"caviar sample prints\n  {got}\nnot\n  {body.strip()}")


def spec_example(start, body):
    path = os.path.join(clone, "example-spec.json")
    open(path, "w").write(body)
    state["example_spec"] = json.loads(body)
    run("build/caviar sample example-spec.json -n 2", clone, where=start)
    run(f"build/caviar sweep example-spec.json --dry-run --data {small}", clone, where=start)


def error_line(start, body):
    """The README's spec with the learning rate's min at -1 gives exactly this line, status 2."""
    spec = json.loads(json.dumps(state.get("example_spec", {})))
    try:
        spec["parameters"]["learning_rate"]["min"] = -1
    except KeyError:
        fail(start, "no spec example with a learning_rate before the error line")
        return
    json.dump(spec, open(os.path.join(clone, "spec.json"), "w"))
    r = run("build/caviar sample spec.json", clone, check=False, where=start)
    if r.returncode != 2 or r.stderr.strip() != body.strip():
        fail(start, f"exit {r.returncode}, stderr {r.stderr.strip()!r}; the README says exit 2 and {body.strip()!r}")


def yaml_example(start, body):
    """A W&B sweep.yaml tuning caviar's models: read as written, its aliases resolved, trainable."""
    path = os.path.join(work, "sweep.yaml")
    open(path, "w").write(body + "\n")
    r = run(f"build/caviar sample {path} -n 4", clone, where=start)
    rows = [json.loads(l) for l in r.stdout.strip().split("\n") if l.strip()]
    if len(rows) != 4:
        fail(start, f"caviar sample sweep.yaml -n 4 printed {len(rows)} trials")
    for row in rows:
        params = row.get("params", row)
        if "learning_rate" not in params or params.get("optimizer") not in ("adamw", "nadam", "nesterov", "nag"):
            fail(start, f"a sample of the yaml block lacks learning_rate (lr) or a listed optimizer: {row}")
            break
    r = run(f"build/caviar sweep {path} --dry-run --data {small}", clone, where=start)
    state["yaml"] = path


def cnn_fragment(start, body):
    run(f"build/caviar synth {images} --images --train 300 --test 60", clone, where=start)
    path = os.path.join(work, "cnn.json")
    open(path, "w").write('{"method": "random", "trials": 2, "data": {"dir": "%s"},\n%s}' % (images, body))
    run(f"build/caviar sample {path} -n 2", clone, where=start)
    run(f"build/caviar sweep {path} --dry-run", clone, where=start)


def mpirun_prefix():
    return f"{mpiexec} -np 2 --oversubscribe" if mpiexec else ""


mpi_env = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}


def slurm_script(start, body):
    """The job script with srun as mpirun: a fresh results/, then a stop by SIGUSR1 to mpirun
    (exit 3, a snapshot in results/sweep-state) and the same script resuming it."""
    if "srun --mpi=pmix caviar sweep --resume results" not in body or "srun --mpi=pmix caviar sweep spec.json -o results" not in body:
        fail(start, "the Slurm script no longer resumes results or starts spec.json: update tests/check_readme.py")
        return
    launcher = mpirun_prefix()
    script = body.replace("srun --mpi=pmix caviar", f"{launcher} {caviar}".strip())
    # job2 trains long enough (60 epochs of 784-256-256-10) to be stopped after its first epoch.
    for name, epochs, hidden in (("job1", 3, 8), ("job2", 60, 256)):
        folder = os.path.join(work, name)
        os.makedirs(folder)
        json.dump({"method": "random", "trials": 2, "seed": 1, "data": {"dir": small},
                   "model": {"hidden": hidden, "batch_size": 32, "epochs": epochs, "layers": 2},
                   "parameters": {"learning_rate": {"values": [0.001, 0.003]}}},
                  open(os.path.join(folder, "spec.json"), "w"))
        open(os.path.join(folder, "job.sh"), "w").write(script)
    # A job from nothing: results/ in full.
    run("bash job.sh", os.path.join(work, "job1"), env=mpi_env, where=start)
    if not os.path.exists(os.path.join(work, "job1/results/summary.json")):
        fail(start, "the job script left no results/summary.json")
    # A job stopped by SIGUSR1 to its launcher once it trains, then resumed by the same script.
    job = os.path.join(work, "job2")
    p = subprocess.Popen(["bash", "job.sh"], cwd=job, env=dict(os.environ, **mpi_env), start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    journal = os.path.join(job, "results/sweep-state/journal.jsonl")
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(journal) and '"epoch"' in open(journal).read():
            break
        time.sleep(0.2)
    launched = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                                     text=True).stdout.split()]
    for pid in launched:
        os.kill(pid, signal.SIGUSR1)
    try:
        err = p.communicate(timeout=300)[1]
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        fail(start, "the stopped job did not end")
        return
    if p.returncode != 3 or not os.path.isdir(os.path.join(job, "results/sweep-state")):
        fail(start, f"SIGUSR1 to the launcher: exit {p.returncode} (the README says 3, resumable): {err[-400:]}")
        return
    run("bash job.sh", job, env=mpi_env, where=start)
    if not os.path.exists(os.path.join(job, "results/summary.json")) or os.path.exists(os.path.join(job, "results/sweep-state")):
        fail(start, "the job script did not resume the stopped sweep to its end")
    state["slurm"] = True


# ---- inline commands ----

def inline_system_python(where):
    """The README's snippets run with Debian's python3, which has numpy after scripts/setup.sh."""
    run(f"{system_python} -c 'import numpy'", clone, where=where)


def inline_setup(where):
    run("scripts/setup.sh --check", clone, where=where)


def inline_help(where, command):
    r = run(f"build/caviar {command}" if command == "info" else f"build/caviar {command} --help", clone, where=where)
    if command == "info" and "backends: cpu" not in r.stdout:
        fail(where, f"caviar info: {r.stdout}")


def line_file():
    path = os.path.join(work, "LINE.json")
    open(path, "w").write(state.get("line") or run("build/caviar sample -n 1", clone).stdout)
    return path


def inline_train_line(where):
    r = run(f"build/caviar train {line_file()} --data {small} --epochs 1", clone, where=where)
    if "seed 1" not in r.stderr:
        fail(where, f"caviar train LINE.json did not take the line's seed: {r.stderr[-300:]}")


def best_model():
    best = state.get("default", {}).get("best")
    return os.path.join(clone, "caviar-out", best["model"]) if best else None


def inline_train_from(where):
    model = best_model()
    if model:
        run(f"build/caviar train --from {model}", clone, where=where)


def inline_eval(where):
    model = best_model()
    if model and eval_acc(model, where) is None:
        fail(where, "caviar eval MODEL printed no test_acc")


def killed_sweep(name, point, where):
    """The small sweep into work/name, killed (SIGKILL) at the fault point; its folder."""
    out = os.path.join(work, name)
    r = run(f"build/caviar sweep {small_spec} -o {out} -q", clone, env={"CAVIAR_KILL_AT": point}, check=False,
            where=where)
    if r.returncode != -9 and r.returncode != 137 and r.returncode >= 0:
        fail(where, f"the sweep meant to be killed exited {r.returncode}")
    return out


def inline_resume(where):
    out = killed_sweep("killed", "epoch:2", where)
    run(f"build/caviar sweep --resume {out} -q", clone, where=where)
    if not os.path.exists(os.path.join(out, "summary.json")):
        fail(where, "caviar sweep --resume left no summary.json")


def inline_resume_spec(where):
    # A sweep killed before its first write (just after it locked its folder) left nothing there:
    # --resume OUT alone says so, naming SPEC; --resume OUT SPEC starts it.
    out = killed_sweep("killed-at-once", "locked:1", where)
    r = run(f"build/caviar sweep --resume {out} -q", clone, check=False, where=where)
    if r.returncode != 2 or "SPEC" not in r.stderr:
        fail(where, f"--resume OUT of a sweep that wrote nothing: {r.returncode} {r.stderr[-300:]}")
    run(f"build/caviar sweep --resume {out} {small_spec} -q", clone, where=where)
    if not os.path.exists(os.path.join(out, "summary.json")):
        fail(where, "caviar sweep --resume OUT SPEC left no summary.json")


def inline_killed(where):
    # `kill -9` in "also after kill -9": the resume above follows a SIGKILL (CAVIAR_KILL_AT).
    pass


def inline_synth_images(where):
    folder = os.path.join(work, "synth-images")
    run(f"build/caviar synth {folder} --images", clone, where=where)
    if not os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")):
        fail(where, "caviar synth DIR --images wrote no IDX images")


def inline_train_checkpoint(where):
    state["ckpt"] = os.path.join(work, "run.ckpt")
    r = run(f"build/caviar train {line_file()} --epochs 10 --checkpoint {state['ckpt']} --data {small}", clone,
            where=where)
    if "epoch   10" not in r.stdout:
        fail(where, f"10 epochs not printed: {r.stdout[-300:]}")


def inline_train_continue(where):
    if "ckpt" not in state:
        fail(where, "no checkpoint to continue (the command before it did not run)")
        return
    r = run(f"build/caviar train --checkpoint {state['ckpt']} --epochs 5 --set learning_rate=3e-4", clone, where=where)
    if "epoch   11" not in r.stdout or "epoch   15" not in r.stdout or '"learning_rate": 0.0003,' not in r.stderr:
        fail(where, f"the checkpoint did not continue with epochs 11 to 15 at learning_rate 3e-4: {r.stdout[-300:]}"
                    f"{r.stderr[-300:]}")


def inline_plot(where):
    run(f"{system_python} scripts/plot_sweep.py caviar-out", clone, where=where)
    if not glob.glob(os.path.join(clone, "caviar-out", "*.png")):
        fail(where, "plot_sweep.py drew nothing")


def inline_report(where):
    run("build/caviar report caviar-out", clone, where=where)
    page = os.path.join(clone, "caviar-out", "report.html")
    if not os.path.exists(page):
        fail(where, "caviar report DIR wrote no DIR/report.html")
        return
    best = state.get("default", {}).get("best", {})
    if best and f"<dt>best</dt><dd>trial {best['trial']}:" not in open(page).read():
        fail(where, "report.html does not name summary.json's best trial")


def inline_screenshot(where):
    r = run("scripts/screenshot_report.sh caviar-out/report.html", clone, check=False, where=where)
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        if r.returncode != 0 or not os.path.exists(os.path.join(clone, "caviar-out", "report.png")):
            fail(where, f"screenshot_report.sh: exit {r.returncode}: {r.stderr.strip()}")
    elif r.returncode != 1 or "chromium is missing (apt-get install chromium)" not in r.stderr:
        fail(where, f"without chromium, screenshot_report.sh must say so: exit {r.returncode}: {r.stderr.strip()}")


def inline_random_vs_grid(where):
    r = run(f"CAVIAR={caviar} SWEEP_FLAGS='--data {small}' scripts/random_vs_grid.sh 1", clone, where=where)
    rows = [l.split() for l in r.stdout.strip().split("\n")[1:]]
    rates = {row[1]: int(row[2]) for row in rows if len(row) >= 3}
    if rates != {"grid": 5, "random": 25}:
        fail(where, f"random_vs_grid.sh tried {rates} learning rates; the README says the grid 5, random 25")


def inline_compare(where, seeds):
    out = os.path.join(work, "methods")
    r = run(f"METHODS_OUT={out} CAVIAR={caviar} SWEEP_FLAGS='--data {small}' scripts/compare_methods.sh 1", clone,
            where=where)
    for method in ("random", "grid", "sobol", "tpe", "bayes", "coarse-to-fine"):
        if not re.search(rf"^{re.escape(method)} +1 ", r.stdout, re.M):
            fail(where, f"compare_methods.sh printed no summary row for {method}")
    rows = open(os.path.join(out, "results.csv")).read().strip().split("\n")[1:]
    if len(rows) != 6 or any(row.split(",")[4] != "24" for row in rows):
        fail(where, f"compare_methods.sh did not train 24 trials per method: {rows}")


def inline_sample_yaml(where):
    if "yaml" not in state:
        fail(where, "the README's sweep.yaml block did not run before `caviar sample sweep.yaml`")


def inline_help_mentions(where, command, flag=None):
    r = run(f"build/caviar {command} --help", clone, where=where)
    if flag and flag not in r.stdout:
        fail(where, f"caviar {command} --help does not mention {flag}")


def inline_tensorboard(where):
    out, tb = os.path.join(work, "tb-out"), os.path.join(work, "tb")
    run(f"build/caviar sweep {small_spec} -o {out} -q --tensorboard {tb}", clone, where=where)
    runs = glob.glob(os.path.join(tb, "trial-*", "events.out.tfevents.*"))
    if len(runs) != 4:
        fail(where, f"caviar sweep --tensorboard DIR wrote {len(runs)} trials' event files, not the sweep's 4")


def inline_plot_optional(where):
    # Optional, as the README says: with matplotlib the script draws (without scikit-learn it
    # leaves importance.png out, saying so); without it, it fails naming it.
    if run(f"{system_python} -c 'import matplotlib'", clone, check=False).returncode == 0:
        inline_plot(where)
        if run(f"{system_python} -c 'import sklearn'", clone, check=False).returncode != 0:
            r = run(f"{system_python} scripts/plot_sweep.py caviar-out", clone, check=False, where=where)
            if r.returncode != 0 or "scikit-learn" not in r.stderr + r.stdout:
                fail(where, f"plot_sweep.py without scikit-learn must draw the rest, naming it: {r.stderr[-300:]}")
    else:
        r = run(f"{system_python} scripts/plot_sweep.py caviar-out", clone, check=False, where=where)
        if r.returncode == 0 or "matplotlib" not in r.stderr + r.stdout:
            fail(where, f"plot_sweep.py without matplotlib must fail naming it: {r.stderr[-300:]}")


def inline_not_here(where):
    pass  # listed in the docstring, with the reason


def inline_mpi(where):
    if "slurm" not in state:
        fail(where, "the MPI commands run with the Slurm script, which did not run")


def inline_fuzz_usage(where):
    line_fuzz(where, None, "1", ["csv", "spec"])


def inline_agent(where):
    r = run("build/caviar agent --help", clone, where=where)
    if "SWEEP.yaml -o DIR" not in r.stdout or "wandb agent" not in r.stdout:
        fail(where, "caviar agent --help does not describe caviar agent SWEEP.yaml -o DIR")


inline_commands = [
    (r"caviar agent sweep\.yaml -o DIR|caviar agent", inline_agent),
    (r"scripts/setup\.sh(?: --check)?", inline_setup),
    (r"cmake", lambda where: line_cmake_build(where, None)),
    (r"/usr/bin/python3", inline_system_python),
    (r"(?:build/)?caviar (sample|spec|sweep|train|info)", inline_help),
    (r"caviar train LINE\.json", inline_train_line),
    (r"caviar train --from MODEL", inline_train_from),
    (r"caviar eval MODEL", inline_eval),
    (r"caviar sweep --resume OUT", inline_resume),
    (r"caviar sweep --resume OUT SPEC", inline_resume_spec),
    (r"kill -9", inline_killed),
    (r"caviar synth DIR --images", inline_synth_images),
    (r"caviar train CONFIG\.json --epochs 10 --checkpoint run\.ckpt", inline_train_checkpoint),
    (r"caviar train --checkpoint run\.ckpt --epochs 5 --set learning_rate=3e-4", inline_train_continue),
    (r"/usr/bin/python3 scripts/plot_sweep\.py DIR", inline_plot),
    (r"caviar report DIR", inline_report),
    (r"scripts/screenshot_report\.sh DIR/report\.html", inline_screenshot),
    (r"scripts/random_vs_grid\.sh", inline_random_vs_grid),
    (r"scripts/compare_methods\.sh (\d+)", inline_compare),
    (r"scripts/device-prepare\.sh|scripts/device-check\.sh", inline_not_here),
    (r"mpirun --map-by slot:PE=4 -x OMP_NUM_THREADS=4 -np 8 \.\.\.", inline_not_here),
    (r"scancel --signal=USR1 JOBID|scancel", inline_not_here),
    (r"mpirun -np K caviar sweep SPEC -o DIR|mpirun -np K caviar sweep --resume DIR|kill -USR1 <mpirun's pid>|"
     r"mpirun -np 2|srun", inline_mpi),
    (r"scripts/test\.sh", line_test_sh),
    (r"scripts/fuzz\.sh \[MINUTES\] \[TARGET \.\.\.\]", inline_fuzz_usage),
    (r"caviar sample sweep\.yaml", inline_sample_yaml),
    (r"caviar study init", lambda where: inline_help_mentions(where, "study init", "-o")),
    (r"caviar eval", lambda where: inline_help_mentions(where, "eval")),
    (r"caviar train --checkpoint", lambda where: inline_help_mentions(where, "train", "--checkpoint")),
    (r"caviar sweep --tensorboard DIR", inline_tensorboard),
    (r"scripts/plot_sweep\.py DIR", inline_plot_optional),
]

# ---- in README order: the blocks, then the inline commands (they use what the blocks left) ----

for start, lang, body, marker in blocks:
    first = body.strip().split("\n")[0] if body.strip() else ""
    if lang == "sh" and first.startswith("#!/bin/bash") and "#SBATCH" in body:
        slurm_script(start, body)
    elif lang == "sh":
        sh_block(start, body)
    elif lang == "python" and "torch-snippet" in marker:
        torch_snippet(start, body)
    elif lang == "python" and "load_caviar_numpy" in body:
        numpy_snippet(start, body)
    elif lang == "json" and first.startswith('{"trial": 0'):
        sample_line(start, body)
    elif lang == "json" and first == "{" and '"method"' in body:
        spec_example(start, body)
    elif lang == "" and first.startswith("caviar: spec.json:"):
        error_line(start, body)
    elif lang == "json" and first.startswith('"model": {"type": "cnn"'):
        cnn_fragment(start, body)
    elif lang == "yaml" and first.startswith("method:"):
        yaml_example(start, body)
    else:
        fail(start, f"a {lang or 'plain'} block the README test does not know, starting {first[:60]!r} "
                    "(add it to tests/check_readme.py)")

for line, span in inline:
    for pattern, handler in inline_commands:
        m = re.fullmatch(pattern, span)
        if m:
            handler(line, *m.groups())
            break
    else:
        fail(line, f"an inline command the README test does not know: `{span}` (add it to tests/check_readme.py)")

shutil.rmtree(work, ignore_errors=True)
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"ok: {len(blocks)} blocks and {len(inline)} inline commands of README.md ran as written (with the "
      "substitutions tests/check_readme.py lists)")
