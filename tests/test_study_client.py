#!/usr/bin/env python3
"""The Python client (python/caviar_study.py) against the caviar binary: ask, report, tell and fail
drive trials and read back from the journal as told; a cull reads as should_prune; bad input raises
StudyError with caviar's one line and changes nothing; four processes at once lose and duplicate
nothing; a torn last line is left out by readers; under caviar agent, current() and log() are a
program's whole protocol.

usage: test_study_client.py CAVIAR_BIN SOURCE_DIR"""
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CAVIAR, SOURCE = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SOURCE, "python"))
os.environ["CAVIAR"] = CAVIAR
import caviar_study  # noqa: E402

LR = '"learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1}'


def spec(folder, text):
    path = os.path.join(folder, "spec.json")
    with open(path, "w") as f:
        f.write(text)
    return path


def worker(path, seed):
    """Asks, reports two epochs, tells, until the study is done; returns the trials it told."""
    study = caviar_study.Study(path)
    told = []
    while (trial := study.ask()) is not None:
        for epoch in (1, 2):
            if not trial.report(epoch, val_acc=0.1 * epoch + 0.001 * trial.id):
                break
        else:
            assert trial.tell()
            told.append(trial.id)
    return told


class Client(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="caviar-client-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def study(self, text, **options):
        return caviar_study.Study.create(spec(self.dir, text), os.path.join(self.dir, "s"), **options)

    def test_ask_report_and_tell_are_read_back_from_the_journal(self):
        study = self.study('{"method": "random", "seed": 4, "trials": 3, "model": {"epochs": 3}, "parameters": {%s, '
                           '"optimizer": {"values": ["sgd", "adam"]}}}' % LR)
        first = study.ask()
        self.assertEqual((first.id, first.attempt, first.epochs), (0, 1, 3))
        self.assertEqual(set(first.params), {"learning_rate", "optimizer"})
        sample = subprocess.run([CAVIAR, "sample", os.path.join(self.dir, "spec.json"), "-n", "1"], capture_output=True,
                                text=True, check=True)
        drawn = json.loads(sample.stdout)["params"]
        self.assertEqual(first.params, {k: drawn[k] for k in first.params}, "the values caviar sample draws")
        self.assertTrue(first.report(1, val_acc=0.5, val_loss=1.25))
        self.assertTrue(first.report(2, {"val_acc": 0.625, "val/loss": 1.0}))
        self.assertTrue(first.tell(val_acc=0.75, epoch=3))
        second = study.ask()
        self.assertTrue(second.fail("out of memory"))
        t = study.trials()
        self.assertEqual(t[0]["status"], "completed")
        self.assertEqual(t[0]["metrics"], {"val_acc": 0.75})
        self.assertEqual(t[0]["curve"], [(1, {"val_acc": 0.5, "val_loss": 1.25}), (2, {"val_acc": 0.625, "val/loss": 1.0})])
        self.assertEqual(t[1]["status"], "failed")
        self.assertEqual(study.records()[-1]["reason"], "out of memory")

    def test_a_cull_reads_as_should_prune_and_there_is_nothing_to_tell_after_it(self):
        study = self.study('{"method": "random", "trials": 4, "model": {"epochs": 4}, "parameters": {%s}, '
                           '"early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 4, '
                           '"eta": 2}}' % LR)
        a, b = study.ask(), study.ask()
        self.assertTrue(a.report(1, val_acc=0.9))
        self.assertFalse(b.report(1, val_acc=0.1))
        self.assertTrue(b.should_prune())
        self.assertFalse(b.tell(val_acc=0.1), "culled: nothing recorded")
        self.assertEqual(study.trials()[1]["status"], "culled")

    def test_bad_input_raises_caviars_line_and_changes_nothing(self):
        study = self.study('{"method": "random", "trials": 2, "parameters": {%s}}' % LR)
        trial = study.ask()
        self.assertTrue(trial.report(1, val_acc=0.5))
        journal = os.path.join(study.path, "journal.jsonl")
        before = open(journal).read()
        cases = [(lambda: trial.report(2, val_acc=float("nan")), "finite"),
                 (lambda: trial.report(1, val_acc=0.6), "not after the epoch it reported last"),
                 (lambda: trial.report(2, val_loss=0.6), "needs the study's metric"),
                 (lambda: caviar_study.Trial(study, {"trial": 9, "params": {}, "attempt": 1, "epochs": 1}).tell(val_acc=1),
                  "never handed out")]
        for call, expect in cases:
            with self.assertRaises(caviar_study.StudyError) as e:
                call()
            self.assertIn(expect, str(e.exception))
            self.assertNotIn("\n", str(e.exception))
            self.assertEqual(e.exception.status, 2)
        self.assertEqual(open(journal).read(), before)
        with self.assertRaises(caviar_study.StudyError):
            caviar_study.Study(self.dir)

    def test_four_processes_at_once_lose_and_duplicate_nothing(self):
        study = self.study('{"method": "sobol", "seed": 2, "trials": 40, "model": {"epochs": 2}, "parameters": {%s}}' % LR)
        with multiprocessing.Pool(4) as pool:
            told = sum(pool.starmap(worker, [(study.path, k) for k in range(4)]), [])
        self.assertEqual(sorted(told), list(range(40)))
        starts = [r["trial"] for r in study.records() if r["event"] == "start"]
        self.assertEqual(sorted(starts), list(range(40)))
        self.assertIsNone(study.ask(), "the study is done")

    def test_readers_leave_out_a_torn_last_line(self):
        study = self.study('{"method": "random", "trials": 2, "parameters": {%s}}' % LR)
        study.ask()
        with open(os.path.join(study.path, "journal.jsonl"), "a") as f:
            f.write('{"event": "start", "tri')
        self.assertEqual(len(study.records()), 1)
        self.assertEqual(study.ask().id, 1, "the next writer cuts the torn line off")
        self.assertEqual([r["trial"] for r in study.records()], [0, 1])

    def test_under_the_agent_current_and_log_are_the_whole_protocol(self):
        study = self.study('{"method": "random", "seed": 6, "trials": 5, "model": {"epochs": 3}, "parameters": {%s}}' % LR)
        program = os.path.join(self.dir, "train.py")
        with open(program, "w") as f:
            f.write(f"import sys\nsys.path.insert(0, {os.path.join(SOURCE, 'python')!r})\nimport caviar_study, math\n"
                    "trial = caviar_study.current()\n"
                    "for epoch in range(1, trial['epochs'] + 1):\n"
                    "    caviar_study.log(epoch, val_acc=1 - abs(math.log10(trial['params']['learning_rate']) + 2) / 4)\n"
                    "caviar_study.log(val_acc=0.5, test_acc=0.25)\n")
        p = subprocess.run([CAVIAR, "agent", study.path, "-j", "2", "--", sys.executable, program], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        trials = study.trials()
        self.assertEqual(len(trials), 5)
        for t in trials.values():
            self.assertEqual(t["status"], "completed")
            self.assertEqual(t["metrics"], {"val_acc": 0.5, "test_acc": 0.25}, "the final line's values")
            self.assertEqual(len(t["curve"]), 3)
        self.assertIsNone(caviar_study.current() if "CAVIAR_PARAMS" not in os.environ else None)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=1)
