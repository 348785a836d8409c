#!/usr/bin/env python3
"""The device check's summary, from the logs folder scripts/device-check.sh fills: the card, every
step's verdict, the GPU tests' counts, the sanitizers' error summaries, the benchmark table (each
row with the copy bandwidth, the SGEMM rate and the floors measured in the same run), the peers
with caviar's ratio to each, and the default sweep's survivors. Markdown, ready for docs/PERF.md.
A missing or broken log becomes a row that says so: this never fails on partial results.

usage: python3 scripts/device_table.py LOGS_DIR
"""
import json
import os
import re
import sys


def read(logs, name):
    try:
        with open(os.path.join(logs, name), errors="replace") as f:
            return f.read()
    except OSError:
        return None


def last_json(logs, name):
    text = read(logs, name)
    if not text:
        return None
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def card(logs):
    text = read(logs, "gpu.txt") or "no gpu.txt: the check stopped before looking at the device\n"
    lines = [l for l in text.splitlines() if l.strip()]
    return lines


def tests(logs):
    rows = []
    for name in ["test_rng_gpu", "test_cuda_plan", "test_backend_agreement"]:
        text = read(logs, name + ".log")
        if text is None:
            rows.append(f"- {name}: no log")
            continue
        synth = re.findall(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", text)
        skipped = len(re.findall(r"\[SKIP\]", text))
        failed = sorted(set(re.findall(r"\[FAIL\] (\S+)", text)))
        if synth:
            t, p, f, c = synth[-1]
            rows.append(f"- {name}: {t} tested, {p} passing, {f} failing, {c} crashing, {skipped} skipped"
                        + (f"; failing: {', '.join(failed)}" if failed else ""))
        else:
            rows.append(f"- {name}: no Criterion summary (see {name}.log)")
    return rows


def sanitizers(logs):
    rows = []
    for name in ["memcheck", "racecheck"]:
        text = read(logs, name + ".log")
        if text is None:
            continue
        summary = re.findall(r"(?:ERROR SUMMARY|RACECHECK SUMMARY): [^\n]*", text)
        rows.append(f"- {name}: " + (summary[-1] if summary else "no summary line (see " + name + ".log)"))
    return rows


def all_json(logs, name):
    rows = []
    for line in (read(logs, name) or "").splitlines():
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


BENCHES = ["bench_base", "bench_fp32", "bench_tf32", "bench_eager"]


def bench_table(logs):
    out = ["| run | models | chunks | epoch s | model-samples/s | GFLOP/s | of SGEMM (same run) | copy GB/s "
           "| memory floor s | of memory floor | GEMM floor s | no-overlap floor s | of no-overlap floor |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in BENCHES:
        if read(logs, name + ".log") is None:
            continue
        rows = all_json(logs, name + ".log")
        if not rows:
            out.append(f"| {name} | no result: see {name}.log |" + " |" * 11)
        for r in rows:
            g = lambda k, d=0.0: r.get(k, d)
            label = name + (" (eager)" if g("eager", False) else "")
            chunks = g("chunks", "-") or "default"
            out.append(f"| {label} | {g('models')} | {chunks} | {g('epoch_seconds'):.3f} "
                       f"| {g('model_samples_per_second'):,.0f} | {g('gflops'):,.0f} "
                       f"| {g('ratio'):.2f} of {g('ceiling_gflops'):,.0f} | {g('copy_gbs'):,.0f} "
                       f"| {g('memory_floor_seconds'):.3f} | {g('floor_fraction'):.2f} | {g('gemm_floor_seconds'):.3f} "
                       f"| {g('serial_floor_seconds'):.3f} | {g('serial_fraction'):.2f} |")
    return out


def peers_table(logs, name):
    peers = last_json(logs, name + ".log")
    if not peers:
        return [f"{name}: no result (see {name}.log)"] if read(logs, name + ".log") is not None else []
    c = peers.get("caviar", 0.0)
    bench = peers.get("caviar_bench", {})
    out = [f"{name}, {peers.get('models')} models 784-128-10, batch 128, Adam, one run on one card:", "",
           "| trainer (same run) | matmul precision | model-samples/s | caviar is |", "| --- | --- | --- | --- |"]
    for p in peers.get("peers", []):
        rate = p.get("rate") or float("nan")
        ratio = f"{c / rate:.1f}x" if rate == rate and rate > 0 else "-"
        note = f" ({p['note']})" if "note" in p else ""
        out.append(f"| {p.get('name')}{note} | {p.get('precision')} | {rate:,.0f} | {ratio} |")
    out.append(f"| caviar bench ({bench.get('device', '?')}) | {peers.get('precision', 'fp32')} | {c:,.0f} | |")
    return out


def ncu_summary(logs):
    text = read(logs, "ncu.log")
    if not text:
        return []
    out = ["Nsight Compute, one step's kernels (N = 1024, direct launches):", "",
           "| kernel | duration | memory throughput % | compute (SM) throughput % |", "| --- | --- | --- | --- |"]
    kernel = None
    fields = {}
    for line in text.splitlines():
        m = re.match(r"\s{2}(\S.*?) \(\d+, \d+, \d+\)x\(\d+, \d+, \d+\)", line)
        if m:
            if kernel:
                out.append(f"| {kernel[:70]} | {fields.get('Duration', '?')} | {fields.get('Memory Throughput', '?')} "
                           f"| {fields.get('Compute (SM) Throughput', '?')} |")
            kernel, fields = m.group(1), {}
            continue
        m = re.match(r"\s+(Duration|Memory Throughput|Compute \(SM\) Throughput)\s+(\S+)\s+([\d.,]+)", line)
        if m and kernel:
            fields[m.group(1)] = f"{m.group(3)} {m.group(2)}" if m.group(1) == "Duration" else m.group(3)
    if kernel:
        out.append(f"| {kernel[:70]} | {fields.get('Duration', '?')} | {fields.get('Memory Throughput', '?')} "
                   f"| {fields.get('Compute (SM) Throughput', '?')} |")
    return out if len(out) > 4 else ["ncu: no kernel sections (see ncu.log)"]


def sweep(logs):
    try:
        with open(os.path.join(logs, "default-sweep-summary.json")) as f:
            s = json.load(f)
    except (OSError, ValueError):
        return ["default sweep: no summary.json (see default_sweep.log)"]
    trials = s.get("trials", [])
    survivors = [t for t in trials if t.get("status") == "survived"]
    best = s.get("best", {}) or {}
    line = (f"default sweep on the GPU: {len(trials)} trials in {s.get('wall_seconds', 0):.1f} s, "
            f"{s.get('model_samples_per_second', 0):,.0f} model-samples/s; survivors "
            + ", ".join(f"{t.get('trial')} (val_acc {t.get('val_acc', 0):.4f}, test_acc {t.get('test_acc', 0):.4f})"
                        for t in survivors)
            + f"; best trial {best.get('trial')} test_acc {best.get('test_acc')}")
    return [line]


def main():
    logs = sys.argv[1]
    out = ["## device check", ""]
    out += ["    " + l for l in card(logs)]
    out += ["", "steps:"]
    out += ["- " + l for l in (read(logs, "steps.txt") or "").splitlines() if l.strip()]
    out += ["", "tests:"] + tests(logs)
    san = sanitizers(logs)
    if san:
        out += ["", "compute-sanitizer on the tiny sweeps:"] + san
    out += [""] + bench_table(logs)
    for name in ["peers", "peers_tf32"]:
        table = peers_table(logs, name)
        if table:
            out += [""] + table
    out += [""] + sweep(logs)
    ncu = ncu_summary(logs)
    if ncu:
        out += [""] + ncu
    print("\n".join(out))


if __name__ == "__main__":
    main()
