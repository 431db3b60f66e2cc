#!/usr/bin/env python3
"""An independent SMT oracle for policy inclusion: does policy NEW grant any request that
policy OLD does not, for every action and every resource?

It shares no code with keyaki's Rust core (it reuses only the resource-pattern regexes of
z3_oracle.py, the oracle of the KMS question). z3 decides

    exists action a, resource r, condition values c_1..c_n, b_1..b_m such that
        a in [a-z0-9-]+:[a-z0-9]+ (actions, compared in lower case)
        r in "*" | "arn:" .*
        allows(NEW) and not allows(OLD)

allows(P) = (some Allow statement of P fires) and not (some Deny statement of P fires);
a statement fires when its action element and its resource element match and its condition
holds. Conditions are opaque: every distinct condition block (normalised: operator and
condition-key names in lower case, value lists as sets) is one boolean c_i, shared by both
policies; no condition (or an empty block) always holds. A resource pattern with a policy
variable (Version 2012-10-17, `${aws:username}`) is one boolean b_j shared by both policies,
which can only be true when r matches the pattern with `*` for its variables.

Readings of the resource patterns: the question is asked twice, every pattern read broad, then
every pattern read narrow (see z3_oracle.py); "included" means unsat under both.

Input: JSON Lines, one record a line: {"id": ..., "old": <policy>, "new": <policy>}
Output: one JSON line per record:
    {"id": ..., "included": true|false|null, "action": a|null, "resource": r|null,
     "reading": "broad"|"narrow"|null, "ms": ...}
`included` is null when z3 gives up (timeout) on a reading with no answer found in the other.

Usage: z3_inclusion.py [--timeout-ms 20000] [--input FILE] [--summary]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import z3  # noqa: E402

from z3_oracle import (  # noqa: E402
    ALL,
    ANY_CHAR,
    NOTHING,
    VAR,
    DocumentError,
    as_list,
    lex,
    load_document,
    resource_regex,
)

ACTION_UNIVERSE = z3.Concat(
    z3.Plus(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"), z3.Re(z3.StringVal("-")))),
    z3.Re(z3.StringVal(":")),
    z3.Plus(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"))),
)
RESOURCE_UNIVERSE = z3.Union(
    z3.Re(z3.StringVal("*")), z3.Concat(z3.Re(z3.StringVal("arn:")), ALL)
)


def action_regex(pattern):
    parts = []
    for c in pattern.lower():
        if c == "*":
            parts.append(ALL)
        elif c == "?":
            parts.append(ANY_CHAR)
        else:
            parts.append(z3.Re(z3.StringVal(c)))
    if not parts:
        return z3.Re(z3.StringVal(""))
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def normalise_condition(block):
    """The canonical text of a condition block; None for no condition."""
    if not isinstance(block, dict) or not block:
        return None
    ops = []
    for op, keys in block.items():
        entries = []
        if isinstance(keys, dict):
            for k, v in keys.items():
                values = v if isinstance(v, list) else [v]
                entries.append((k.lower(), sorted({json.dumps(x, sort_keys=True) for x in values})))
        else:
            entries.append(("", [json.dumps(keys, sort_keys=True)]))
        ops.append((op.lower(), sorted(entries)))
    return json.dumps(sorted(ops))


class Encoder:
    """Booleans shared by both policies: condition blocks and variable patterns."""

    def __init__(self, a, r):
        self.a, self.r = a, r
        self.conds = {}
        self.atoms = {}
        self.side = []

    def cond(self, block):
        key = normalise_condition(block)
        if key is None:
            return z3.BoolVal(True)
        if key not in self.conds:
            self.conds[key] = z3.Bool(f"c{len(self.conds)}")
        return self.conds[key]

    def resource(self, pattern, variables, broad):
        items = lex(pattern, variables)
        if any(it[0] == VAR for it in items):
            key = (pattern, broad)
            if key not in self.atoms:
                b = z3.Bool(f"b{len(self.atoms)}")
                self.atoms[key] = b
                # the pattern with `*` for its variables bounds what it can match
                starred = "".join("*" if it[0] == VAR else (it[1] if len(it) > 1 else
                                  "*" if it[0] == "star" else "?") for it in items)
                rx = resource_regex(starred, False, broad)
                self.side.append(z3.Implies(b, z3.InRe(self.r, rx)))
            return self.atoms[key]
        return z3.InRe(self.r, resource_regex(pattern, variables, broad))

    def allows(self, doc, broad):
        variables = doc.get("Version") == "2012-10-17"
        stmts = doc.get("Statement")
        if isinstance(stmts, dict):
            stmts = [stmts]
        if not isinstance(stmts, list):
            raise DocumentError("`Statement` must be an object or a list")
        allow, deny = [], []
        for s in stmts:
            actions = as_list(s.get("Action", s.get("NotAction")), "Action")
            resources = as_list(s.get("Resource", s.get("NotResource")), "Resource")
            act = z3.Or([z3.InRe(self.a, action_regex(p)) for p in actions] or [z3.BoolVal(False)])
            if "NotAction" in s:
                act = z3.Not(act)
            res = z3.Or([self.resource(p, variables, broad) for p in resources] or [z3.BoolVal(False)])
            if "NotResource" in s:
                res = z3.Not(res)
            fires = z3.And(act, res, self.cond(s.get("Condition")))
            (allow if s.get("Effect") == "Allow" else deny).append(fires)
        return z3.And(z3.Or(allow or [z3.BoolVal(False)]), z3.Not(z3.Or(deny or [z3.BoolVal(False)])))


def decide(old, new, timeout_ms):
    """(included, action, resource, reading)."""
    gave_up = False
    for reading, broad in (("broad", True), ("narrow", False)):
        a, r = z3.String("action"), z3.String("resource")
        enc = Encoder(a, r)
        question = z3.And(enc.allows(new, broad), z3.Not(enc.allows(old, broad)))
        solver = z3.Solver()
        solver.set("timeout", timeout_ms)
        solver.add(z3.InRe(a, ACTION_UNIVERSE), z3.InRe(r, RESOURCE_UNIVERSE), question, *enc.side)
        answer = solver.check()
        if answer == z3.sat:
            m = solver.model()
            return False, m[a].as_string(), m[r].as_string(), reading
        if answer != z3.unsat:
            gave_up = True
    return (None if gave_up else True), None, None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timeout-ms", type=int, default=20000)
    ap.add_argument("--input", help="JSON Lines records (default: stdin)")
    ap.add_argument("--summary", action="store_true",
                    help="print only a summary line (count, included, seconds) to stderr")
    args = ap.parse_args()
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    started = time.perf_counter()
    count = included = 0
    with source:
        for line in source:
            if not line.strip():
                continue
            record = json.loads(line)
            out = {"id": record.get("id")}
            t0 = time.perf_counter()
            try:
                old = load_document(record.get("old"))
                new = load_document(record.get("new"))
                inc, action, resource, reading = decide(old, new, args.timeout_ms)
                out.update(included=inc, action=action, resource=resource, reading=reading)
                included += inc is True
            except DocumentError as err:
                out["error"] = str(err)
            out["ms"] = round((time.perf_counter() - t0) * 1000, 2)
            count += 1
            if not args.summary:
                sys.stdout.write(json.dumps(out) + "\n")
                sys.stdout.flush()
    if args.summary:
        sys.stderr.write(
            f"pairs={count} included={included} seconds={time.perf_counter() - started:.3f}\n"
        )


if __name__ == "__main__":
    main()
