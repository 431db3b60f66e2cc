// Evaluates requests with @cloud-copilot/iam-simulate, an IAM simulator that shares nothing
// with keyaki. One request a line on stdin:
//   {"id": ..., "policy": <identity policy object>, "action": "kms:Decrypt", "arn": KEY_ARN}
// one answer a line on stdout, in the same order:
//   {"id": ..., "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"}
//   {"id": ..., "errors": [{"path": ..., "message": ...}, ...]}   (the simulator refused the input)
//
// The principal is an IAM user of the key's own account and the key policy delegates to IAM
// (the account's root may use every KMS action), so the identity policy alone decides, as in
// the controls. No context keys are given: the caller removes the conditions first.
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { createInterface } from "node:readline";

function keyPolicy(partition, account) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EnableIamUserPermissions",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  };
}

// Flattens the simulator's error report into {path, message} entries.
function flatten(errors, out = [], where = "") {
  if (Array.isArray(errors)) {
    for (const e of errors) flatten(e, out, where);
  } else if (errors && typeof errors === "object") {
    if (typeof errors.message === "string" && "path" in errors) {
      out.push({ path: `${where}${errors.path}`, message: errors.message });
    } else {
      for (const [k, v] of Object.entries(errors)) {
        if (k === "message" && typeof v === "string") continue;
        flatten(v, out, where);
      }
    }
  } else if (typeof errors === "string") {
    out.push({ path: where, message: errors });
  }
  return out;
}

async function answer(request) {
  const [, partition, , , account] = request.arn.split(":");
  const response = await runSimulation(
    {
      request: {
        principal: `arn:${partition}:iam::${account}:user/keyaki-differential`,
        action: request.action,
        resource: { resource: request.arn, accountId: account },
        contextVariables: {},
      },
      identityPolicies: [{ name: "policy", policy: request.policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: keyPolicy(partition, account),
    },
    {},
  );
  if (response.resultType === "error") {
    const errors = flatten(response.errors);
    if (errors.length === 0) errors.push({ path: "", message: JSON.stringify(response.errors) });
    return { id: request.id, errors };
  }
  return { id: request.id, result: response.overallResult };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  let out;
  try {
    out = await answer(request);
  } catch (err) {
    out = { id: request.id, errors: [{ path: "", message: `the simulator failed: ${err}` }] };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
