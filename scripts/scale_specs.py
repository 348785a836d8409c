#!/usr/bin/env python3
"""The sweeps of scripts/bench_scale.sh and scripts/same_results.sh: one spec per strategy at about
N trials, on synthetic data (`caviar synth`) and a 1-layer MLP of 16 units.

  scripts/scale_specs.py N OUT_DIR DATA_DIR HYPERBAND_DATA_DIR

writes OUT_DIR/{sh,refill,hyperband,tpe,pbt,c2f,tpe-mixed}.json:
  sh         random search, successive halving 1 -> 3 -> 9 epochs (eta 3), all N at once
  refill     the same with a population of 256 (asynchronous successive halving)
  hyperband  Hyperband with s = 3 and eta = floor(N^(1/3)) (its brackets decide the count:
             1,158 trials at N = 1,000, 9,895 at 10,000, 100,254 at 100,000; max_iter = eta^3
             epochs, so its data set is tiny and one minibatch an epoch)
  tpe        TPE with successive halving and a population of 256 (a proposal per started trial)
  pbt        PBT, 4 epochs, exploit and explore every 2, all N at once
  c2f        coarse to fine: 3 rounds of N / 3, successive halving in each
  tpe-mixed  tpe's sweep over parameters of every kind: the three continuous ones, an integer
             (layers 1..2), a q_ one (hidden 8..32, q 8) and a list (optimizer); not one of
             bench_scale.sh's six unless named
"""
import json
import os
import sys

n, out, data, hb_data = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs(out, exist_ok=True)
base = {
    "metric": {"name": "val_acc", "goal": "maximize"},
    "data": {"format": "idx", "dir": os.path.abspath(data), "validation": 0.1},
    "model": {"type": "mlp", "epochs": 9, "optimizer": "adam", "batch_size": 128, "hidden": 16, "layers": 1},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "beta1": {"distribution": "one_minus_log_uniform_values", "min": 0.5, "max": 0.99},
        "lr_decay": {"min": 0, "max": 0.3},
    },
    "early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 9, "eta": 3},
}


def write(name, **keys):
    spec = json.loads(json.dumps(base))
    spec["name"] = f"scale-{name}-{n}"
    for k, v in keys.items():
        spec[k] = v
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(spec, f, indent=1)


write("sh", method="random", trials=n)
write("refill", method="random", trials=n, population=256)
eta = 2
while (eta + 1) ** 3 <= n:
    eta += 1
write("hyperband", method="random",
      data={"format": "idx", "dir": os.path.abspath(hb_data), "validation": 0.1},
      model={"type": "mlp", "optimizer": "adam", "batch_size": 180, "hidden": 16, "layers": 1},
      early_terminate={"type": "hyperband", "min_iter": 1, "max_iter": eta ** 3, "eta": eta})
write("tpe", method="tpe", trials=n, population=256)
write("pbt", method="random", trials=n, model=dict(base["model"], epochs=4),
      early_terminate={"type": "pbt", "interval": 2})
write("c2f", method="coarse-to-fine", trials=max(1, n // 3), coarse_to_fine={"rounds": 3, "zoom": 0.5, "top_k": 3})
write("tpe-mixed", method="tpe", trials=n, population=256, model={"type": "mlp", "epochs": 9, "batch_size": 128},
      parameters=dict(base["parameters"], layers={"min": 1, "max": 2},
                      hidden={"distribution": "q_uniform", "min": 8, "max": 32, "q": 8},
                      optimizer={"values": ["adam", "sgd", "momentum"]}))
