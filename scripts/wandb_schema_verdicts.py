#!/usr/bin/python3
"""W&B's own verdict on sweep configs: the wandb_schema column of tests/wandb_configs/SOURCES.tsv.
Each file is read as W&B reads it (PyYAML's safe_load) and checked against W&B's sweep schema
(config/schema.json of github.com/wandb/sweeps, JSON Schema draft 7 with its "float" and
"integer" format checks). Prints one line per file: name, accepts|rejects, and the first error.
Needs python3-yaml and python3-jsonschema (Debian); W&B's schema is not part of caviar.
  scripts/wandb_schema_verdicts.py SWEEPS/config/schema.json tests/wandb_configs/*.y*ml"""
import json, sys, yaml, jsonschema, glob, os
schema = json.load(open(sys.argv[1]))
fc = jsonschema.FormatChecker()
fc.checks("float")(lambda v: isinstance(v, float))
fc.checks("integer")(lambda v: isinstance(v, int))
v = jsonschema.Draft7Validator(schema, format_checker=fc)
for f in sorted(sys.argv[2:]):
    try:
        d = yaml.safe_load(open(f))
    except Exception as e:
        print(f"{os.path.basename(f)}\trejects\tyaml: {str(e).splitlines()[0]}"); continue
    errs = sorted(v.iter_errors(d), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        print(f"{os.path.basename(f)}\trejects\t{'/'.join(map(str, e.path))}: {e.message[:100]}")
    else:
        print(f"{os.path.basename(f)}\taccepts\t")
