use crate::{Policy, QueryError};

/// Limits on the work one question may take; past them the verdict is [`Verdict::Unknown`].
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Product-automaton states explored per action.
    pub max_states: usize,
    /// Wall-clock limit per policy.
    pub max_millis: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_states: 200_000,
            max_millis: 500,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Blocked action patterns, e.g. `kms:Decrypt`, `kms:ReEncrypt*`.
    pub actions: Vec<String>,
    /// Narrow the key universe to one account (all regions).
    pub account: Option<String>,
    /// The partition of the key ARNs (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    pub budget: Budget,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            actions: vec!["kms:Decrypt".into(), "kms:ReEncryptFrom".into()],
            account: None,
            partition: "aws".into(),
            budget: Budget::default(),
        }
    }
}

/// A compiled question, asked of many policies.
#[derive(Debug, Clone)]
pub struct Query {
    options: QueryOptions,
    /// The concrete KMS actions the patterns expand to.
    actions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// No blocked action is allowed on all keys.
    Passed,
    /// Some blocked action is allowed on all keys.
    Failed,
    /// The question could not be decided within the budget.
    Unknown,
}

/// A statement named as evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatementRef {
    pub index: usize,
    pub sid: Option<String>,
}

/// The answer for one concrete blocked action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionResult {
    pub action: String,
    /// `None` when undecided (over budget).
    pub allowed_on_all_keys: Option<bool>,
    /// The Allow statements that grant the action (on some key).
    pub statements: Vec<StatementRef>,
    /// A key ARN the policy allows (always present when FAILED).
    pub witness: Option<String>,
    /// A key ARN of the universe the policy does not allow (always present when PASSED).
    pub counterexample: Option<String>,
    /// Why the action is undecided.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unknown_reason: Option<String>,
}

/// The answer for one policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    pub verdict: Verdict,
    pub actions: Vec<ActionResult>,
}

impl Query {
    pub fn new(options: QueryOptions) -> Result<Query, QueryError> {
        Ok(Query {
            actions: options.actions.clone(),
            options,
        })
    }

    pub fn options(&self) -> &QueryOptions {
        &self.options
    }

    /// The concrete KMS actions asked about.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }

    pub fn analyze(&self, policy: &Policy) -> Analysis {
        let _ = policy;
        Analysis {
            verdict: Verdict::Unknown,
            actions: self
                .actions
                .iter()
                .map(|a| ActionResult {
                    action: a.clone(),
                    allowed_on_all_keys: None,
                    statements: vec![],
                    witness: None,
                    counterexample: None,
                    unknown_reason: Some("analysis is not implemented yet".into()),
                })
                .collect(),
        }
    }
}
