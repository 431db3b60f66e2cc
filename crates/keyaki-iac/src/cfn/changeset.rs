//! CloudFormation change sets (`aws cloudformation describe-change-set` output) → [`Stack`],
//! for KMS.3: a change that removes or replaces an `AWS::KMS::Key` (or `ReplicaKey`)
//! schedules the key's deletion unless its `DeletionPolicy` (or `UpdateReplacePolicy`) is
//! `Retain`, which the change's `PolicyAction` says (`Delete`, `ReplaceAndDelete` vs
//! `Retain`, `ReplaceAndRetain`). A removal or replacement whose `PolicyAction` is absent
//! cannot be decided: NOT_AVAILABLE `UNRESOLVED_VALUE`. `Replacement: Conditional` is taken
//! as a replacement (the worst case). A change set lists changes, not properties: the other
//! controls are not evaluated on it.

use keyaki_controls::finding::NotEvaluated;

use crate::source::{Node, Value};
use crate::stack::{Origin, PlannedDeletion, PlannedKey, Problem, Stack};
use crate::{IacError, Settings};

/// CloudFormation's default waiting period (`PendingWindowInDays`).
pub const DEFAULT_PENDING_WINDOW: i64 = 30;

const NOT_FROM_CHANGE_SETS: &str = "a change set lists changes, not the resources' properties: scan the template (or the CDK assembly) for this control";

/// Reads a change set already parsed.
pub fn read(file: &str, root: &Node, settings: &Settings) -> Result<Stack, IacError> {
    let Some(Value::Seq(changes)) = root.get("Changes").map(|c| &c.value) else {
        return Err(IacError::at(
            file,
            root.at,
            "a change set has a `Changes` list",
        ));
    };
    // The stack's ARN gives the partition, region and account when not set.
    let stack_arn = root
        .get("StackId")
        .and_then(Node::as_str)
        .unwrap_or_default();
    let parts: Vec<&str> = stack_arn.split(':').collect();
    let mut settings = settings.clone();
    if parts.len() > 5 && parts[0] == "arn" {
        settings
            .partition
            .get_or_insert_with(|| parts[1].to_owned());
        settings.region.get_or_insert_with(|| parts[3].to_owned());
        settings.account.get_or_insert_with(|| parts[4].to_owned());
    }
    let mut stack = Stack {
        file: file.to_owned(),
        account: settings.account(),
        partition: settings.partition(),
        region: settings.region(),
        not_evaluable: ["KMS.1", "KMS.2", "KMS.4"]
            .iter()
            .map(|c| NotEvaluated {
                control: (*c).into(),
                reason: NOT_FROM_CHANGE_SETS.into(),
            })
            .collect(),
        ..Stack::default()
    };
    for change in changes {
        let Some(rc) = change.get("ResourceChange") else {
            continue;
        };
        let s = |k: &str| rc.get(k).and_then(Node::as_str).unwrap_or_default();
        let kind = s("ResourceType");
        if kind == "AWS::CloudFormation::Stack" && !s("ChangeSetId").is_empty() {
            stack.problem(
                rc.at,
                format!(
                    "nested stack `{}` has a change set of its own (`{}`): describe it too to check its keys",
                    s("LogicalResourceId"),
                    s("ChangeSetId")
                ),
            );
            continue;
        }
        if kind != "AWS::KMS::Key" && kind != "AWS::KMS::ReplicaKey" {
            continue;
        }
        let id = s("LogicalResourceId");
        let physical = s("PhysicalResourceId");
        let arn = (!physical.is_empty() && settings.account.is_some()).then(|| {
            if physical.starts_with("arn:") {
                physical.to_owned()
            } else {
                format!(
                    "arn:{}:kms:{}:{}:key/{physical}",
                    stack.partition, stack.region, stack.account
                )
            }
        });
        let action = s("Action");
        let replacement = s("Replacement");
        let policy = s("PolicyAction");
        let window = window(rc).unwrap_or(DEFAULT_PENDING_WINDOW);
        let replaces = action == "Modify" && matches!(replacement, "True" | "Conditional");
        let mut problem = None;
        let (deleted, what) = match (action, policy) {
            ("Remove", "Delete") => (true, "the change set removes the key from the stack and deletes it (`PolicyAction` `Delete`)".to_owned()),
            ("Remove", "Retain") => (false, "the change set removes the key from the stack but retains it (`PolicyAction` `Retain`)".to_owned()),
            ("Modify", "ReplaceAndDelete") if replaces => (true, format!("the change set replaces the key (`Replacement` `{replacement}`) and deletes the old one (`PolicyAction` `ReplaceAndDelete`)")),
            ("Modify", "ReplaceAndRetain") if replaces => (false, "the change set replaces the key and retains the old one (`PolicyAction` `ReplaceAndRetain`)".to_owned()),
            ("Remove", _) | ("Modify", _) if action == "Remove" || replaces => {
                problem = Some(Problem {
                    code: crate::UNRESOLVED_VALUE,
                    message: format!(
                        "the change set {} the key but does not say whether it is retained (`PolicyAction` is {}): its `DeletionPolicy` decides",
                        if action == "Remove" { "removes" } else { "replaces" },
                        if policy.is_empty() { "absent".to_owned() } else { format!("`{policy}`") }
                    ),
                    at: rc.at,
                });
                (false, String::new())
            }
            ("Dynamic", _) => {
                problem = Some(Problem {
                    code: crate::UNRESOLVED_VALUE,
                    message: "the change set's action on the key cannot be determined before it runs (`Action` `Dynamic`)".into(),
                    at: rc.at,
                });
                (false, String::new())
            }
            ("Add", _) => (false, "the change set adds the key".to_owned()),
            ("Import", _) => (false, "the change set imports the key".to_owned()),
            _ => (false, format!("the change set does not delete the key (`Action` `{action}`)")),
        };
        stack.keys.push(PlannedKey {
            deletion: Some(PlannedDeletion {
                deleted,
                replaced: false,
                window_days: deleted.then_some(window),
                what,
                at: rc.at,
            }),
            problem,
            ..PlannedKey::new(Origin {
                id: id.to_owned(),
                kind: kind.to_owned(),
                name: (!physical.is_empty()).then(|| physical.to_owned()),
                arn,
                at: rc.at,
            })
        });
    }
    Ok(stack)
}

/// `PendingWindowInDays` from the change's `BeforeContext` (change sets created with
/// `--include-property-values`).
fn window(rc: &Node) -> Option<i64> {
    let context = rc.get("BeforeContext")?.as_str()?;
    let v: serde_json::Value = serde_json::from_str(context).ok()?;
    let w = v
        .get("Properties")
        .and_then(|p| p.get("PendingWindowInDays"))
        .or_else(|| v.get("PendingWindowInDays"))?;
    w.as_i64().or_else(|| w.as_str()?.parse().ok())
}
