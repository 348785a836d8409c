#!/usr/bin/env python3
"""CPU peers beside caviar, in one run on one machine: the same population (32 MLPs 784-128-10,
batch 128, Adam, fp32) trained on Fashion-MNIST's 54,000 training examples by

  - scikit-learn's MLPClassifier: one (128,) model (it cannot train several at once),
  - PyTorch, the 32 models one after another (the usual Python loop over configs),
  - PyTorch, the 32 models batched with torch.bmm (one optimizer over stacked weights),
  - caviar bench --models 32 --hidden 128 --batch 128.

With --cnn, 32 CNNs instead (two blocks of 3x3 convolution, batch norm, ReLU and 2x2 max pooling
with 32 and 64 channels, a dense head of 128 with batch norm, batch 128, Adam) by

  - PyTorch, the 32 models one after another,
  - PyTorch, the 32 models as one grouped network (HFTA's fusion: the first convolution with
    32 x 32 output channels over the shared minibatch, the second with groups = 32, batch norm over
    the stacked channels, the heads as torch.bmm),
  - PyTorch's torch.func: one model's functional step vmapped over the 32 members' parameters,
  - caviar bench --model cnn --models 32 --conv-blocks 2 --channels 32 --batchnorm, on 2,000
    synthetic 28 x 28 images (`caviar synth --images --side 28`), a slice like the peers'.

Speeds are model-samples per second (examples seen, summed over models). The peers train on a
slice of the epoch to keep the run short; throughput does not depend on the slice once warm.
Needs Debian's python3-torch and python3-sklearn (scripts/bench_cpu_peers.sh installs them).

usage: /usr/bin/python3 scripts/bench_cpu_peers.py [CAVIAR_BINARY] [--cnn]
"""
import gzip
import json
import os
import struct
import subprocess
import tempfile
import sys
import time

import numpy as np
import torch

MODELS, INPUTS, HIDDEN, CLASSES, BATCH = 32, 784, 128, 10, 128
DATA = "/usr/share/datasets/fashion-mnist"


def load_fashion():
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz")) as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32) / 255.0
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    return x[:54000], y[:54000]


def sklearn_one_model(x, y, examples):
    from sklearn.neural_network import MLPClassifier
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="adam", batch_size=BATCH, max_iter=1,
                          shuffle=True, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[:examples], y[:examples])
    return examples / (time.perf_counter() - start)


def torch_one_by_one(x, y, examples):
    xt, yt = torch.from_numpy(x[:examples]), torch.from_numpy(y[:examples])
    steps = examples // BATCH
    start = time.perf_counter()
    for m in range(MODELS):
        torch.manual_seed(m)
        model = torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES))
        opt = torch.optim.Adam(model.parameters(), lr=10 ** (-4 + 2 * m / (MODELS - 1)))
        for s in range(steps):
            xb, yb = xt[s * BATCH:(s + 1) * BATCH], yt[s * BATCH:(s + 1) * BATCH]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    return MODELS * steps * BATCH / (time.perf_counter() - start)


def torch_batched(x, y, examples):
    xt, yt = torch.from_numpy(x[:examples]), torch.from_numpy(y[:examples])
    steps = examples // BATCH
    torch.manual_seed(0)
    w1 = (torch.randn(MODELS, INPUTS, HIDDEN) * (2 / INPUTS) ** 0.5).requires_grad_()
    b1 = torch.zeros(MODELS, 1, HIDDEN, requires_grad=True)
    w2 = (torch.randn(MODELS, HIDDEN, CLASSES) * (2 / HIDDEN) ** 0.5).requires_grad_()
    b2 = torch.zeros(MODELS, 1, CLASSES, requires_grad=True)
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=1e-3)
    start = time.perf_counter()
    for s in range(steps):
        xb = xt[s * BATCH:(s + 1) * BATCH].expand(MODELS, BATCH, INPUTS)
        yb = yt[s * BATCH:(s + 1) * BATCH].repeat(MODELS)
        h = torch.relu(torch.bmm(xb, w1) + b1)
        logits = torch.bmm(h, w2) + b2
        opt.zero_grad()
        # Sum of the members' mean losses: each member's gradient is its own.
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES), yb) * MODELS
        loss.backward()
        opt.step()
    return MODELS * steps * BATCH / (time.perf_counter() - start)


def cnn_one(generator):
    """One CNN as caviar builds it (bias off before batch norm)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, HIDDEN, bias=False), nn.BatchNorm1d(HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, CLASSES))


def images(x, examples):
    return torch.from_numpy(x[:examples]).reshape(-1, 1, 28, 28)


def cnn_one_by_one(x, y, examples):
    xt, yt = images(x, examples), torch.from_numpy(y[:examples])
    steps = examples // BATCH
    start = time.perf_counter()
    for m in range(MODELS):
        torch.manual_seed(m)
        model = cnn_one(m)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for s in range(steps):
            xb, yb = xt[s * BATCH:(s + 1) * BATCH], yt[s * BATCH:(s + 1) * BATCH]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    return MODELS * steps * BATCH / (time.perf_counter() - start)


def cnn_grouped(x, y, examples):
    """HFTA's fused form: every member a group of channels of one network."""
    nn, n = torch.nn, MODELS
    xt, yt = images(x, examples), torch.from_numpy(y[:examples])
    steps = examples // BATCH
    torch.manual_seed(0)
    features = nn.Sequential(
        nn.Conv2d(1, n * 32, 3, padding=1, bias=False), nn.BatchNorm2d(n * 32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(n * 32, n * 64, 3, padding=1, groups=n, bias=False), nn.BatchNorm2d(n * 64), nn.ReLU(),
        nn.MaxPool2d(2))
    w1 = (torch.randn(n, 64 * 7 * 7, HIDDEN) * (2 / (64 * 49)) ** 0.5).requires_grad_()
    norm = nn.BatchNorm1d(n * HIDDEN)
    w2 = (torch.randn(n, HIDDEN, CLASSES) * (2 / HIDDEN) ** 0.5).requires_grad_()
    b2 = torch.zeros(n, 1, CLASSES, requires_grad=True)
    opt = torch.optim.Adam([*features.parameters(), w1, *norm.parameters(), w2, b2], lr=1e-3)
    start = time.perf_counter()
    for s in range(steps):
        xb, yb = xt[s * BATCH:(s + 1) * BATCH], yt[s * BATCH:(s + 1) * BATCH]
        h = features(xb).reshape(BATCH, n, 64 * 7 * 7).transpose(0, 1)  # (n, batch, 3136)
        h = torch.bmm(h, w1).transpose(0, 1).reshape(BATCH, n * HIDDEN)
        h = torch.relu(norm(h)).reshape(BATCH, n, HIDDEN).transpose(0, 1)
        logits = torch.bmm(h, w2) + b2
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES), yb.repeat(n)) * n
        loss.backward()
        opt.step()
    return n * steps * BATCH / (time.perf_counter() - start)


def cnn_vmap(x, y, examples):
    """torch.func (functorch on PyTorch 1.13): one model's loss gradient vmapped over the members'
    stacked parameters. Batch norm runs on batch statistics without updating running ones (vmap
    cannot update them in place), a little less work than caviar and the others do."""
    try:
        from torch.func import functional_call, grad, stack_module_state, vmap
        from torch.func import replace_all_batch_norm_modules_
    except ImportError:
        from functorch import grad, vmap
        from functorch.experimental import replace_all_batch_norm_modules_
        from torch.nn.utils.stateless import functional_call

        def stack_module_state(models):
            params = {k: torch.stack([dict(m.named_parameters())[k].detach() for m in models]).requires_grad_()
                      for k, _ in models[0].named_parameters()}
            buffers = {k: torch.stack([dict(m.named_buffers())[k] for m in models]) for k, _ in models[0].named_buffers()}
            return params, buffers
    xt, yt = images(x, examples), torch.from_numpy(y[:examples])
    steps = examples // BATCH
    models = [replace_all_batch_norm_modules_(cnn_one(m)) for m in range(MODELS)]
    params, buffers = stack_module_state(models)
    base = replace_all_batch_norm_modules_(cnn_one(0))

    def loss(p, b, xb, yb):
        out = functional_call(base, {**p, **b}, (xb,))
        return torch.nn.functional.cross_entropy(out, yb)

    step = vmap(grad(loss), in_dims=(0, 0, None, None))
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)
    start = time.perf_counter()
    for s in range(steps):
        xb, yb = xt[s * BATCH:(s + 1) * BATCH], yt[s * BATCH:(s + 1) * BATCH]
        grads = step(params, buffers, xb, yb)
        for k, p in params.items():
            p.grad = grads[k]
        opt.step()
    return MODELS * steps * BATCH / (time.perf_counter() - start)


def caviar_cnn(binary):
    # Like the peers, a slice rather than the whole epoch (32 CNNs over 54,000 examples take most of
    # an hour on 2 cores): 2,000 synthetic images of Fashion-MNIST's shape (1 x 28 x 28, 10 classes).
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([binary, "synth", data, "--images", "--side", "28", "--train", "2000"], check=True,
                       capture_output=True)
        out = subprocess.run([binary, "bench", "--model", "cnn", "--models", str(MODELS), "--conv-blocks", "2",
                              "--channels", "32", "--batchnorm", "--hidden", str(HIDDEN), "--batch", str(BATCH),
                              "--data", data, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def caviar(binary):
    out = subprocess.run([binary, "bench", "--models", str(MODELS), "--hidden", str(HIDDEN), "--batch", str(BATCH),
                          "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    args = [a for a in sys.argv[1:] if a != "--cnn"]
    cnn = "--cnn" in sys.argv[1:]
    binary = args[0] if args else "build/caviar"
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    x, y = load_fashion()
    print(f"machine: {threads} cores; torch {torch.__version__} ({torch.get_num_threads()} threads); fp32 everywhere")
    if cnn:
        results = {
            "PyTorch, 32 CNNs one by one": cnn_one_by_one(x, y, 512),
            "PyTorch, 32 CNNs grouped (HFTA)": cnn_grouped(x, y, 1024),
            "PyTorch torch.func, 32 CNNs vmapped": cnn_vmap(x, y, 1024),
        }
        c = caviar_cnn(binary)
    else:
        results = {
            "scikit-learn MLPClassifier, 1 model": sklearn_one_model(x, y, 27000),
            "PyTorch, 32 models one by one": torch_one_by_one(x, y, 6400),
            "PyTorch, 32 models batched (bmm)": torch_batched(x, y, 27000),
        }
        c = caviar(binary)
    print(f"{'trainer':44s} {'model-samples/s':>16s}")
    for name, rate in results.items():
        print(f"{name:44s} {rate:16,.0f}")
    print(f"{'caviar bench, 32 ' + ('CNNs' if cnn else 'models'):44s} {c['model_samples_per_second']:16,.0f}")
    best = max(results.values())
    print(f"caviar / best peer: {c['model_samples_per_second'] / best:.1f}x;"
          f" caviar at {c['ratio']:.2f} of the SGEMM ceiling ({c['gflops']:.1f} of {c['ceiling_gflops']:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
