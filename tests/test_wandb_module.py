#!/usr/bin/env python3
"""caviar's wandb module (python/wandb) on its own, without the agent: each test runs a small
program in a fresh interpreter (wandb keeps one run per process, as W&B's does) with the
environment caviar agent gives a trial, and checks the metric lines it prints against what W&B's
semantics say they must be: the sampled values win over the program's defaults and are locked;
nested access; log's step and commit rules; each row with the study's metric is the next report;
summary (last, or define_metric's min/max) is the final line; finish, the context manager and exit
all finish once; anything unimplemented is a no-op that warns once and never raises.

usage: test_wandb_module.py SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SOURCE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
PYTHON_DIR = os.path.abspath(os.path.join(SOURCE, "python"))


def metric_lines(stdout):
    """The metric lines (caviar_study's format) as (epoch or None, {name: value})."""
    out = []
    for line in stdout.splitlines():
        tokens = line.split()
        if not tokens or not all("=" in t for t in tokens):
            continue
        values = dict(t.split("=", 1) for t in tokens)
        epoch = values.pop("epoch", None)
        out.append((int(epoch) if epoch else None, {k: float(v) for k, v in values.items()}))
    return out


class WandbModule(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_program(self, body, params=None, metric="loss", agent=True, expect_rc=0):
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR, PYTHONUNBUFFERED="1")
        for key in [k for k in env if k.startswith("CAVIAR_") or k.startswith("WANDB_")]:
            del env[key]
        if agent:
            env.update(CAVIAR_STUDY=self.tmp.name, CAVIAR_TRIAL="7", CAVIAR_METRIC=metric,
                       CAVIAR_PARAMS_JSON=json.dumps(params or {}),
                       CAVIAR_RUN_DIR=os.path.join(self.tmp.name, "files"), WANDB_RUN_ID="trial-7")
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], env=env, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, expect_rc, done.stderr)
        return done

    def test_the_sampled_values_win_over_the_programs_defaults_and_are_locked(self):
        done = self.run_program("""
            import wandb
            run = wandb.init(project="p", config={"lr": 0.5, "batch_size": 64, "optimizer": {"name": "sgd"}})
            c = wandb.config
            print("VALUES", c.lr, c["lr"], c.batch_size, c.optimizer["name"], c.optimizer.beta, c["optimizer"]["beta"])
            c.update({"lr": 9.0, "extra": 3})
            c.lr = 8.0
            print("AFTER", c.lr, c.extra, run.config is c, sorted(c.keys()))
        """, params={"lr": 0.001, "optimizer": {"name": "adam", "beta": 0.9}})
        self.assertIn("VALUES 0.001 0.001 64 adam 0.9 0.9", done.stdout)
        self.assertIn("AFTER 0.001 3 True ['batch_size', 'extra', 'lr', 'optimizer']", done.stdout)
        self.assertEqual(done.stderr.count("config item 'lr' was set by the sweep (ignored update)"), 1)

    def test_a_config_given_as_argparse_namespace_fills_the_keys_the_sweep_leaves(self):
        done = self.run_program("""
            import argparse, wandb
            args = argparse.Namespace(lr=0.1, layers=2)
            wandb.init(config=args)
            print("CONFIG", dict(wandb.config.items()))
        """, params={"layers": 3})
        self.assertIn("CONFIG {'layers': 3, 'lr': 0.1}", done.stdout)

    def test_a_config_given_as_a_file_name_is_read_as_W_and_B_reads_it(self):
        path = os.path.join(self.tmp.name, "config.json")
        with open(path, "w") as f:
            json.dump({"wandb_version": 1, "lr": {"desc": "the rate", "value": 0.2}, "layers": 4}, f)
        done = self.run_program(f"""
            import wandb
            wandb.init(config={path!r})
            print("CONFIG", wandb.config.lr, wandb.config.layers, "wandb_version" in wandb.config)
        """, params={"layers": 2})
        self.assertIn("CONFIG 0.2 2 False", done.stdout)

    def test_each_row_with_the_metric_is_the_next_report_with_every_value_so_far(self):
        done = self.run_program("""
            import wandb
            wandb.init()
            wandb.log({"train_loss": 2.0})                 # no metric: no report
            wandb.log({"loss": 1.0, "epoch": 1})           # report 1, with train_loss so far
            wandb.log({"loss": 0.5}, commit=False)         # held until committed
            wandb.log({"acc": 0.7})                        # the row commits: report 2
            wandb.log({"val": {"loss": 0.25}, "img": object()})   # nested: val.loss; an object: left out
            wandb.log({"loss": 0.4}, step=10)              # a later step: held
            wandb.log({"loss": 0.3}, step=10)              # same step: merged
            wandb.log({"loss": 0.2}, step=3)               # an earlier step: dropped, as W&B does
            wandb.log({"loss": 0.1}, step=11)              # commits step 10 (0.3): report 3
            wandb.finish()                                 # commits step 11: report 4; the summary
        """)
        lines = metric_lines(done.stdout)
        self.assertEqual(lines[0], (1, {"loss": 1.0, "train_loss": 2.0, "_epoch": 1.0}))
        self.assertEqual(lines[1], (2, {"loss": 0.5, "train_loss": 2.0, "_epoch": 1.0, "acc": 0.7}))
        self.assertEqual(lines[2][0], 3)
        self.assertEqual(lines[2][1]["loss"], 0.3)
        self.assertEqual(lines[2][1]["val.loss"], 0.25)
        self.assertEqual(lines[3], (4, dict(lines[2][1], loss=0.1)))
        self.assertEqual(lines[4][0], None)
        self.assertEqual(lines[4][1]["loss"], 0.1)
        self.assertEqual(len(lines), 5)
        self.assertEqual(done.stderr.count("step 3 is before the current step"), 1)

    def test_summary_is_the_final_line_last_or_as_define_metric_says(self):
        done = self.run_program("""
            import wandb
            run = wandb.init()
            wandb.define_metric("loss", summary="min")
            wandb.define_metric("acc*", summary="max")
            for loss, acc in [(0.5, 0.6), (0.2, 0.9), (0.4, 0.7)]:
                wandb.log({"loss": loss, "acc_val": acc, "lr": loss / 10})
            run.summary["best_epoch"] = 2
            run.finish()
            run.finish()
            wandb.finish()
        """)
        lines = metric_lines(done.stdout)
        self.assertEqual([e for e, _ in lines], [1, 2, 3, None])
        self.assertEqual(lines[-1][1], {"loss": 0.2, "acc_val": 0.9, "lr": 0.04, "best_epoch": 2.0})

    def test_the_context_manager_finishes_and_a_failure_sends_no_final_values(self):
        done = self.run_program("""
            import wandb
            with wandb.init() as run:
                wandb.log({"loss": 1.0})
            print("RUN", wandb.run)
            with wandb.init(reinit=True) as run:
                wandb.log({"loss": 2.0})
                raise SystemExit(3)
        """, expect_rc=3)
        lines = metric_lines(done.stdout)
        self.assertEqual(lines, [(1, {"loss": 1.0}), (None, {"loss": 1.0}), (1, {"loss": 2.0})])
        self.assertIn("RUN None", done.stdout)

    def test_a_program_that_never_finishes_is_finished_at_exit(self):
        done = self.run_program("""
            import wandb
            wandb.init()
            wandb.log({"loss": 0.5, "n": 3})
        """)
        self.assertEqual(metric_lines(done.stdout), [(1, {"loss": 0.5, "n": 3.0}), (None, {"loss": 0.5, "n": 3.0})])

    def test_values_that_are_tensors_or_not_finite_are_sent_as_the_agent_needs(self):
        done = self.run_program("""
            import wandb
            class Tensor:                       # torch.tensor(0.25) and numpy scalars answer item()
                def item(self): return 0.25
            wandb.init()
            wandb.log({"loss": Tensor(), "per class": float("nan"), "ok": True})
            wandb.log({"loss": float("nan")})
        """)
        lines = metric_lines(done.stdout)
        self.assertEqual(lines[0], (1, {"loss": 0.25, "ok": 1.0}))
        self.assertEqual(lines[1][0], 2)
        self.assertNotEqual(lines[1][1]["loss"], lines[1][1]["loss"])  # nan: the agent fails the run

    def test_names_become_metric_line_names(self):
        done = self.run_program("""
            import wandb
            wandb.init()
            wandb.log({"loss": 1.0, "Accuracy T-shirt or top": 0.5, "9lives": 1, "val/acc": 0.3})
        """)
        self.assertEqual(metric_lines(done.stdout)[0][1],
                         {"loss": 1.0, "Accuracy_T-shirt_or_top": 0.5, "_9lives": 1.0, "val/acc": 0.3})

    def test_what_is_not_implemented_is_a_no_op_that_warns_once(self):
        done = self.run_program("""
            import wandb
            from wandb.keras import WandbCallback
            from wandb.integration.lightning import fabric
            run = wandb.init(project="p", entity="e", name="n", tags=["a"], mode="offline", anonymous="allow")
            wandb.watch(object(), log="all"); wandb.watch(object())
            img = wandb.Image([[0]], caption="x")
            wandb.log({"loss": 1.0, "picture": img, "table": wandb.Table(columns=["a"])})
            wandb.save("model.pt"); run.log_artifact("x"); wandb.alert(title="t", text="x")
            WandbCallback(monitor="loss")(1, 2).anything.goes()
            print("NAME", run.name, run.project, run.tags, wandb.run is run)
            print("DIR", run.dir)
            wandb.login(); wandb.finish()
        """)
        self.assertEqual(done.stderr.count("wandb.watch is not implemented"), 1)
        self.assertIn("wandb.Image is not implemented", done.stderr)
        self.assertIn("NAME n p ('a',) True", done.stdout)
        self.assertIn(os.path.join(self.tmp.name, "files"), done.stdout)
        self.assertTrue(os.path.isdir(os.path.join(self.tmp.name, "files")))
        self.assertEqual(metric_lines(done.stdout)[0], (1, {"loss": 1.0}))

    def test_outside_the_agent_nothing_is_printed_and_the_history_is_kept(self):
        done = self.run_program("""
            import wandb
            run = wandb.init(config={"lr": 0.1})
            for i in range(3):
                wandb.log({"loss": 1.0 / (i + 1)})
            print("HISTORY", [row["loss"] for row in run.history], [row["_step"] for row in run.history])
            print("CONFIG", wandb.config.lr)
        """, agent=False)
        self.assertEqual(metric_lines(done.stdout), [])
        self.assertIn("HISTORY [1.0, 0.5, 0.3333333333333333] [0, 1, 2]", done.stdout)
        self.assertIn("CONFIG 0.1", done.stdout)

    def test_log_before_init_raises_as_W_and_B_does(self):
        done = self.run_program("""
            import wandb
            try:
                wandb.log({"loss": 1})
            except Exception as e:
                print("RAISED", type(e).__name__)
        """)
        self.assertIn("RAISED RuntimeError", done.stdout)

    def test_wandb_agent_with_a_function_runs_it_once_with_this_trials_config(self):
        done = self.run_program("""
            import wandb
            def train():
                with wandb.init() as run:
                    wandb.log({"loss": wandb.config.lr})
            sweep_id = wandb.sweep({"method": "grid"}, project="p")
            wandb.agent(sweep_id, function=train, count=5)
        """, params={"lr": 0.125})
        self.assertEqual(metric_lines(done.stdout), [(1, {"loss": 0.125}), (None, {"loss": 0.125})])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
