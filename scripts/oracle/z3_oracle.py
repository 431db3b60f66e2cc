#!/usr/bin/env python3
"""An independent SMT oracle for keyaki's policy question, written with z3 strings and regexes.

The question: does an IAM identity policy allow a KMS action on *every* key ARN of the universe

    arn:<partition>:kms:<region>:<account>:key/<key-id>
    region [a-z]{2,}(-[a-z]+)+-[1-9][0-9]*, account 12 digits (or --account),
    key-id [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} or mrk-[0-9a-f]{32}
    (the key ARNs that can exist) ?

It shares no code with keyaki's Rust core: the universe is a z3 regex, every resource pattern is
translated to a z3 regex (segment-aware glob, with the broad or narrow reading of a `*` ending one
of the first five segments), actions are matched concretely, and z3 decides

    exists arn in U such that not allowed(arn)

where allowed(arn) = (some Allow statement matches) and not (some applicable Deny matches).
unsat means the action is allowed on all keys (the policy FAILS); sat gives a counterexample.

Semantics (as keyaki documents them):
- Action / NotAction: case-insensitive glob (`*` any run, `?` one character).
- Resource: case-sensitive glob. In the first five colon-separated segments `*` and `?` do not
  cross a colon, except that a `*` ending the last segment of a pattern with fewer than six
  segments runs to the end. After the fifth colon `*` matches anything, `?` any one character.
  Broad reading (Allow+Resource, Deny+NotResource): a `*` ending any of the first five segments
  may cross colons too, and a pattern of fewer than six segments also matches as if padded with
  `:*` segments. Narrow reading (Deny+Resource, Allow+NotResource): that `*` stays in its
  segment, and a wildcard in the resource type (the resource part up to its first `/` or `:`,
  when it has one) is the literal character.
- Version 2012-10-17: `${name}` is an unknown literal value that equals no character of a key
  ARN (so the pattern matches no key); `${*}`, `${?}`, `${$}` are the literal characters.
  Other versions keep `${...}` as text (its `*` and `?` stay wildcards).
- Conditions: an Allow with a Condition counts; a Deny with a non-empty Condition never applies,
  nor does a Deny whose NotResource holds a pattern of fewer than six segments or `${`.

Input: JSON Lines on stdin or --input, one record a line:
    {"id": ..., "document": <policy object or string>, "check": {"kms:Decrypt": [ARN, ...]}}
Output: one JSON line per record:
    {"id": ..., "actions": {"kms:Decrypt": {"allowed_on_all_keys": true|false|null,
                                            "counterexample": ARN|null,
                                            "checks": {ARN: true|false}}},
     "error": message (only when the document could not be read)}
`allowed_on_all_keys` is null when z3 answers unknown (timeout). `checks` says, for each ARN
given, whether the policy allows the action on it (decided by z3 as well).

Usage:
    z3_oracle.py [--actions kms:Decrypt,kms:ReEncryptFrom] [--account ID] [--partition aws]
                 [--timeout-ms 20000] [--input FILE] [--summary]
    z3_oracle.py --policy FILE [--arn ARN]     # one document, human-readable answer
"""

import argparse
import functools
import json
import re
import sys
import time
import urllib.parse

try:
    import z3
except ImportError:  # pragma: no cover - reported to the caller
    sys.stderr.write("z3_oracle: the python package `z3-solver` is not installed\n")
    sys.exit(3)


# --- the universe -------------------------------------------------------------------------


def char_class(ranges):
    return z3.Union([z3.Range(a, b) for a, b in ranges]) if len(ranges) > 1 else z3.Range(*ranges[0])


def text(s):
    return z3.Re(z3.StringVal(s))


LOWER = z3.Range("a", "z")
HEX = char_class([("0", "9"), ("a", "f")])
# [a-z]{2,}(-[a-z]+)+-[1-9][0-9]*
REGION = z3.Concat(
    z3.Loop(LOWER, 2, 2),
    z3.Star(LOWER),
    z3.Plus(z3.Concat(text("-"), z3.Plus(LOWER))),
    text("-"),
    z3.Range("1", "9"),
    z3.Star(z3.Range("0", "9")),
)
ACCOUNT = z3.Loop(z3.Range("0", "9"), 12, 12)
# a lowercase UUID, or mrk- and 32 lowercase hex digits
KEY_ID = z3.Union(
    z3.Concat(
        z3.Loop(HEX, 8, 8), text("-"),
        z3.Loop(HEX, 4, 4), text("-"),
        z3.Loop(HEX, 4, 4), text("-"),
        z3.Loop(HEX, 4, 4), text("-"),
        z3.Loop(HEX, 12, 12),
    ),
    z3.Concat(text("mrk-"), z3.Loop(HEX, 32, 32)),
)


def universe(partition, account):
    acct = z3.Re(z3.StringVal(account)) if account else ACCOUNT
    return z3.Concat(
        z3.Re(z3.StringVal("arn:" + partition + ":kms:")),
        REGION,
        z3.Re(z3.StringVal(":")),
        acct,
        z3.Re(z3.StringVal(":key/")),
        KEY_ID,
    )


ALL = z3.Full(z3.ReSort(z3.StringSort()))
ANY_CHAR = z3.AllChar(z3.ReSort(z3.StringSort()))
NOT_COLON = z3.Intersect(ANY_CHAR, z3.Complement(z3.Re(z3.StringVal(":"))))
NOT_COLON_STAR = z3.Star(NOT_COLON)
NOTHING = z3.Empty(z3.ReSort(z3.StringSort()))


# --- resource patterns -------------------------------------------------------------------

LIT, STAR, QUEST, VAR = "lit", "star", "quest", "var"


def lex(pattern, variables):
    """Pattern text to items: (LIT, char), (STAR,), (QUEST,), (VAR,)."""
    items = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if variables and pattern.startswith("${", i):
            close = pattern.find("}", i + 2)
            if close >= 0:
                inner = pattern[i + 2 : close]
                if inner in ("*", "?", "$"):
                    items.append((LIT, inner))
                else:
                    items.append((VAR,))
                i = close + 1
                continue
        if c == "*":
            items.append((STAR,))
        elif c == "?":
            items.append((QUEST,))
        else:
            items.append((LIT, c))
        i += 1
    return items


def segments(items):
    return sum(1 for it in items if it == (LIT, ":")) + 1


def resource_regex(pattern, variables, broad):
    """The set of strings a resource pattern matches, as a z3 regex."""
    items = lex(pattern, variables)
    if broad and segments(items) < 6:
        padded = pattern + ":*" * (6 - segments(items))
        return z3.Union(pattern_regex(items, broad), pattern_regex(lex(padded, variables), broad))
    return pattern_regex(items, broad)


def pattern_regex(items, broad):
    if any(it[0] == VAR for it in items):
        # An unknown value that equals no key-ARN character: the pattern matches no key.
        return NOTHING
    colons = sum(1 for it in items if it == (LIT, ":"))
    # The resource type: from after the fifth colon to the first `/` or `:` after it, if any.
    type_start = type_end = None
    seen = 0
    for i, it in enumerate(items):
        if it == (LIT, ":"):
            seen += 1
            if seen == 5:
                type_start = i + 1
                break
    if type_start is not None:
        for j in range(type_start, len(items)):
            if items[j] in ((LIT, "/"), (LIT, ":")):
                type_end = j
                break
    parts = []
    literal = []
    segment = 0

    def flush():
        if literal:
            parts.append(z3.Re(z3.StringVal("".join(literal))))
            literal.clear()

    for i, it in enumerate(items):
        head = segment < 5
        if it[0] == LIT:
            # broad: the first five segments compare without case (key ARNs have them in lower
            # case, so lowering the pattern is the same)
            literal.append(it[1].lower() if broad and head else it[1])
            if it[1] == ":":
                segment += 1
            continue
        if not broad and type_end is not None and type_start <= i < type_end:
            literal.append("*" if it[0] == STAR else "?")
            continue
        flush()
        if it[0] == QUEST:
            parts.append(NOT_COLON if head else ANY_CHAR)
            continue
        # a star
        last = i + 1 == len(items)
        ends_segment = last or items[i + 1] == (LIT, ":")
        crosses = (not head) or (last and colons < 5) or (broad and ends_segment)
        parts.append(ALL if crosses else NOT_COLON_STAR)
    flush()
    if not parts:
        return z3.Re(z3.StringVal(""))
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


@functools.lru_cache(maxsize=None)
def action_glob(pattern):
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, re.IGNORECASE | re.DOTALL)


def action_matches(pattern, action):
    return action_glob(pattern).fullmatch(action) is not None


# --- documents ---------------------------------------------------------------------------


class DocumentError(Exception):
    pass


def as_list(value, what):
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise DocumentError(f"`{what}` must be a string or a list of strings")


def load_document(doc):
    """A policy object from a document given as object, JSON text, percent-encoded text or an
    AWS CLI wrapper."""
    if isinstance(doc, str):
        text = doc.strip()
        if not text.startswith("{"):
            text = urllib.parse.unquote(text)  # RFC 3986: `+` stays `+`
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise DocumentError(f"invalid JSON: {err}")
    if not isinstance(doc, dict):
        raise DocumentError("a policy document must be an object")
    for wrapper in ("PolicyVersion", "Policy"):
        inner = doc.get(wrapper)
        if isinstance(inner, dict) and ("Document" in inner or "PolicyDocument" in inner):
            return load_document(inner.get("Document", inner.get("PolicyDocument")))
    return doc


def statements(doc):
    stmts = doc.get("Statement")
    if isinstance(stmts, dict):
        stmts = [stmts]
    if not isinstance(stmts, list):
        raise DocumentError("`Statement` must be an object or a list")
    out = []
    for s in stmts:
        if not isinstance(s, dict):
            raise DocumentError("a statement must be an object")
        effect = s.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise DocumentError(f"bad `Effect`: {effect!r}")
        if ("Action" in s) == ("NotAction" in s):
            raise DocumentError("a statement needs exactly one of `Action` and `NotAction`")
        if ("Resource" in s) == ("NotResource" in s):
            raise DocumentError("a statement needs exactly one of `Resource` and `NotResource`")
        resources = as_list(s.get("Resource", s.get("NotResource")), "Resource")
        variables_version = doc.get("Version") == "2012-10-17"
        unsure_not_resource = "NotResource" in s and any(
            "${" in p or segments(lex(p, variables_version)) < 6 for p in resources
        )
        out.append(
            {
                "effect": effect,
                "not_action": "NotAction" in s,
                "actions": as_list(s.get("Action", s.get("NotAction")), "Action"),
                "not_resource": "NotResource" in s,
                "resources": resources,
                # a Deny that may not apply: a condition, or a NotResource not read for sure
                "conditional": bool(s.get("Condition")) or unsure_not_resource,
            }
        )
    return out


# --- the question ------------------------------------------------------------------------


def union(regexes):
    if not regexes:
        return NOTHING
    return regexes[0] if len(regexes) == 1 else z3.Union(*regexes)


def allowed_regex(stmts, action, variables):
    """The set of ARNs on which the policy allows `action`, as a z3 regex."""
    allows, denies = [], []
    for s in stmts:
        hit = any(action_matches(p, action) for p in s["actions"])
        if hit == s["not_action"]:
            continue
        if s["effect"] == "Allow":
            if s["not_resource"]:
                matched = union([resource_regex(p, variables, broad=False) for p in s["resources"]])
                allows.append(z3.Complement(matched))
            else:
                allows.append(union([resource_regex(p, variables, broad=True) for p in s["resources"]]))
        elif not s["conditional"]:
            if s["not_resource"]:
                matched = union([resource_regex(p, variables, broad=True) for p in s["resources"]])
                denies.append(z3.Complement(matched))
            else:
                denies.append(union([resource_regex(p, variables, broad=False) for p in s["resources"]]))
    allowed = union(allows)
    if denies:
        allowed = z3.Intersect(allowed, z3.Complement(union(denies)))
    return allowed


class Decider:
    """One incremental solver; each question is pushed and popped. The question is asked as one
    membership, `arn in U & ~allowed`: z3's regex solver decides the intersection directly,
    where `arn in U` and `arn not in allowed` as two constraints can leave it searching for
    seconds over the universe's fixed-length key ids."""

    def __init__(self, U, timeout_ms):
        self.x = z3.String("arn")
        self.universe = U
        self.solver = z3.Solver()
        self.solver.set("timeout", timeout_ms)

    def decide(self, allowed):
        """(allowed_on_all_keys, counterexample) — (None, None) when z3 gives up."""
        self.solver.push()
        try:
            refused = z3.Intersect(self.universe, z3.Complement(allowed))
            self.solver.add(z3.InRe(self.x, refused))
            answer = self.solver.check()
            if answer == z3.unsat:
                return True, None
            if answer == z3.sat:
                return False, self.solver.model()[self.x].as_string()
            return None, None
        finally:
            self.solver.pop()

    def allows(self, arn, allowed):
        """Whether `arn` is in the allowed set (a ground question: z3's rewriter decides it,
        the solver only if the rewriter leaves it open)."""
        ground = z3.simplify(z3.InRe(z3.StringVal(arn), allowed))
        if z3.is_true(ground):
            return True
        if z3.is_false(ground):
            return False
        solver = z3.Solver()
        solver.add(z3.InRe(z3.StringVal(arn), allowed))
        answer = solver.check()
        return True if answer == z3.sat else False if answer == z3.unsat else None


def answer_record(record, actions, decider):
    out = {"id": record.get("id")}
    try:
        doc = load_document(record.get("document"))
        stmts = statements(doc)
    except DocumentError as err:
        out["error"] = str(err)
        return out
    variables = doc.get("Version") == "2012-10-17"
    checks = record.get("check") or {}
    results = {}
    for action in actions:
        allowed = allowed_regex(stmts, action, variables)
        all_keys, counterexample = decider.decide(allowed)
        result = {"allowed_on_all_keys": all_keys, "counterexample": counterexample}
        if checks.get(action):
            result["checks"] = {arn: decider.allows(arn, allowed) for arn in checks[action]}
        results[action] = result
    out["actions"] = results
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--actions", default="kms:Decrypt,kms:ReEncryptFrom",
                    help="comma-separated concrete actions")
    ap.add_argument("--account")
    ap.add_argument("--partition", default="aws")
    ap.add_argument("--timeout-ms", type=int, default=20000)
    ap.add_argument("--input", help="JSON Lines records (default: stdin)")
    ap.add_argument("--corpus", help="a corpus JSON Lines file ({name, document} a line)")
    ap.add_argument("--policy", help="one policy document file")
    ap.add_argument("--arn", action="append", default=[], help="with --policy: check this ARN")
    ap.add_argument("--summary", action="store_true",
                    help="print only a summary line (count, failing, seconds) to stderr")
    args = ap.parse_args()
    actions = [a.strip() for a in args.actions.split(",") if a.strip()]
    if args.account and not re.fullmatch(r"[0-9]{12}", args.account):
        ap.error(f"`{args.account}` is not a 12-digit AWS account id")
    decider = Decider(universe(args.partition, args.account), args.timeout_ms)

    if args.policy:
        with open(args.policy, encoding="utf-8") as f:
            record = {"id": args.policy, "document": f.read(),
                      "check": {a: args.arn for a in actions}}
        print(json.dumps(answer_record(record, actions, decider), indent=2))
        return

    if args.corpus:
        source = open(args.corpus, encoding="utf-8")
    elif args.input:
        source = open(args.input, encoding="utf-8")
    else:
        source = sys.stdin
    started = time.perf_counter()
    started_cpu = time.process_time()
    count = failing = 0
    out = sys.stdout
    with source:
        for n, line in enumerate(source, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if args.corpus:
                record = {"id": record.get("name", n), "document": record.get("document")}
            t0 = time.perf_counter()
            answer = answer_record(record, actions, decider)
            answer["ms"] = round((time.perf_counter() - t0) * 1000, 1)
            count += 1
            if any(r["allowed_on_all_keys"] for r in answer.get("actions", {}).values()):
                failing += 1
            if not args.summary:
                out.write(json.dumps(answer) + "\n")
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    if args.summary:
        sys.stderr.write(
            f"policies={count} failing={failing} seconds={seconds:.3f} cpu_seconds={cpu_seconds:.3f}\n"
        )


if __name__ == "__main__":
    main()
