//! Suppressions as code: a TOML file of rules applied at every scan.
//!
//! ```toml
//! [[suppress]]
//! control = "KMS.4"                                  # a control id, or "*"
//! resource = "arn:aws:kms:*:111122223333:key/*"      # ARN pattern (`*`, `?`); default "*"
//! account = "111122223333"                           # optional; default any account
//! reason = "imported key material, rotated by hand"  # required
//! expires = 2026-12-31                               # optional; last day the rule applies
//! owner = "platform-security"                        # optional
//! ```
//!
//! A rule suppresses the findings it matches that are not PASSED (a passed finding needs
//! no suppression): their workflow becomes `SUPPRESSED`, their compliance status stays
//! what the control found. The first matching rule wins. A rule whose `expires` day is
//! before the scan's day no longer applies and is reported as expired; a rule that matches
//! no finding is reported as unmatched.

use std::path::Path;

use chrono::NaiveDate;
use keyaki_controls::finding::{ScanReport, Status, SuppressionRef, Workflow, WorkflowStatus};
use serde::{Deserialize, Serialize};

use crate::error::SuppressionError;
use keyaki_policy::Glob;

/// The conventional file name, looked up in the working directory when no file is named.
pub const DEFAULT_FILE: &str = "keyaki-suppressions.toml";

/// One suppression rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `file:line` of the rule's `[[suppress]]` header.
    pub location: String,
    pub control: String,
    pub resource: Glob,
    pub account: Option<String>,
    pub reason: String,
    pub owner: Option<String>,
    pub expires: Option<NaiveDate>,
}

impl Rule {
    /// Whether the rule has expired on `today` (it applies through its `expires` day).
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|e| today > e)
    }

    fn matches(&self, control: &str, account: &str, arn: &str) -> bool {
        (self.control == "*" || self.control == control)
            && self.account.as_deref().is_none_or(|a| a == account)
            && self.resource.is_match(arn)
    }

    fn to_ref(&self) -> SuppressionRef {
        SuppressionRef {
            rule: self.location.clone(),
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires.map(|d| d.to_string()),
        }
    }
}

/// The rules of one suppressions file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressions {
    pub file: String,
    pub rules: Vec<Rule>,
}

/// What one rule did in one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// The rule suppressed at least one finding.
    Applied,
    /// The rule matched no finding.
    Unmatched,
    /// The rule's expiry day has passed: it no longer applies.
    Expired,
}

/// The outcome of one rule in one scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub control: String,
    pub resource: String,
    pub state: RuleState,
    /// Findings suppressed (applied) or that the rule would have suppressed (expired).
    pub matched: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires: Option<String>,
}

impl RuleOutcome {
    /// A one-line message for people, or `None` for a rule that simply applied.
    pub fn warning(&self) -> Option<String> {
        match self.state {
            RuleState::Applied => None,
            RuleState::Unmatched => Some(format!(
                "suppression rule at {} (control `{}`, resource `{}`) matches no finding",
                self.rule, self.control, self.resource
            )),
            RuleState::Expired => Some(format!(
                "suppression rule at {} expired on {}: it no longer applies ({} finding{} not suppressed)",
                self.rule,
                self.expires.as_deref().unwrap_or("?"),
                self.matched,
                if self.matched == 1 { "" } else { "s" }
            )),
        }
    }
}

/// What applying a suppressions file to a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionReport {
    pub file: String,
    pub rules: Vec<RuleOutcome>,
    /// Findings suppressed in this scan.
    pub suppressed: usize,
}

impl SuppressionReport {
    /// Warnings for expired and unmatched rules.
    pub fn warnings(&self) -> Vec<String> {
        self.rules.iter().filter_map(RuleOutcome::warning).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppress: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    control: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    account: Option<String>,
    reason: String,
    #[serde(default)]
    expires: Option<toml::Value>,
    #[serde(default)]
    owner: Option<String>,
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Suppressions {
    /// Reads and parses the suppressions file at `path`.
    pub fn load(path: &Path) -> Result<Suppressions, SuppressionError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SuppressionError::Read {
            path: name.clone(),
            source,
        })?;
        Suppressions::parse(&name, &text)
    }

    /// Parses the text of a suppressions file named `file` (the name is used in messages
    /// and in each rule's location).
    pub fn parse(file: &str, text: &str) -> Result<Suppressions, SuppressionError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            SuppressionError::Invalid {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            invalid(offset, e.message().trim_end_matches('\n').to_string())
        })?;
        let mut rules = Vec::with_capacity(raw.suppress.len());
        for spanned in raw.suppress {
            let offset = spanned.span().start;
            let (line, _) = line_col(text, offset);
            let r = spanned.into_inner();
            let control = r.control.trim().to_string();
            if control.is_empty() {
                return Err(invalid(
                    offset,
                    "`control` is empty: name a control such as `KMS.1`, or `*`".into(),
                ));
            }
            if r.reason.trim().is_empty() {
                return Err(invalid(
                    offset,
                    "`reason` is empty: say why the findings are suppressed".into(),
                ));
            }
            let resource = r.resource.unwrap_or_else(|| "*".to_string());
            if resource.is_empty() {
                return Err(invalid(
                    offset,
                    "`resource` is empty: use `*` for every resource".into(),
                ));
            }
            let account = match r.account.as_deref() {
                None | Some("*") => None,
                Some(a) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(a.to_string())
                }
                Some(a) => {
                    return Err(invalid(
                        offset,
                        format!("`account` is `{a}`: expected a 12-digit AWS account id or `*`"),
                    ))
                }
            };
            let expires = match r.expires {
                None => None,
                Some(value) => Some(parse_date(&value).ok_or_else(|| {
                    invalid(
                        offset,
                        format!("`expires` is `{value}`: expected a date such as 2026-12-31"),
                    )
                })?),
            };
            rules.push(Rule {
                location: format!("{file}:{line}"),
                control,
                resource: Glob::new(&resource),
                account,
                reason: r.reason.trim().to_string(),
                owner: r.owner.filter(|o| !o.trim().is_empty()),
                expires,
            });
        }
        Ok(Suppressions {
            file: file.to_string(),
            rules,
        })
    }

    /// Marks the findings of `report` that a rule suppresses (workflow `SUPPRESSED`, with
    /// the rule), on the day `today`; returns what each rule did. Findings no rule matches
    /// are left as they are.
    pub fn apply(&self, report: &mut ScanReport, today: NaiveDate) -> SuppressionReport {
        let mut matched = vec![0usize; self.rules.len()];
        let mut suppressed = 0;
        for finding in &mut report.findings {
            if finding.status == Status::Passed {
                continue;
            }
            let (control, account, arn) = (
                finding.control.as_str(),
                finding.resource.account.as_str(),
                finding.resource.arn.as_str(),
            );
            for (i, rule) in self.rules.iter().enumerate() {
                if !rule.matches(control, account, arn) {
                    continue;
                }
                matched[i] += 1;
                if rule.is_expired(today) {
                    continue;
                }
                let note = finding.workflow.as_ref().and_then(|w| w.note.clone());
                finding.workflow = Some(Box::new(Workflow {
                    status: WorkflowStatus::Suppressed,
                    suppression: Some(rule.to_ref()),
                    note,
                }));
                suppressed += 1;
                break;
            }
        }
        let rules = self
            .rules
            .iter()
            .zip(matched)
            .map(|(rule, n)| RuleOutcome {
                rule: rule.location.clone(),
                control: rule.control.clone(),
                resource: rule.resource.as_str().to_string(),
                state: if rule.is_expired(today) {
                    RuleState::Expired
                } else if n == 0 {
                    RuleState::Unmatched
                } else {
                    RuleState::Applied
                },
                matched: n,
                expires: rule.expires.map(|d| d.to_string()),
            })
            .collect();
        SuppressionReport {
            file: self.file.clone(),
            rules,
            suppressed,
        }
    }
}

fn parse_date(value: &toml::Value) -> Option<NaiveDate> {
    match value {
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        toml::Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
        _ => None,
    }
}

/// Whether `finding`'s workflow is `SUPPRESSED` (by a rule or by a person): such a finding
/// keeps its compliance status but does not fail a scan.
pub fn is_suppressed(finding: &keyaki_controls::finding::Finding) -> bool {
    finding
        .workflow
        .as_ref()
        .is_some_and(|w| w.status == WorkflowStatus::Suppressed)
}
