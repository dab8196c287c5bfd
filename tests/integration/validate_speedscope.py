"""Validates speedscope files against the JSON schema that speedscope's npm
package publishes, then checks what the schema cannot say: every frame index
points into shared.frames, each sampled profile has one weight per sample,
and endValue - startValue is the sum of its weights.

usage: validate_speedscope.py [--schema SCHEMA.json] FILE...

Without --schema, tests/integration/fetch_speedscope_schema.sh (beside this
file) is run to find it (installing the npm package into its cache once).
Exit status: 0 all files valid, 1 a file is not (one line per problem on
stderr), 2 usage or setup error, 77 python3-jsonschema is missing.
Importable: validate(path, schema) returns the list of problems.
"""

import json
import os
import subprocess
import sys

EXIT_SKIP = 77


def fetch_schema():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "fetch_speedscope_schema.sh")
    out = subprocess.run(["sh", script], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


def semantic_problems(doc):
    """What the schema does not check."""
    problems = []
    nframes = len(doc["shared"]["frames"])
    for i, prof in enumerate(doc["profiles"]):
        where = "profiles[%d] (%s)" % (i, prof.get("name"))
        if prof["type"] != "sampled":
            continue
        samples, weights = prof["samples"], prof["weights"]
        if len(samples) != len(weights):
            problems.append("%s: %d samples but %d weights" % (where, len(samples), len(weights)))
        for j, stack in enumerate(samples):
            bad = [f for f in stack if not (isinstance(f, int) and 0 <= f < nframes)]
            if bad:
                problems.append("%s: samples[%d] has frame indices %s outside 0..%d"
                                % (where, j, bad, nframes - 1))
        if any(w < 0 for w in weights):
            problems.append("%s: negative weight" % where)
        if prof["endValue"] - prof["startValue"] != sum(weights):
            problems.append("%s: endValue - startValue = %s, weights sum to %s"
                            % (where, prof["endValue"] - prof["startValue"], sum(weights)))
    return problems


def validate(path, schema_path):
    import jsonschema

    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return ["not JSON: %s" % e]
    validator = jsonschema.Draft7Validator(schema)
    problems = ["schema: %s at /%s" % (e.message, "/".join(str(p) for p in e.absolute_path))
                for e in validator.iter_errors(doc)]
    return problems or semantic_problems(doc)


def main(argv):
    args = argv[1:]
    schema = None
    if args[:1] == ["--schema"] and len(args) >= 2:
        schema, args = args[1], args[2:]
    if not args or args[0].startswith("-"):
        print("usage: validate_speedscope.py [--schema SCHEMA.json] FILE...", file=sys.stderr)
        return 2
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        print("validate_speedscope: python3-jsonschema is not installed", file=sys.stderr)
        return EXIT_SKIP
    if schema is None:
        try:
            schema = fetch_schema()
        except (OSError, subprocess.CalledProcessError) as e:
            print("validate_speedscope: no schema: %s" % e, file=sys.stderr)
            return 2
    failed = False
    for path in args:
        for problem in validate(path, schema):
            print("%s: %s" % (path, problem), file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
