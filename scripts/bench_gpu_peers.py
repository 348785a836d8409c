#!/usr/bin/env python3
"""GPU peers beside caviar, in one run on one card: N MLPs 784-128-10 (batch 128, Adam, Fashion-MNIST)
trained by

  - PyTorch, the models one after another (the usual Python loop over configs),
  - PyTorch, batched: stacked weights, torch.matmul over the member dimension, fused Adam,
  - PyTorch torch.func: stack_module_state + functional_call under vmap, fused Adam,
  - JAX: jit(vmap(...)) of a whole Adam step with per-member learning rates,
  - caviar bench --device cuda --models N.

Every matmul runs in full fp32 ("highest" precision: no TF32), or with --tf32 every trainer (caviar
too) runs its matmuls on TF32 tensor cores; the precision is stated in the output. Rates are
model-samples per second over timed steps after warm-up (the one-by-one loop is timed on a few
models: its rate does not depend on how many follow). Prints a table and a JSON line last.

usage: python3 scripts/bench_gpu_peers.py --data DIR --caviar BINARY [--models N] [--device cuda|cpu] [--tf32]
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import time

import numpy as np

INPUTS, HIDDEN, CLASSES, BATCH = 784, 128, 10, 128


def load_fashion(folder):
    with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz")) as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32) / 255.0
    with gzip.open(os.path.join(folder, "train-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    return x, y


def learning_rates(n):
    return np.logspace(-4, -2, n).astype(np.float32)


def timed(fn, sync, warmup, steps):
    for s in range(warmup):
        fn(s)
    sync()
    start = time.perf_counter()
    for s in range(steps):
        fn(warmup + s)
    sync()
    return time.perf_counter() - start


def torch_peers(x, y, n, device, steps, tf32):
    import torch
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    precision = "tf32 (high)" if tf32 else "fp32 (highest)"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    xt = torch.from_numpy(x).to(device)
    yt = torch.from_numpy(y).to(device)
    batches = xt.shape[0] // BATCH
    lrs = learning_rates(n)
    results = []

    def batch(s):
        i = s % batches
        return xt[i * BATCH:(i + 1) * BATCH], yt[i * BATCH:(i + 1) * BATCH]

    # One by one: a few models, each trained for `steps` steps.
    models = min(n, 4)
    total = 0.0
    for m in range(models):
        model = torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, CLASSES)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=float(lrs[m]))

        def step(s, model=model, opt=opt):
            xb, yb = batch(s)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        total += timed(step, sync, 10, steps)
    results.append({"name": "PyTorch, models one by one", "precision": precision,
                    "rate": models * steps * BATCH / total})

    # Batched: stacked weights, one matmul per layer over all members.
    w1 = (torch.randn(n, INPUTS, HIDDEN, device=device) * (2 / INPUTS) ** 0.5).requires_grad_()
    b1 = torch.zeros(n, 1, HIDDEN, device=device, requires_grad=True)
    w2 = (torch.randn(n, HIDDEN, CLASSES, device=device) * (2 / HIDDEN) ** 0.5).requires_grad_()
    b2 = torch.zeros(n, 1, CLASSES, device=device, requires_grad=True)
    fused = {"fused": True} if device == "cuda" else {}
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=1e-3, **fused)

    def batched_step(s):
        xb, yb = batch(s)
        h = torch.relu(torch.matmul(xb, w1) + b1)
        logits = torch.matmul(h, w2) + b2
        # The sum of the members' mean losses: each member's gradient is its own.
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES), yb.repeat(n)) * n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    t = timed(batched_step, sync, 10, steps)
    results.append({"name": "PyTorch, batched matmul ensemble (fused Adam, one lr)", "precision": precision,
                    "rate": n * steps * BATCH / t})

    # torch.func: the documented way to vectorise an ensemble of one module.
    try:
        from torch.func import functional_call, stack_module_state
    except ImportError:
        results.append({"name": "PyTorch torch.func vmap", "precision": "-", "rate": float("nan"),
                        "note": "torch.func not available in torch " + torch.__version__})
        return results
    base = torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(HIDDEN, CLASSES)).to(device)
    members = [torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(),
                                   torch.nn.Linear(HIDDEN, CLASSES)).to(device) for _ in range(n)]
    params, buffers = stack_module_state(members)
    for p in params.values():
        p.requires_grad_()
    opt = torch.optim.Adam(list(params.values()), lr=1e-3, **fused)

    def one(p, b, xb):
        return functional_call(base, (p, b), (xb,))
    ensemble = torch.vmap(one, in_dims=(0, 0, None))

    def vmap_step(s):
        xb, yb = batch(s)
        logits = ensemble(params, buffers, xb)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES), yb.repeat(n)) * n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    t = timed(vmap_step, sync, 10, steps)
    results.append({"name": "PyTorch torch.func vmap ensemble (fused Adam, one lr)", "precision": precision,
                    "rate": n * steps * BATCH / t})
    return results


def jax_peer(x, y, n, steps, tf32):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {"name": "JAX jit(vmap)", "precision": "-", "rate": float("nan"), "note": "jax not installed"}
    jax.config.update("jax_default_matmul_precision", "tensorfloat32" if tf32 else "highest")
    precision = "tf32 (tensorfloat32)" if tf32 else "fp32 (highest)"
    key = jax.random.PRNGKey(0)
    k1, k2 = jax.random.split(key)
    params = {"w1": jax.random.normal(k1, (n, INPUTS, HIDDEN)) * (2 / INPUTS) ** 0.5, "b1": jnp.zeros((n, HIDDEN)),
              "w2": jax.random.normal(k2, (n, HIDDEN, CLASSES)) * (2 / HIDDEN) ** 0.5, "b2": jnp.zeros((n, CLASSES))}
    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params), jax.tree_util.tree_map(jnp.zeros_like, params))
    lrs = jnp.asarray(learning_rates(n))

    def loss_fn(p, xb, yb):
        h = jax.nn.relu(xb @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

    def adam(p, m, v, xb, yb, lr, t):
        g = jax.grad(loss_fn)(p, xb, yb)
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        p = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
        return p, m, v

    step = jax.jit(jax.vmap(adam, in_axes=(0, 0, 0, None, None, 0, None)))
    xj, yj = jnp.asarray(x), jnp.asarray(y.astype(np.int32))
    batches = x.shape[0] // BATCH
    box = {"state": state}

    def run(s):
        i = s % batches
        p, m, v = box["state"]
        box["state"] = step(p, m, v, xj[i * BATCH:(i + 1) * BATCH], yj[i * BATCH:(i + 1) * BATCH], lrs, s + 1.0)

    def sync():
        jax.block_until_ready(box["state"])
    t = timed(run, sync, 10, steps)
    return {"name": "JAX jit(vmap) Adam, per-member lr", "precision": precision, "rate": n * steps * BATCH / t}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--caviar", required=True)
    ap.add_argument("--models", type=int, default=1024)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--tf32", action="store_true", help="every trainer's matmuls on TF32 tensor cores")
    a = ap.parse_args()
    x, y = load_fashion(a.data)
    x, y = x[:54000], y[:54000]
    peers = torch_peers(x, y, a.models, a.device, a.steps, a.tf32)
    if a.device == "cuda":
        peers.append(jax_peer(x, y, a.models, a.steps, a.tf32))
    out = subprocess.run([a.caviar, "bench", "--device", a.device, "--models", str(a.models), "--hidden", str(HIDDEN),
                          "--batch", str(BATCH), "--data", a.data, "--json"] + (["--tf32"] if a.tf32 else []),
                         check=True, capture_output=True, text=True)
    caviar = json.loads(out.stdout)
    print(f"{a.models} models 784-{HIDDEN}-{CLASSES}, batch {BATCH}, Adam; device {caviar['device']}")
    for p in peers:
        note = f" ({p['note']})" if "note" in p else ""
        print(f"  {p['name']:58s} {p['precision']:16s} {p['rate']:14,.0f} model-samples/s{note}")
    mine = "tf32" if a.tf32 else "fp32"
    print(f"  {'caviar bench':58s} {mine:16s} {caviar['model_samples_per_second']:14,.0f} model-samples/s")
    print(json.dumps({"models": a.models, "precision": mine, "peers": peers,
                      "caviar": caviar["model_samples_per_second"], "caviar_bench": caviar}))


if __name__ == "__main__":
    main()
