//! Organization scans: the active accounts of an AWS organization, each entered through a
//! role and collected, several at a time.
//!
//! 1. [`discover`] — from the management account or a delegated administrator: who is
//!    calling (STS `GetCallerIdentity`: the caller's account and partition), the
//!    organization's accounts (Organizations `ListAccounts`, every page, status `ACTIVE`),
//!    and the choice made with `--accounts`, `--exclude-accounts` and `--ou` (the accounts
//!    under an organizational unit or root, at any depth: `ListChildren` and
//!    `ListAccountsForParent`, every page).
//! 2. [`start`] — the collections: each member account through
//!    `arn:PARTITION:iam::ACCOUNT:role/NAME` (STS `AssumeRole`, with the external id and
//!    the session name `keyaki-ACCOUNT`), the caller's own account with the caller's own
//!    credentials (the management account usually has no such role). At most
//!    `max_in_flight` accounts are held at once: a slot is taken before an account's
//!    collection starts and given back only when the consumer drops the
//!    [`AccountScan`], once the account is evaluated and written. Memory therefore grows
//!    with the accounts in flight, never with the organization's size.
//!
//! An account that cannot be entered (the role cannot be assumed) or read (its identity,
//! region list or IAM cannot be read) is not an error of the run: its [`AccountScan`]
//! carries an [`UnscannedAccount`], which the controls turn into NOT_AVAILABLE findings
//! (`ACCOUNT_NOT_ACCESSIBLE`, `ACCOUNT_READ_ERROR`).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use aws_config::SdkConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keyaki_controls::account::UnscannedAccount;
use keyaki_controls::snapshot::Snapshot;
use keyaki_controls::ReasonCode;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::collect::{partition_of_arn, partition_of_region, CallError, CollectError};
use crate::config::{self, AwsOptions};
use crate::failure::Cause;
use crate::limits::{BodyLimit, NotRetried};
use crate::{CollectOptions, CollectStats};

/// Default bound on the accounts collected and evaluated at once.
pub const DEFAULT_MAX_ACCOUNTS_IN_FLIGHT: usize = 10;

/// Which accounts of the organization to scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these account ids (empty: every active account).
    pub accounts: Vec<String>,
    /// Not these account ids.
    pub exclude: Vec<String>,
    /// Only the accounts under these organizational units or roots (`ou-…`, `r-…`), at
    /// any depth (empty: anywhere).
    pub ous: Vec<String>,
}

impl Selection {
    /// Checks the ids as written: 12-digit accounts, `ou-` or `r-` parents.
    pub fn check(&self) -> Result<(), OrganizationError> {
        for id in self.accounts.iter().chain(&self.exclude) {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(OrganizationError::BadAccountId(id.clone()));
            }
        }
        for ou in &self.ous {
            let ok = (ou.starts_with("ou-") || ou.starts_with("r-"))
                && ou.len() > 3
                && ou.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(OrganizationError::BadParentId(ou.clone()));
            }
        }
        Ok(())
    }
}

/// An account of the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The 12-digit account id.
    pub id: String,
    /// Its name in the organization.
    pub name: Option<String>,
    /// Its ARN (`arn:aws:organizations::MGMT:account/o-…/ID`).
    pub arn: Option<String>,
}

/// The organization as seen from the caller, and the accounts chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The caller's account (scanned with the caller's own credentials when chosen).
    pub caller: String,
    /// The caller's partition (`aws`): the partition of every role ARN.
    pub partition: String,
    /// The accounts to scan, by id.
    pub members: Vec<Member>,
    /// What the choice left out or could not find, one line each (accounts asked for with
    /// `--accounts` that are not active accounts of the organization).
    pub warnings: Vec<String>,
}

impl Organization {
    /// Whether `account` is one of the accounts chosen.
    pub fn has(&self, account: &str) -> bool {
        self.members.iter().any(|m| m.id == account)
    }
}

/// Why the organization could not be listed (the run cannot start: exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    #[error("no AWS region configured: pass `--region`, set `AWS_REGION`, or set a region in the profile")]
    NoRegion,
    #[error("`{0}` is not an account id (12 digits)")]
    BadAccountId(String),
    #[error("`{0}` is not the id of an organizational unit (`ou-…`) or root (`r-…`)")]
    BadParentId(String),
    #[error("could not establish who is calling (sts:GetCallerIdentity): {0}")]
    Identity(CallError),
    #[error("{}", listing(.0))]
    List(CallError),
}

impl OrganizationError {
    /// The SDK's whole account of the failed call, for `-v`.
    pub fn detail(&self) -> Option<&str> {
        match self {
            OrganizationError::Identity(e) | OrganizationError::List(e) => {
                Some(e.detail.as_str()).filter(|d| !d.is_empty())
            }
            _ => None,
        }
    }
}

fn listing(e: &CallError) -> String {
    let advice = match (e.code.as_str(), e.cause) {
        ("AWSOrganizationsNotInUseException", _) => {
            "the caller's account is not a member of an organization".to_string()
        }
        (_, Cause::AccessDenied) => format!(
            "access denied ({}: {}); run from the management account or a delegated \
             administrator account, with the permissions listed in `docs/iam-permissions.json`",
            e.code, e.message
        ),
        ("ParentNotFoundException", _) => {
            format!("{}: {} (check `--ou`)", e.code, e.message)
        }
        _ => format!("{}: {}", e.code, e.message),
    };
    format!(
        "could not list the organization's accounts (organizations:{}): {advice}",
        e.operation
    )
}

/// The role ARN an account is entered through.
pub fn role_arn(partition: &str, account: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// The session name of the role assumed in `account`.
pub fn session_name(account: &str) -> String {
    format!("keyaki-{account}")
}

/// Lists the organization's active accounts and applies `selection`.
pub async fn discover(
    aws: &AwsOptions,
    selection: &Selection,
) -> Result<Organization, OrganizationError> {
    selection.check()?;
    let sdk = config::load(aws).await;
    let home = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or(OrganizationError::NoRegion)?;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&sdk)
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    );
    let me =
        sts.get_caller_identity().send().await.map_err(|e| {
            OrganizationError::Identity(CallError::from_sdk("GetCallerIdentity", e))
        })?;
    let caller = me.account().unwrap_or_default().to_string();
    let partition = me
        .arn()
        .and_then(partition_of_arn)
        .unwrap_or_else(|| partition_of_region(&home))
        .to_string();
    let org = organizations_client(&sdk);
    let active = list_active_accounts(&org).await?;
    let under = if selection.ous.is_empty() {
        None
    } else {
        let mut ids = HashSet::new();
        for ou in &selection.ous {
            accounts_under(&org, ou, &mut ids).await?;
        }
        Some(ids)
    };
    Ok(choose(caller, partition, active, under.as_ref(), selection))
}

/// Applies the selection to the active accounts (sorted by id, without repeats).
fn choose(
    caller: String,
    partition: String,
    active: Vec<Member>,
    under: Option<&HashSet<String>>,
    selection: &Selection,
) -> Organization {
    let known: BTreeSet<&str> = active.iter().map(|m| m.id.as_str()).collect();
    let warnings = selection
        .accounts
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .map(|id| {
            format!(
                "account `{id}` is not an active account of the organization; it is not scanned"
            )
        })
        .collect();
    let mut seen = HashSet::new();
    let mut members: Vec<Member> = active
        .into_iter()
        .filter(|m| seen.insert(m.id.clone()))
        .filter(|m| selection.accounts.is_empty() || selection.accounts.contains(&m.id))
        .filter(|m| !selection.exclude.contains(&m.id))
        .filter(|m| under.is_none_or(|u| u.contains(&m.id)))
        .collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Organization {
        caller,
        partition,
        members,
        warnings,
    }
}

fn organizations_client(sdk: &SdkConfig) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(sdk)
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    )
}

/// Stops a listing whose service sends a marker twice (it would never end).
fn repeated(operation: &str, seen: &mut HashSet<String>, next: &str) -> Result<(), CallError> {
    if seen.insert(next.to_string()) {
        return Ok(());
    }
    Err(CallError::new(
        operation,
        "RepeatedMarker",
        format!("the service sent marker `{next}` twice; stopped paging"),
        crate::collect::FailureKind::Service,
    ))
}

/// `ListAccounts`, every page; the accounts whose state (or, from services that send no
/// `State`, status) is `ACTIVE`.
async fn list_active_accounts(
    org: &aws_sdk_organizations::Client,
) -> Result<Vec<Member>, OrganizationError> {
    use aws_sdk_organizations::types::{AccountState, AccountStatus};
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| OrganizationError::List(CallError::from_sdk("ListAccounts", e)))?;
        for a in page.accounts() {
            let active = match a.state() {
                Some(state) => *state == AccountState::Active,
                #[allow(deprecated)]
                None => a.status() == Some(&AccountStatus::Active),
            };
            let Some(id) = a.id().filter(|_| active) else {
                continue;
            };
            out.push(Member {
                id: id.to_string(),
                name: a.name().map(str::to_string),
                arn: a.arn().map(str::to_string),
            });
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => {
                repeated("ListAccounts", &mut seen, next).map_err(OrganizationError::List)?;
                token = Some(next.to_string());
            }
            _ => return Ok(out),
        }
    }
}

/// The accounts under `parent`, at any depth: its accounts (`ListAccountsForParent`) and
/// those of its organizational units (`ListChildren`), breadth first.
async fn accounts_under(
    org: &aws_sdk_organizations::Client,
    parent: &str,
    into: &mut HashSet<String>,
) -> Result<(), OrganizationError> {
    use aws_sdk_organizations::types::ChildType;
    let mut queue = vec![parent.to_string()];
    let mut visited = HashSet::new();
    while let Some(parent) = queue.pop() {
        if !visited.insert(parent.clone()) {
            continue;
        }
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = org
                .list_accounts_for_parent()
                .parent_id(&parent)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    OrganizationError::List(CallError::from_sdk("ListAccountsForParent", e))
                })?;
            into.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_string)),
            );
            match page.next_token() {
                Some(next) if !next.is_empty() => {
                    repeated("ListAccountsForParent", &mut seen, next)
                        .map_err(OrganizationError::List)?;
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = org
                .list_children()
                .parent_id(&parent)
                .child_type(ChildType::OrganizationalUnit)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| OrganizationError::List(CallError::from_sdk("ListChildren", e)))?;
            queue.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_string)),
            );
            match page.next_token() {
                Some(next) if !next.is_empty() => {
                    repeated("ListChildren", &mut seen, next).map_err(OrganizationError::List)?;
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
    }
    Ok(())
}

/// How every account is entered and collected.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The caller's options (profile, regions, concurrency per region, timeouts); each
    /// member account gets them with its role. Its `progress` is ignored: the accounts'
    /// bar is drawn by [`AccountsProgress`].
    pub collect: CollectOptions,
    /// The role's name in every member account (`--role-name`).
    pub role_name: String,
    /// The external id its trust policy requires (`--external-id`).
    pub external_id: Option<String>,
    /// Accounts held at once (collecting, collected, being evaluated), at least 1.
    pub max_in_flight: usize,
}

impl Plan {
    /// The collection options of `account`: the caller's own for the caller's account,
    /// else the caller's with the member's role to assume.
    pub fn options_for(&self, org: &Organization, account: &str) -> CollectOptions {
        let mut opts = self.collect.clone();
        opts.progress = false;
        if account != org.caller {
            opts.aws.role_arn = Some(role_arn(&org.partition, account, &self.role_name));
            opts.aws.external_id = self.external_id.clone();
            opts.aws.role_session_name = Some(session_name(account));
        }
        opts
    }
}

/// One account's collection, as the consumer receives it. Holding it holds one of the
/// plan's slots; dropping it lets the next account start.
#[derive(Debug)]
pub struct AccountScan {
    pub member: Member,
    /// The snapshot and what it cost, or why the account could not be scanned.
    pub outcome: Result<(Snapshot, CollectStats), Box<Unscanned>>,
    _slot: OwnedSemaphorePermit,
}

/// An account that could not be scanned: what the findings say, and the SDK's whole
/// account of the failure for `-v`.
#[derive(Debug, Clone)]
pub struct Unscanned {
    pub account: UnscannedAccount,
    pub detail: Option<String>,
}

/// Starts collecting the organization's chosen accounts on `runtime`, `plan.max_in_flight`
/// at a time; each arrives on the returned channel as it finishes (the order of completion).
/// The channel closes after the last account.
pub fn start(
    runtime: &tokio::runtime::Handle,
    plan: Plan,
    org: &Organization,
) -> mpsc::UnboundedReceiver<AccountScan> {
    let (tx, rx) = mpsc::unbounded_channel();
    let slots = Arc::new(Semaphore::new(plan.max_in_flight.max(1)));
    let plan = Arc::new(plan);
    let org = Arc::new(org.clone());
    let handle = runtime.clone();
    runtime.spawn(async move {
        for member in org.members.clone() {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            if tx.is_closed() {
                return;
            }
            let tx = tx.clone();
            let plan = Arc::clone(&plan);
            let org = Arc::clone(&org);
            handle.spawn(async move {
                let outcome = collect_member(&plan, &org, &member).await;
                let _ = tx.send(AccountScan {
                    member,
                    outcome,
                    _slot: slot,
                });
            });
        }
    });
    rx
}

async fn collect_member(
    plan: &Plan,
    org: &Organization,
    member: &Member,
) -> Result<(Snapshot, CollectStats), Box<Unscanned>> {
    let opts = plan.options_for(org, &member.id);
    let unscanned = |code, why: String, detail: Option<String>| {
        Box::new(Unscanned {
            account: UnscannedAccount {
                account: member.id.clone(),
                partition: org.partition.clone(),
                arn: member.arn.clone().unwrap_or_default(),
                name: member.name.clone(),
                code,
                why,
            },
            detail,
        })
    };
    match crate::collect(&opts).await {
        Ok((snapshot, stats)) if snapshot.account_id == member.id => Ok((snapshot, stats)),
        Ok((snapshot, _)) => Err(unscanned(
            ReasonCode::AccountNotAccessible,
            format!(
                "the credentials obtained for it act in account `{}`",
                snapshot.account_id
            ),
            None,
        )),
        Err(e) => {
            let (code, why) = classify(&e, opts.aws.role_arn.as_deref());
            Err(unscanned(code, why, e.detail().map(str::to_string)))
        }
    }
}

/// What a failed collection of an account says: `ACCOUNT_NOT_ACCESSIBLE` when it could not
/// be entered (its role refused), else `ACCOUNT_READ_ERROR`; and why, in one sentence.
/// `role` is the role the collection assumed, if any.
pub fn classify(e: &CollectError, role: Option<&str>) -> (ReasonCode, String) {
    match (e, role) {
        (CollectError::Identity(call), Some(role)) if entry_refused(call) => (
            ReasonCode::AccountNotAccessible,
            format!("role `{role}` could not be assumed: {}", call.message),
        ),
        (CollectError::Identity(call), None) if entry_refused(call) => {
            (ReasonCode::AccountNotAccessible, e.to_string())
        }
        _ => (ReasonCode::AccountReadError, e.to_string()),
    }
}

/// Whether a failed identity call means the account could not be entered (the role's
/// credentials were refused or could not be had), rather than AWS not answering.
fn entry_refused(call: &CallError) -> bool {
    matches!(
        call.cause,
        Cause::CredentialSource
            | Cause::AccessDenied
            | Cause::CredentialsRejected
            | Cause::CredentialsExpired
            | Cause::NoCredentials
    )
}

/// The progress bar over accounts on stderr (hidden unless asked for).
#[derive(Debug, Clone)]
pub struct AccountsProgress(ProgressBar);

impl AccountsProgress {
    pub fn new(visible: bool, accounts: u64) -> AccountsProgress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(accounts), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix("accounts");
        AccountsProgress(bar)
    }

    /// Prints `line` above the bar (or plainly when hidden).
    pub fn println(&self, line: &str) {
        if self.0.is_hidden() {
            eprintln!("{line}");
        } else {
            self.0.println(line);
        }
    }

    /// One more account done.
    pub fn done(&self, account: &str) {
        self.0.inc(1);
        self.0.set_message(account.to_string());
    }

    /// Runs `f` (which prints on stderr) with the bar hidden.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.0.suspend(f)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            name: None,
            arn: None,
        }
    }

    #[test]
    fn the_choice_keeps_asked_accounts_minus_excluded_ones_under_the_units() {
        let active = vec![
            member("333333333333"),
            member("111111111111"),
            member("222222222222"),
            member("111111111111"),
        ];
        let all = choose(
            "111111111111".into(),
            "aws".into(),
            active.clone(),
            None,
            &Selection::default(),
        );
        let ids: Vec<&str> = all.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["111111111111", "222222222222", "333333333333"]);
        assert!(all.warnings.is_empty());

        let selection = Selection {
            accounts: vec![
                "222222222222".into(),
                "333333333333".into(),
                "444444444444".into(),
            ],
            exclude: vec!["333333333333".into()],
            ous: vec![],
        };
        let some = choose("1".into(), "aws".into(), active.clone(), None, &selection);
        let ids: Vec<&str> = some.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["222222222222"]);
        assert_eq!(some.warnings.len(), 1);
        assert!(some.warnings[0].contains("444444444444"));

        let under: HashSet<String> = ["333333333333".to_string()].into();
        let in_ou = choose(
            "1".into(),
            "aws".into(),
            active,
            Some(&under),
            &Selection::default(),
        );
        let ids: Vec<&str> = in_ou.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["333333333333"]);
    }

    #[test]
    fn ids_are_checked_as_written() {
        let bad_account = Selection {
            accounts: vec!["12345".into()],
            ..Selection::default()
        };
        assert!(matches!(
            bad_account.check(),
            Err(OrganizationError::BadAccountId(_))
        ));
        let bad_ou = Selection {
            ous: vec!["o-abc".into()],
            ..Selection::default()
        };
        assert!(matches!(
            bad_ou.check(),
            Err(OrganizationError::BadParentId(_))
        ));
        let good = Selection {
            accounts: vec!["123456789012".into()],
            exclude: vec!["210987654321".into()],
            ous: vec!["ou-ab12-cd34ef56".into(), "r-ab12".into()],
        };
        assert!(good.check().is_ok());
    }

    #[test]
    fn a_refused_role_is_not_accessible_and_other_failures_are_read_errors() {
        use crate::collect::FailureKind;
        let role = "arn:aws:iam::222222222222:role/keyaki-audit";
        let refused = CollectError::Identity(CallError::new(
            "GetCallerIdentity",
            "AccessDenied",
            "could not get credentials: AccessDenied: not authorized to perform: sts:AssumeRole",
            FailureKind::Access,
        ));
        let (code, why) = classify(&refused, Some(role));
        assert_eq!(code, ReasonCode::AccountNotAccessible);
        assert!(
            why.starts_with(&format!("role `{role}` could not be assumed: ")),
            "{why}"
        );
        assert!(why.contains("sts:AssumeRole"), "{why}");
        let unreachable = CollectError::Identity(CallError::new(
            "GetCallerIdentity",
            "DispatchFailure",
            "connection refused",
            FailureKind::Unreachable,
        ));
        let iam = CollectError::Iam(CallError::new(
            "GetAccountAuthorizationDetails",
            "ServiceUnavailable",
            "try later",
            FailureKind::Service,
        ));
        let lost = CollectError::Lost(CallError::new(
            "GetCallerIdentity",
            "DispatchFailure",
            "connection reset",
            FailureKind::Unreachable,
        ));
        for e in [unreachable, iam, lost] {
            let (code, why) = classify(&e, Some(role));
            assert_eq!(code, ReasonCode::AccountReadError, "{e}");
            assert_eq!(why, e.to_string());
        }
    }

    #[test]
    fn members_are_entered_through_their_role_and_the_caller_with_its_own_credentials() {
        let plan = Plan {
            collect: CollectOptions::default(),
            role_name: "keyaki-audit".into(),
            external_id: Some("x-1".into()),
            max_in_flight: 3,
        };
        let org = Organization {
            caller: "111111111111".into(),
            partition: "aws-us-gov".into(),
            members: vec![],
            warnings: vec![],
        };
        let member = plan.options_for(&org, "222222222222");
        assert_eq!(
            member.aws.role_arn.as_deref(),
            Some("arn:aws-us-gov:iam::222222222222:role/keyaki-audit")
        );
        assert_eq!(member.aws.external_id.as_deref(), Some("x-1"));
        assert_eq!(
            member.aws.role_session_name.as_deref(),
            Some("keyaki-222222222222")
        );
        let own = plan.options_for(&org, "111111111111");
        assert_eq!(own.aws.role_arn, None);
        assert_eq!(own.aws.external_id, None);
    }
}
