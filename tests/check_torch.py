#!/usr/bin/env python3
"""README's PyTorch snippet against caviar itself: a classifier with named classes and two hidden
layers, a regression, an MLP with batch normalisation and CNNs (convolution, batch norm, max and
average pooling), swept by caviar, loaded by the snippet with load_state_dict and run on their test
sets, must give caviar eval's accuracy and RMSE; batch norm runs on the saved running statistics
there (PyTorch's eval mode), an independent implementation of what caviar's inference computes.
Exits 77 (skipped) where python3 cannot import torch."""
import gzip, json, math, os, re, struct, subprocess, sys, tempfile

try:
    import torch
except ImportError:
    # Debian's python3-torch is the system interpreter's: try it where python3 is another one.
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system) and \
            not os.environ.get("CAVIAR_TORCH_RETRY"):
        os.environ["CAVIAR_TORCH_RETRY"] = "1"
        os.execv(system, [system, *sys.argv])
    print("skipped: python3 cannot import torch (Debian: apt-get install python3-torch)")
    sys.exit(77)

caviar, readme = sys.argv[1], sys.argv[2]
text = open(readme).read()
snippet = re.search(r"<!-- torch-snippet -->\s*```python\n(.*?)```", text, re.S).group(1)
scope = {}
exec(snippet, scope)
load_caviar = scope["load_caviar"]


def run(*args):
    r = subprocess.run([caviar, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"caviar {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def read_csv(path):
    lines = open(path).read().split("\n")[1:]
    rows = [line.split(",") for line in lines if line]
    return [r[0] for r in rows], torch.tensor([[float(v) for v in r[1:]] for r in rows])


def read_idx(folder):
    """The t10k images (n x H x W bytes) as an (n, H * W) float tensor and the labels."""
    images = gzip.open(f"{folder}/t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(f"{folder}/t10k-labels-idx1-ubyte.gz").read()
    dims = struct.unpack(">" + "I" * (images[3]), images[4:4 + 4 * images[3]])
    x = torch.tensor(list(images[4 + 4 * len(dims):]), dtype=torch.float32).reshape(dims[0], -1)
    return x, torch.tensor(list(labels[8:]))


def sweep(tmp, name, flags, data_extra, model_extra, layers):
    folder = os.path.join(tmp, name)
    run("synth", folder, *flags)
    data = {"dir": folder} if "--images" in flags else {"format": "csv", "train": f"{folder}/train.csv",
                                                          "test": f"{folder}/test.csv"}
    spec = {"method": "random", "trials": 2, "seed": 4,
            "data": dict(data, **data_extra),
            "model": dict({"epochs": 5, "batch_size": 32, "hidden": 24, "layers": layers}, **model_extra),
            "parameters": {"learning_rate": {"values": [0.003, 0.01]}}}
    with open(os.path.join(tmp, name + ".json"), "w") as f:
        json.dump(spec, f)
    out = os.path.join(tmp, name + "-out")
    run("sweep", os.path.join(tmp, name + ".json"), "-o", out, "--quiet")
    best = json.load(open(os.path.join(out, "summary.json")))["best"]
    return os.path.join(out, best["model"]), f"{folder}/test.csv"


with tempfile.TemporaryDirectory() as tmp:
    model_path, test_csv = sweep(tmp, "names", ["--names", "--train", "600", "--test", "200", "--features", "6",
                                                "--classes", "3", "--noise", "1"], {}, {}, 2)
    model, meta = load_caviar(model_path)
    assert meta["task"] == "classification" and "logits" in meta["outputs"], meta
    labels, x = read_csv(test_csv)
    with torch.no_grad():
        predicted = model(x).argmax(1)
    acc = sum(meta_name == label for meta_name, label in
              zip((json.loads(meta["labels"])[k] for k in predicted.tolist()), labels)) / len(labels)
    eval_acc = float(re.match(r"test_acc (\S+)", run("eval", model_path)).group(1))
    assert abs(acc - eval_acc) < 1.5e-4 + 1 / len(labels), (acc, eval_acc)
    assert acc > 0.5, acc

    model_path, test_csv = sweep(tmp, "reg", ["--regression", "--train", "1500", "--test", "300", "--features", "6"],
                                 {"label_column": "y", "scaling": "standardize"}, {"task": "regression"}, 3)
    model, meta = load_caviar(model_path)
    targets, x = read_csv(test_csv)
    with torch.no_grad():
        y = model(x)
    rmse = math.sqrt(sum((float(p) - float(t)) ** 2 for p, t in zip(y.tolist(), targets)) / len(targets))
    eval_rmse = float(re.match(r"test_rmse (\S+)", run("eval", model_path)).group(1))
    assert abs(rmse - eval_rmse) < 1e-3 * eval_rmse, (rmse, eval_rmse)
    results = []
    # An MLP with batch normalisation (BatchNorm1d), and CNNs: max pooling with batch norm, average
    # pooling without, a 5 x 5 kernel; each loaded and run by the snippet, against caviar eval.
    cases = [("mlp-bn", ["--names", "--train", "600", "--test", "200", "--features", "6", "--classes", "3"],
              {"batchnorm": "on"}),
             ("cnn-max-bn", ["--images", "--train", "800", "--test", "300", "--classes", "4"],
              {"type": "cnn", "conv_blocks": 2, "channels": 4, "batchnorm": "on", "pool": "max"}),
             ("cnn-avg", ["--images", "--side", "10", "--train", "800", "--test", "300", "--classes", "4"],
              {"type": "cnn", "conv_blocks": 1, "channels": 5, "pool": "avg", "kernel_size": 5})]
    for name, flags, extra in cases:
        model_path, test_csv = sweep(tmp, name, flags, {}, dict({"hidden": 16}, **extra), 1)
        model, meta = load_caviar(model_path)
        if "--images" in flags:
            x, y = read_idx(os.path.join(tmp, name))
        else:
            names, x = read_csv(test_csv)
            y = torch.tensor([json.loads(meta["labels"]).index(v) for v in names])
        with torch.no_grad():
            predicted = model(x).argmax(1)
        acc = float((predicted == y).float().mean())
        eval_acc = float(re.match(r"test_acc (\S+)", run("eval", model_path)).group(1))
        assert abs(acc - eval_acc) < 1.5e-4 + 1 / len(y), (name, acc, eval_acc)
        assert acc > 0.5, (name, acc)
        if "batchnorm" in extra:
            steps = [int(t) for k, t in model.state_dict().items() if k.endswith("num_batches_tracked")]
            assert steps and all(s > 0 for s in steps), (name, steps)
        results.append(f"{name} test_acc {acc:.4f} (eval {eval_acc:.4f})")
    print(f"ok: classifier test_acc {acc:.4f} (eval {eval_acc:.4f}), regression test_rmse {rmse:.5g} "
          f"(eval {eval_rmse:.5g}); " + "; ".join(results))
