#!/usr/bin/env python3
"""Finds the last audit record matching filters and prints chosen fields, for the demo.

    audit_find.py FILE [KEY=VALUE...] -- FIELD...

KEY and FIELD are record keys, dotted for nested objects (tls.peer_cn), or rcpt.N.KEY for
the N-th recipient. Prints "FIELD=VALUE" pairs on one line; exit 1 when no record matches.
"""
import json
import sys


def get(rec, path):
    v = rec
    for part in path.split("."):
        if isinstance(v, list):
            v = v[int(part)] if part.isdigit() and int(part) < len(v) else None
        elif isinstance(v, dict):
            v = v.get(part)
        else:
            return None
    return v


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    sep = args.index("--") if "--" in args else len(args)
    filters = [a.split("=", 1) for a in args[:sep]]
    fields = args[sep + 1:]
    found = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if all(str(get(rec, k)) == v for k, v in filters):
                found = rec
    if found is None:
        print("no record with " + " ".join("=".join(kv) for kv in filters))
        return 1
    print(" ".join(f"{k}={get(found, k) if get(found, k) is not None else '-'}" for k in fields))
    return 0


sys.exit(main())
