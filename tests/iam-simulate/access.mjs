// Evaluates whole KMS requests with @cloud-copilot/iam-simulate, for the differential test of
// `keyaki access` (crates/keyaki-controls/tests/access_iam_simulate.rs). One request a line on
// stdin:
//   {"id": ..., "principal": ARN (a user, or a role's session), "action": "kms:Decrypt",
//    "key": KEY_ARN, "account": "111122223333", "context": {KEY: VALUE},
//    "identity": [policy, ...], "boundary": policy | null, "keyPolicy": policy,
//    "scps": [[policy, ...], ...], "rcps": [[policy, ...], ...]}   (one array per level)
// one answer a line on stdout, in the same order:
//   {"id": ..., "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"}
//   {"id": ..., "errors": [...]}   (the simulator refused the input)
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { createInterface } from "node:readline";

const levels = (list, prefix) =>
  list.map((policies, i) => ({
    orgIdentifier: `${prefix}-${i}`,
    policies: policies.map((policy, j) => ({ name: `${prefix}-${i}-${j}`, policy })),
  }));

async function answer(r) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.key, accountId: r.account },
      contextVariables: r.context,
    },
    identityPolicies: r.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: levels(r.scps, "scp"),
    resourceControlPolicies: levels(r.rcps, "rcp"),
    resourcePolicy: r.keyPolicy,
  };
  if (r.boundary) simulation.permissionBoundaryPolicies = [{ name: "boundary", policy: r.boundary }];
  const response = await runSimulation(simulation, {});
  if (response.resultType === "error") return { id: r.id, errors: [JSON.stringify(response.errors)] };
  return { id: r.id, result: response.overallResult };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  let out;
  try {
    out = await answer(request);
  } catch (err) {
    out = { id: request.id, errors: [`the simulator failed: ${err}`] };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
