#!/usr/bin/env python3
"""Assertions on a Dovecot audit file (common/audit.h format), for the plugin tests.

    audit_check.py FILE verify                 the hash chain holds (audit.h rule, checked
                                               here independently of mssctl)
    audit_check.py FILE has KEY=VALUE...       at least one record has all these fields
    audit_check.py FILE count KEY=VALUE...     prints how many records have them
    audit_check.py FILE lacks TEXT             TEXT appears in no line
A VALUE "-" means "field absent". Exit 0 when the assertion holds, 1 otherwise (with the
records printed on stderr to show what was there).
"""
import hashlib
import json
import re
import sys

HASH_TAIL = re.compile(r',"hash":"([0-9a-f]{64})"\}$')


def records(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def verify(lines):
    prev = "0" * 64
    for n, line in enumerate(lines, 1):
        m = HASH_TAIL.search(line)
        if not m:
            return "line %d: no hash" % n
        body = line[: m.start()] + "}"
        if hashlib.sha256(body.encode("utf-8")).hexdigest() != m.group(1):
            return "line %d: hash mismatch" % n
        rec = json.loads(line)
        if rec.get("prev") != prev:
            return "line %d: prev does not chain" % n
        prev = m.group(1)
    return None


def matches(rec, conds):
    for c in conds:
        key, _, want = c.partition("=")
        have = rec.get(key)
        if want == "-":
            if have is not None:
                return False
        elif have is None or str(have) != want:
            return False
    return True


def main():
    path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    lines = records(path)
    if cmd == "verify":
        err = verify(lines)
        if err:
            print("audit chain broken: " + err, file=sys.stderr)
            return 1
        print("%d records, chain intact" % len(lines))
        return 0
    if cmd == "lacks":
        hits = [l for l in lines if args[0] in l]
        for h in hits:
            print(h, file=sys.stderr)
        return 1 if hits else 0
    recs = [json.loads(l) for l in lines]
    found = [r for r in recs if matches(r, args)]
    if cmd == "count":
        print(len(found))
        return 0
    if cmd == "has":
        if found:
            return 0
        print("no record with %s among:" % " ".join(args), file=sys.stderr)
        for l in lines[-15:]:
            print("    " + l, file=sys.stderr)
        return 1
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())
