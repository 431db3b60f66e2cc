"""Verdicts of keyaki and checkov on the same resources, side by side: prints a Markdown
table of the resources where the two tools disagree, with the reason each gives.

    python3 scripts/bench/compare_checkov.py KEYAKI_JSON CHECKOV_JSON...

keyaki's controls and checkov's checks are matched as the benchmark compares them:
KMS.4 with CKV_AWS_7 (key rotation); KMS.1 (managed policies) and KMS.2 (inline policies,
reported on the principal that gets them) with CKV_AWS_109 and CKV_AWS_111 (IAM policies
"without constraints"), a resource failing when either check fails.
"""

import json
import sys

CHECK_NAMES = {
    "CKV_AWS_7": "Ensure rotation for customer created CMKs is enabled",
    "CKV_AWS_109": "Ensure IAM policies does not allow permissions management / resource exposure without constraints",
    "CKV_AWS_111": "Ensure IAM policies does not allow write access without constraints",
}


def checkov_results(paths):
    """(kind, id) -> {"status": FAILED|PASSED, "checks": [...], "file": ...}"""
    out = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        runs = data if isinstance(data, list) else [data]
        for run in runs:
            results = run.get("results", {})
            for key, status in (("failed_checks", "FAILED"), ("passed_checks", "PASSED")):
                for c in results.get(key, []):
                    resource = c["resource"]
                    kind = "key" if c["check_id"] == "CKV_AWS_7" else "policy"
                    # CloudFormation: TYPE.LogicalId; Terraform: the address.
                    rid = resource.split(".", 1)[1] if resource.startswith("AWS::") else resource
                    entry = out.setdefault((kind, rid), {"status": "PASSED", "checks": [], "resource": resource})
                    if status == "FAILED":
                        entry["status"] = "FAILED"
                        entry["checks"].append(c["check_id"])
    return out


def keyaki_results(path):
    """(kind, id) -> {"status", "reason", "control"}; inline policies are also listed under
    the resource that writes them (`name (Id)`)."""
    with open(path) as f:
        report = json.load(f)
    out = {}
    for f in report["findings"]:
        control = f["control"]
        if control == "KMS.3":
            continue
        kind = "key" if control == "KMS.4" else "policy"
        rid = f["resource"].get("id")
        status = f["status"]
        if f["reason"]["code"] == "NOT_APPLICABLE":
            status = "NOT_APPLICABLE"
        entry = {"status": status, "reason": f["reason"]["text"], "control": control}
        out[(kind, rid)] = entry
        # An inline policy written by a resource of its own (`AWS::IAM::Policy`,
        # `aws_iam_role_policy`): its verdict under that resource's id too, for checkov
        # reports on the policy resource.
        ev = f.get("evidence") or {}
        for p in ev.get("policies", []) if control == "KMS.2" else []:
            name = p["policy_name"]
            source = name[name.rfind("(") + 1 : -1] if name.endswith(")") else name
            if source == rid:
                continue
            verdict = "FAILED" if p["verdict"] == "FAILED" else status
            out[(kind, source)] = {"status": verdict, "reason": f["reason"]["text"], "control": control, "derived": True}
    return out


def main():
    keyaki = keyaki_results(sys.argv[1])
    checkov = checkov_results(sys.argv[2:])
    rows = []
    for key in sorted(set(keyaki) | set(checkov), key=lambda k: (k[0], k[1] or "")):
        k = keyaki.get(key)
        c = checkov.get(key)
        if k and k.get("derived") and not c:
            continue
        ks = k["status"] if k else "no finding"
        cs = c["status"] if c else "no result"
        same = (ks == cs) or (ks in ("NOT_APPLICABLE",) and cs == "no result")
        if same:
            continue
        k_reason = f"{k['control']}: {k['reason']}" if k else ""
        c_reason = ", ".join(f"{i} ({CHECK_NAMES[i]})" for i in c["checks"]) if c and c["checks"] else (
            "all checks pass" if c else "the resource is not checked")
        rows.append((key[1], ks, k_reason, cs, c_reason))
    print("| resource | keyaki | keyaki's reason | checkov | checkov's reason |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        cells = [x.replace("|", "\\|") for x in r]
        print("| " + " | ".join(cells) + " |")
    agree = len(set(keyaki) | set(checkov)) - len(rows)
    print(f"\n{len(rows)} resources where the verdicts differ, {agree} where they agree.")


if __name__ == "__main__":
    main()
