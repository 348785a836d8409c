#!/usr/bin/env python3
"""caviar agent SWEEP.yaml -o DIR against W&B-shaped programs (tests/wandb/): each trial's command
as wandb agent builds it (checked against W&B's own rules, rewritten here from
wandb/sdk/launch/sweeps/utils.py); Hyperband culls a run at the rung it logged, with SIGTERM; a
crash fails its trial with its last lines of stderr; a run that logs no metric fails with a clear
line; four agents at once on one study lose and duplicate nothing; an agent killed with SIGKILL is
gone on with by --resume to the results of an uninterrupted run; bayes and tpe propose from the
metric the program logged; bad input gets one line.

usage: test_wandb_agent.py CAVIAR_BIN SOURCE_DIR"""
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

CAVIAR, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PROGRAMS = os.path.join(SOURCE, "tests", "wandb")


def journal(folder):
    with open(os.path.join(folder, "journal.jsonl")) as f:
        return [json.loads(line) for line in f]


def summary(folder):
    with open(os.path.join(folder, "summary.json")) as f:
        return {t["trial"]: t for t in json.load(f)["trials"]}


def wandb_args(params):
    """W&B's create_sweep_command_args (wandb/sdk/launch/sweeps/utils.py), as it writes values."""
    flags, no_hyphens, no_booleans = [], [], []
    for name, value in params.items():
        flag = f"{name}={value}"
        flags.append("--" + flag)
        no_hyphens.append(flag)
        if isinstance(value, bool):
            if value:
                no_booleans.append("--" + name)
        else:
            no_booleans.append("--" + flag)
    return {"args": flags, "args_no_hyphens": no_hyphens, "args_no_boolean_flags": no_booleans,
            "args_json": [json.dumps(params)]}


class Agent(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def config(self, text, name="sweep.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def agent(self, *args, expect=0, env=None):
        done = subprocess.run([CAVIAR, "agent", *args, "--python", sys.executable], cwd=PROGRAMS, capture_output=True,
                              text=True, timeout=300, env=dict(os.environ, **(env or {})))
        self.assertEqual(done.returncode, expect, done.stderr)
        return done

    def test_each_trials_command_is_built_as_wandb_agent_builds_it(self):
        cfg = self.config(f"""
program: {PROGRAMS}/print_args.py
method: grid
metric: {{name: loss}}
parameters:
  lr: {{values: [0.001, 1.0e-05, 10.0]}}
  flag: {{values: [true, false]}}
  name: {{value: "it's"}}
  opt:
    parameters:
      beta: {{value: 0.9}}
      kind: {{value: adam}}
command:
  - ${{env}}
  - ${{interpreter}}
  - ${{program}}
  - ${{args}}
  - ${{args_no_boolean_flags}}
  - ${{args_no_hyphens}}
  - ${{args_json}}
  - ${{args_json_file}}
  - --home=${{envvar:CAVIAR_TEST_HOME}}
  - ${{envvar:CAVIAR_UNSET_X}}
  - ${{unknown_macro}}
  - plain
""")
        out = os.path.join(self.dir, "s")
        self.agent(cfg, "-o", out, "-j", "2", env={"CAVIAR_TEST_HOME": "/h"})
        trials = summary(out)
        self.assertEqual(len(trials), 6)
        for trial in trials.values():
            self.assertEqual(trial["status"], "survived")
            with open(os.path.join(out, "trials", str(trial["trial"]), "output.log")) as f:
                log = f.read()
            argv = json.loads(log.split("ARGV ", 1)[1].split("\n", 1)[0])
            json_file = os.path.join(out, "trials", str(trial["trial"]), "args.json")
            with open(json_file) as f:  # the values as sampled and handed out (10.0 stays a float)
                params = json.load(f)
            self.assertEqual(params, trial["params"])
            want = wandb_args(params)
            expected = (want["args"] + want["args_no_boolean_flags"] + want["args_no_hyphens"] + want["args_json"] +
                        [json_file, "--home=/h", "CAVIAR_UNSET_X", "plain"])
            self.assertEqual(argv, expected)
            self.assertIn("FILE " + json.dumps(params), log)
            self.assertIn(f"== caviar agent: trial {trial['trial']}, attempt 1, worker", log)
            self.assertIn(f"/usr/bin/env {sys.executable} {PROGRAMS}/print_args.py --lr=", log)
        # Values as W&B writes them: 1e-05 and 10.0 as Python's str() does, nested as a dict.
        lrs = sorted(t["params"]["lr"] for t in trials.values())
        self.assertEqual(lrs, [1e-05, 1e-05, 0.001, 0.001, 10.0, 10.0])
        with open(os.path.join(out, "trials", "0", "output.log")) as f:
            self.assertIn("\"--name=it's\", \"--opt={'beta': 0.9, 'kind': 'adam'}\"", f.read())

    def test_argparse_programs_get_their_values_as_arguments_and_in_wandb_config(self):
        out = os.path.join(self.dir, "s")
        done = self.agent(os.path.join(PROGRAMS, "sweep_args.yaml"), "-o", out, "-j", "3", "--seed", "5")
        trials = summary(out)
        self.assertEqual(len(trials), 6)  # run_cap
        for t in trials.values():
            self.assertEqual(t["status"], "survived")
            # The program asserts wandb.config == its arguments; its lr_seen is the value handed out.
            self.assertEqual(t["metrics"]["lr_seen"], t["params"]["lr"])
            p = t["params"]
            penalty = {"relu": 0.0, "tanh": 0.05}[p["activation"]]
            self.assertAlmostEqual(t["metrics"]["val_loss"], (1 - p["lr"]) ** 6 + penalty + 0.01 * p["layers"], places=12)
            self.assertEqual(t["epochs"], 6)
        self.assertIn("val_loss", done.stdout.splitlines()[0])  # the leaderboard ranks by the config's metric

    def sweep_config(self, **params):
        extra = "".join(f"  {k}: {{value: {v}}}\n" for k, v in params.items())
        with open(os.path.join(PROGRAMS, "sweep_config.yaml")) as f:
            text = f.read().replace("program: train_config.py", f"program: {PROGRAMS}/train_config.py")
        return self.config(text.replace("parameters:\n", "parameters:\n" + extra, 1))

    def test_hyperband_culls_a_run_with_sigterm_at_the_rung_it_logged(self):
        out = os.path.join(self.dir, "s")
        self.agent(self.sweep_config(sleep=0.15), "-o", out, "-j", "2")
        records = journal(out)
        stops = {r["trial"]: r for r in records if r["event"] == "epoch" and r["verdict"] == "stop"}
        self.assertGreaterEqual(len(stops), 2)
        trials = summary(out)
        with open(os.path.join(out, "curves.csv")) as f:
            curves = list(csv.DictReader(f))
        for tid, stop in stops.items():
            t = trials[tid]
            self.assertEqual(t["status"], "culled")
            self.assertEqual(t["epochs"], stop["epoch"])       # the last step it logged before the cull
            self.assertEqual(stop["epoch"], stop["rung"])
            self.assertEqual(max(int(c["epoch"]) for c in curves if int(c["trial"]) == tid), stop["epoch"])
            self.assertEqual(t["metrics"]["loss"], stop["metrics"]["loss"])
            # Stopped by SIGTERM: it never logged its last epoch (9 epochs at 0.15 s) nor its summary.
            with open(os.path.join(out, "trials", str(tid), "output.log")) as f:
                log = f.read()
            self.assertNotIn("epoch=9 ", log)
            self.assertNotIn("final_width", log)
            self.assertFalse(any(r["event"] == "tell" and r["trial"] == tid for r in records))
        # Every logged value is in the results: summary.json, curves.csv's columns, the leaderboard.
        self.assertEqual(sorted(trials[0]["metrics"]), ["_epoch", "accuracy", "final_width", "loss", "train/loss"])
        self.assertEqual(list(curves[0])[:9], ["trial", "epoch", "train_loss", "val_loss", "val_acc", "loss", "_epoch",
                                               "train/loss", "accuracy"])
        self.assertTrue(all(float(c["val_loss"]) == float(c["loss"]) or abs(float(c["val_loss"]) - float(c["loss"])) < 1e-6
                            for c in curves))
        status = subprocess.run([CAVIAR, "study", "status", out], capture_output=True, text=True, check=True).stdout
        self.assertIn("train/loss", status.splitlines()[1])

    def test_a_crash_fails_its_trial_with_its_last_lines_of_stderr(self):
        out = os.path.join(self.dir, "s")
        done = self.agent(self.sweep_config(crash_at=2), "-o", out, "-j", "2")
        records = journal(out)
        tells = [r for r in records if r["event"] == "tell"]
        culled = {r["trial"] for r in records if r["event"] == "epoch" and r["verdict"] == "stop"}
        self.assertEqual(sorted([r["trial"] for r in tells] + list(culled)), list(range(8)))  # culled at rung 1, or crashed
        self.assertGreaterEqual(len(tells), 4)
        for r in tells:
            self.assertEqual(r["status"], "failed")
            self.assertTrue(r["reason"].startswith("exit status 1; its stderr ended: Traceback (most recent call last):"),
                            r["reason"])
            self.assertTrue(r["reason"].endswith("RuntimeError: crashed at epoch 2 as asked"), r["reason"])
            self.assertEqual(r["epoch"], 2)
        self.assertTrue(all(t["status"] == "failed" and "crashed at epoch 2" in t["reason"]
                            for t in summary(out).values() if t["trial"] not in culled))
        self.assertIn("trial 0 failed: exit status 1; its stderr ended:", done.stderr)

    def test_a_run_that_logs_no_metric_fails_with_a_clear_line(self):
        out = os.path.join(self.dir, "s")
        cfg = self.sweep_config(log_metric="false").replace(".yaml", "")
        with open(cfg + ".yaml") as f:
            text = f.read()
        with open(cfg + "-plain.yaml", "w") as f:  # no schedule: every trial runs
            f.write(text.split("early_terminate:")[0])
        done = self.agent(cfg + "-plain.yaml", "-o", out)
        tells = [r for r in journal(out) if r["event"] == "tell"]
        self.assertEqual(len(tells), 8)
        for r in tells:
            self.assertEqual(r["status"], "failed")
            self.assertEqual(r["reason"], "it logged no loss, the study's metric (wandb.log({\"loss\": ...}), or a line "
                                          "'epoch=1 loss=0.5'); it logged: _epoch, train/loss, accuracy, final_width")
        self.assertIn("trial 0 failed: it logged no loss, the study's metric", done.stderr)

    def lr_width_config(self, method, trials, widest, name="sweep.yaml"):
        """train_config.py for 3 epochs over its lr and width."""
        return self.config(f"""
program: {PROGRAMS}/train_config.py
method: {method}
run_cap: {trials}
metric: {{name: loss, goal: minimize}}
parameters:
  epochs: {{value: 3}}
  width: {{distribution: int_uniform, min: 1, max: {widest}}}
  optimizer:
    parameters:
      lr: {{distribution: uniform, min: 0.01, max: 0.5}}
""", name)

    def test_four_agents_at_once_on_one_study_lose_and_duplicate_nothing(self):
        cfg = self.lr_width_config("random", 40, 1000)
        out = os.path.join(self.dir, "s")
        subprocess.run([CAVIAR, "study", "init", cfg, "-o", out, "--seed", "3"], check=True, capture_output=True)
        agents = [subprocess.Popen([CAVIAR, "agent", out, "-j", "2", "--quiet", "--python", sys.executable],
                                   cwd=PROGRAMS, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        for a in agents:
            a.communicate(timeout=300)
            self.assertEqual(a.returncode, 0)
        records = journal(out)
        starts = [r for r in records if r["event"] == "start"]
        tells = [r for r in records if r["event"] == "tell"]
        self.assertEqual(sorted(r["trial"] for r in starts), list(range(40)))  # each handed out once
        self.assertEqual(sorted(r["trial"] for r in tells), list(range(40)))   # each told once
        self.assertGreater(len({r["worker"].split("/")[0] for r in starts}), 1)  # by several agents
        # Each trial's values are its own program's, for its own parameters.
        for tid, t in summary(out).items():
            self.assertEqual(t["status"], "survived")
            lr, width = t["params"]["optimizer"]["lr"], t["params"]["width"]
            self.assertAlmostEqual(t["metrics"]["loss"], (1 - lr) ** 3 + width / 1000, places=12)
            self.assertEqual(t["metrics"]["final_width"], width)

    def test_an_agent_killed_by_sigkill_is_gone_on_with_by_resume(self):
        cfg = self.config(f"""
program: {PROGRAMS}/train_config.py
method: grid
metric: {{name: loss, goal: minimize}}
parameters:
  sleep: {{value: 0.2}}
  epochs: {{value: 4}}
  width: {{values: [1, 2, 3, 4, 5, 6]}}
""")
        whole, cut = os.path.join(self.dir, "whole"), os.path.join(self.dir, "cut")
        self.agent(cfg, "-o", whole, "-j", "2")
        agent = subprocess.Popen([CAVIAR, "agent", cfg, "-o", cut, "-j", "2", "--python", sys.executable],
                                 cwd=PROGRAMS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:  # killed while its runs are halfway through trials 2 and 3
            if os.path.exists(os.path.join(cut, "journal.jsonl")) and sum(
                    r["event"] == "epoch" and r["trial"] >= 2 for r in journal(cut)) >= 2:
                break
            time.sleep(0.05)
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        running = [r["trial"] for r in journal(cut) if r["event"] == "start"]
        told = [r["trial"] for r in journal(cut) if r["event"] == "tell"]
        self.assertTrue(set(running) - set(told))  # trials left out, their agent gone
        # Without --resume an existing study is refused, one line, nothing changed.
        before = journal(cut)
        done = self.agent(cfg, "-o", cut, expect=2)
        self.assertEqual(done.stderr.count("\n"), 1)
        self.assertIn("is a study already: add --resume", done.stderr)
        self.assertEqual(journal(cut), before)
        done = self.agent(cfg, "-o", cut, "-j", "2", "--resume")
        self.assertIn("--resume: 2 trial(s) whose agent is gone go out again", done.stderr)
        releases = [r for r in journal(cut) if r["event"] == "release"]
        self.assertEqual(len(releases), 2)
        a, b = summary(whole), summary(cut)
        self.assertEqual(sorted(a), sorted(b))
        for tid in a:
            self.assertEqual(b[tid]["status"], "survived")
            self.assertEqual(b[tid]["params"], a[tid]["params"])
            self.assertEqual(b[tid]["metrics"], a[tid]["metrics"])
            self.assertEqual(b[tid]["epochs"], a[tid]["epochs"])

    def test_bayes_and_tpe_propose_from_the_metric_the_program_logged(self):
        # loss after 3 epochs is (1 - lr) ** 3 + width / 1000: best at lr 0.5, width 1. After their
        # startup (bayes: 2 results, tpe: 10) the proposals do far better than draws: the median
        # of 8 random configs is below 0.3 with probability 0.005 (their median loss is 0.52). One
        # run at a time, so the results come in one order and the proposals are the same each time.
        for method, trials in (("bayes", 20), ("tpe", 30)):
            with self.subTest(method=method):
                cfg = self.lr_width_config(method, trials, 200, f"{method}.yaml")
                out = os.path.join(self.dir, method)
                done = self.agent(cfg, "-o", out, "-j", "1")
                self.assertNotIn("does not yet propose", done.stderr)
                trials_done = summary(out)
                self.assertEqual(len(trials_done), trials)
                loss = [trials_done[t]["metrics"]["loss"] for t in sorted(trials_done)]
                for t in trials_done.values():  # W&B's values: an int_uniform a whole number, in bounds
                    self.assertIsInstance(t["params"]["width"], int)
                    self.assertTrue(1 <= t["params"]["width"] <= 200)
                    self.assertTrue(0.01 <= t["params"]["optimizer"]["lr"] <= 0.5)
                self.assertLess(sorted(loss[-8:])[4], 0.3, (method, loss))

    def test_bad_input_gets_one_line(self):
        cfg = self.config("program: x.py\nmethod: random\nmetric: {name: loss}\nparameters: {a: {values: [1]}}\n")
        own = self.config('{"method": "random", "parameters": {"learning_rate": {"values": [0.1]}}}', "own.json")
        out = os.path.join(self.dir, "s")
        cases = [
            ((cfg,), "is a sweep config: -o DIR is required"),
            ((cfg, "-o", out, "-n", "0"), "-n expects a whole number of trials from 1"),
            ((self.dir, "-o", out), "-o is for a sweep config"),
            ((own, "-o", out), "its config names no program or command"),
            ((cfg, "-o", out, "--"), "expected COMMAND [ARGS...] after --"),
        ]
        for args, message in cases:
            done = subprocess.run([CAVIAR, "agent", *args], cwd=self.dir, capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(message, done.stderr)
            self.assertEqual(done.stderr.count("\n"), 1, done.stderr)
            self.assertFalse(os.path.exists(out), args)  # nothing made
        # The other config than the study's, with --resume.
        other = self.config(open(cfg).read().replace("values: [1]", "values: [2]"), "other.yaml")
        subprocess.run([CAVIAR, "study", "init", cfg, "-o", out], check=True, capture_output=True)
        done = subprocess.run([CAVIAR, "agent", other, "-o", out, "--resume"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn("its study was made from another config than", done.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
