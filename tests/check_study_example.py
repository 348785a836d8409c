#!/usr/bin/env python3
"""examples/study-torch on a small budget: the PyTorch program trains a study's trials under
caviar agent (two at a time) and on its own through the Python client; both studies finish, the
best trial learned (validation accuracy well above chance), and the study's summary, pictures and
page are written. Exits 77 (skipped) where no python3 here imports torch.

usage: check_study_example.py CAVIAR_BIN SOURCE_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def python_with_torch():
    for python in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(python) and subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
            return python
    return None


def main():
    caviar, source = sys.argv[1], sys.argv[2]
    python = python_with_torch()
    if python is None:
        print("skipped: no python3 here imports torch (Debian: apt-get install python3-torch)")
        return 77
    if not os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
        print("skipped: Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
        return 77
    env = dict(os.environ, CAVIAR=caviar)
    program = os.path.join(source, "examples", "study-torch", "train.py")
    work = tempfile.mkdtemp(prefix="caviar-example-")
    try:
        with open(os.path.join(source, "examples", "study-torch", "spec.json")) as f:
            spec = json.load(f)
        spec.update(trials=4, model={"epochs": 3})
        spec["early_terminate"].update(max_epochs=3)
        path = os.path.join(work, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        small = ["--train", "2000", "--val", "500"]
        for name, run in (("agent", [caviar, "agent", None, "-j", "2", "--", python, program] + small),
                          ("client", [python, program, None] + small)):
            study = os.path.join(work, name)
            subprocess.run([caviar, "study", "init", path, "-o", study], check=True, capture_output=True, env=env)
            run = [study if a is None else a for a in run]
            p = subprocess.run(run, capture_output=True, text=True, env=env, timeout=600)
            if p.returncode != 0:
                print(f"{name}: exit {p.returncode}\n{p.stderr}")
                return 1
            status = subprocess.run([caviar, "study", "status", study, "--json"], capture_output=True, text=True,
                                    env=env, check=True)
            board = json.loads(status.stdout)["leaderboard"]
            ended = sorted(t["status"] for t in board)
            if len(board) != 4 or "running" in ended or "failed" in ended:
                print(f"{name}: trials ended {ended}")
                return 1
            if not board[0]["val_acc"] > 0.5:
                print(f"{name}: the best trial reached val_acc {board[0]['val_acc']}: it did not learn")
                return 1
            print(f"{name}: {ended}, best val_acc {board[0]['val_acc']:.4f} (trial {board[0]['trial']})")
        study = os.path.join(work, "agent")
        plots = subprocess.run(["/usr/bin/python3", os.path.join(source, "scripts", "plot_sweep.py"), study],
                               capture_output=True, text=True)
        report = subprocess.run([caviar, "report", study], capture_output=True, text=True)
        if report.returncode != 0:
            print(f"caviar report: {report.stderr}")
            return 1
        check = subprocess.run([sys.executable, os.path.join(source, "tests", "check_report.py"),
                                os.path.join(study, "report.html")], capture_output=True, text=True)
        if check.returncode != 0:
            print(f"report.html: {check.stdout}{check.stderr}")
            return 1
        has_matplotlib = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"],
                                        capture_output=True).returncode == 0
        if not has_matplotlib:  # optional (README): the script must say what it needs
            if plots.returncode == 0 or "matplotlib" not in plots.stderr:
                print(f"scripts/plot_sweep.py without matplotlib must fail naming it: {plots.stderr}")
                return 1
            print("pictures: none (no matplotlib here; plot_sweep.py said so)")
            return 0
        if plots.returncode != 0:
            print(f"scripts/plot_sweep.py: {plots.stderr}")
            return 1
        print(f"pictures: {[os.path.basename(p) for p in plots.stdout.split()]}")
        return 0
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
