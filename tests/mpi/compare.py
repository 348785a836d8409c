#!/usr/bin/env python3
"""Compares two sweep output folders: summary.json must be equal value for value (floats as
written, so bit for bit) apart from wall time, speed, device and the ranks' report; curves.csv and
every file in best/ must be equal byte for byte. Prints what differs; exit 1 if anything does.
usage: compare.py ONE_PROCESS_DIR DISTRIBUTED_DIR [MIN_RANKS]"""
import json
import os
import sys

IGNORED = {"wall_seconds", "device_seconds", "model_samples_per_second", "device", "ranks"}


def strip(summary):
    return {k: v for k, v in summary.items() if k not in IGNORED}


def main():
    a, b = sys.argv[1], sys.argv[2]
    min_ranks = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    problems = []
    sa = json.load(open(os.path.join(a, "summary.json")))
    sb = json.load(open(os.path.join(b, "summary.json")))
    if "ranks" in sa:
        problems.append(f"{a}: a one-process run's summary.json has a ranks field")
    ranks = sb.get("ranks", [])
    if len(ranks) < min_ranks:
        problems.append(f"{b}: summary.json reports {len(ranks)} ranks, expected {min_ranks}")
    if min_ranks > 1 and sum(1 for r in ranks if r.get("trials", 0) > 0) < 2:
        problems.append(f"{b}: the trials were not shared between ranks: {[r.get('trials') for r in ranks]}")
    for k in sorted(set(strip(sa)) | set(strip(sb))):
        if sa.get(k) != sb.get(k):
            detail = ""
            if k == "trials" and isinstance(sa.get(k), list) and isinstance(sb.get(k), list):
                for ta, tb in zip(sa[k], sb[k]):
                    if ta != tb:
                        detail = f": first differing trial {json.dumps(ta)[:300]} vs {json.dumps(tb)[:300]}"
                        break
            problems.append(f"summary.json field {k} differs{detail}")
    for name in ["curves.csv"]:
        if open(os.path.join(a, name), "rb").read() != open(os.path.join(b, name), "rb").read():
            problems.append(f"{name} differs")
    best_a = sorted(os.listdir(os.path.join(a, "best")))
    best_b = sorted(os.listdir(os.path.join(b, "best")))
    if best_a != best_b:
        problems.append(f"best/ holds {best_a} against {best_b}")
    else:
        for f in best_a:
            if open(os.path.join(a, "best", f), "rb").read() != open(os.path.join(b, "best", f), "rb").read():
                problems.append(f"best/{f} differs")
    if not sa.get("trials"):
        problems.append(f"{a}: no trials in summary.json")
    for p in problems:
        print(f"compare: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
