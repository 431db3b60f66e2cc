#!/usr/bin/env python3
"""Writes a synthetic corpus of N policies (JSON Lines, {"name", "document"} a line) made from
the shapes of the AWS managed policy corpus: each record is a corpus document with its account
ids, regions, key ids and Sids varied, so that sizes and statement mixes stay realistic and no
two records are identical. Deterministic (fixed seed).

    synthetic_corpus.py CORPUS.jsonl N OUT.jsonl
"""

import json
import random
import re
import sys

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "sa-east-1"]
ACCOUNT = re.compile(r"(?<=:)\d{12}(?=:)")
REGION = re.compile(r"(?<=:)(us|eu|ap|sa|ca|me|af)-[a-z]+-\d(?=:)")


def vary(value, rng, n):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "Sid" and isinstance(v, str):
                out[k] = f"{v}{n}"
            else:
                out[k] = vary(v, rng, n)
        return out
    if isinstance(value, list):
        return [vary(v, rng, n) for v in value]
    if isinstance(value, str) and value.startswith("arn:"):
        value = ACCOUNT.sub(lambda _: f"{rng.randrange(10**12):012d}", value)
        value = REGION.sub(lambda _: rng.choice(REGIONS), value)
        if value.endswith(":key/*") and rng.random() < 0.3:
            value = value[:-1] + f"{rng.randrange(16**8):08x}-*"
        return value
    return value


def main():
    corpus, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(0x6B6579616B69)
    with open(corpus, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    with open(out, "w", encoding="utf-8") as f:
        for n in range(count):
            base = records[n % len(records)]
            doc = base["document"] if n < len(records) else vary(base["document"], rng, n)
            f.write(json.dumps({"name": f"{base['name']}-{n}", "document": doc},
                               separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
