"""Loads a pstats file with this interpreter's own pstats module and prints
it as JSON (runs inside the target interpreter, Python 3.9 or newer).

usage: pstats_dump.py FILE.prof [SORTKEY[@LIMIT]...]

Output: {"stats": {"file:line(name)": [nc, cc, tt, ct]},
         "callers": {"file:line(name)": {"caller file:line(name)": [nc, cc]}},
         "entries": [[file, line, name, nc, cc, tt, ct], ...]  (file order),
         "total_calls": N, "prim_calls": N, "total_tt": T,
         "orders": {"KEY[@LIMIT]": {"title": sort_type,
                                    "rows": [func_std_string, ...],
                                    "text": print_stats([LIMIT]) output}}}
"text" is what pstats prints for the file sorted by KEY, without the file
name line Stats prints first for a loaded file. print_stats, print_callers
and print_callees are run (into a buffer) on the file, so a malformed file
fails here, with a traceback and a non-zero exit status.
"""

import io
import json
import pstats
import sys


def label(func):
    return "%s:%d(%s)" % func


def main():
    path = sys.argv[1]
    sink = io.StringIO()
    stats = pstats.Stats(path, stream=sink)
    stats.print_stats()
    stats.print_callers()
    stats.print_callees()
    out = {"stats": {}, "callers": {}, "entries": [], "orders": {},
           "total_calls": stats.total_calls, "prim_calls": stats.prim_calls,
           "total_tt": stats.total_tt}
    for func, (cc, nc, tt, ct, callers) in stats.stats.items():
        out["stats"][label(func)] = [nc, cc, tt, ct]
        out["callers"][label(func)] = {label(c): list(v[:2]) for c, v in callers.items()}
        out["entries"].append([func[0], func[1], func[2], nc, cc, tt, ct])
    for arg in sys.argv[2:]:
        key, _, limit = arg.partition("@")
        text = io.StringIO()
        ordered = pstats.Stats(path, stream=text)
        ordered.files = []
        ordered.sort_stats(key)
        ordered.print_stats(*([int(limit)] if limit else []))
        out["orders"][arg] = {"title": ordered.sort_type,
                              "rows": [pstats.func_std_string(f) for f in ordered.fcn_list],
                              "text": text.getvalue()}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
