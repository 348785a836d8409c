# Classify each config as W&B would: PyYAML safe_load, then W&B's schema (Draft 7 with its format checks).
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
