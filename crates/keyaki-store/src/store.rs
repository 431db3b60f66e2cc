//! The SQLite findings store: opening and migrating it, recording scans, queries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use keyaki_controls::finding::{
    Finding, Lifecycle, NotEvaluated, RecordState, ScanReport, Severity, Status, SuppressionRef,
    Workflow, WorkflowStatus,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::record;
use crate::schema;
use crate::suppress::SuppressionReport;
use keyaki_policy::Glob;

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Who the history names for changes a scan made.
pub const SCAN_ACTOR: &str = "keyaki scan";

/// What the caller knows about a scan beyond its report.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The inputs read: snapshot files, or `aws` for a live collection.
    pub inputs: Vec<String>,
    /// Regions the scan covered (read without error). IAM resources are global: they are
    /// covered whenever their control was evaluated.
    pub regions: Vec<String>,
    /// What could not be read (regions, resources, operations), for the run record.
    pub unreadable: Vec<String>,
    /// Whether the scan saw everything in its scope. Only a complete scan archives the
    /// findings it no longer sees (in the regions it covered).
    pub complete: bool,
    /// Global (IAM) resources could not all be read: their findings are not archived even
    /// by a complete scan.
    pub global_incomplete: bool,
    /// Resource types (`AWS::IAM::User`, ...) whose list could not all be read (absent,
    /// null, of another type, partly unreadable): their findings are not archived even
    /// by a complete scan.
    pub incomplete_types: Vec<String>,
    /// Controls turned off: their findings in this account are archived.
    pub disabled_controls: Vec<String>,
    /// The outcome of the suppressions file applied to the report, if one was.
    pub suppressions: Option<SuppressionReport>,
}

impl RunInfo {
    /// Whether the scan read all it was meant to: complete, with every global resource
    /// and every resource type read in full. Recorded as the run's `complete`.
    pub fn covers_everything(&self) -> bool {
        self.complete && !self.global_incomplete && self.incomplete_types.is_empty()
    }
}

/// What a partial evaluation read, for [`Store::record_partial`]: only the resources it
/// names are recorded, and only the ones read as gone are archived.
#[derive(Debug, Clone)]
pub struct PartialScope {
    /// The inputs read (`aws`, ...), for the run record.
    pub inputs: Vec<String>,
    /// What could not be read, for the run record.
    pub unreadable: Vec<String>,
    /// When reading began. A finding the store holds from a later read is left as it is.
    pub read_at: DateTime<Utc>,
    /// The resources read as gone: their active findings are archived.
    pub gone: Vec<GoneResource>,
    /// The outcome of the suppressions file applied to the report, if one was.
    pub suppressions: Option<SuppressionReport>,
}

/// A resource read as gone, by its ARN or, when only its name is known (a principal whose
/// path is not known), by its name: the last segment of its ARN, compared without regard
/// to case as IAM compares names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneResource {
    /// `AWS::IAM::Role`, `AWS::KMS::Key`, ...
    pub resource_type: String,
    pub arn: Option<String>,
    pub name: Option<String>,
}

impl GoneResource {
    /// Whether a finding's resource ARN is this resource's.
    pub fn matches(&self, arn: &str) -> bool {
        match (&self.arn, &self.name) {
            (Some(a), _) => a == arn,
            // IAM names are unique without regard to case
            (None, Some(name)) => arn
                .rsplit_once('/')
                .is_some_and(|(_, last)| last.eq_ignore_ascii_case(name)),
            (None, None) => false,
        }
    }
}

/// What recording one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub account: String,
    /// Findings observed by the scan.
    pub observed: usize,
    /// Findings seen for the first time.
    pub created: usize,
    /// Findings reopened (`RESOLVED` → `NEW`, or seen again after being archived).
    pub reopened: usize,
    /// Findings that became `RESOLVED`.
    pub resolved: usize,
    /// Findings archived (no longer seen by a complete scan, or control disabled).
    pub archived: usize,
    /// Archived findings seen again.
    pub reactivated: usize,
    /// Findings that became `SUPPRESSED` by a rule.
    pub suppressed: usize,
    /// Findings whose suppression was lifted (rule expired or gone).
    pub unsuppressed: usize,
    /// Warnings recorded with the run (expired and unmatched suppression rules).
    pub warnings: Vec<String>,
    /// Partial evaluations: findings not recorded because the store holds them from a
    /// state read later.
    #[serde(default)]
    pub stale: usize,
}

/// A recorded scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub recorded_at: String,
    pub account: String,
    pub partition: String,
    pub generated_at: String,
    pub collected_at: Option<String>,
    pub controls: Vec<String>,
    pub not_evaluated: Vec<NotEvaluated>,
    pub regions: Vec<String>,
    pub inputs: Vec<String>,
    pub unreadable: Vec<String>,
    /// Whether the scan read all it was meant to (see [`RunInfo::covers_everything`]);
    /// `unreadable` says what it did not.
    pub complete: bool,
    pub total: i64,
    pub passed: i64,
    pub failed: i64,
    pub warning: i64,
    pub not_available: i64,
    pub created: i64,
    pub reopened: i64,
    pub resolved: i64,
    pub archived: i64,
    pub suppressed: i64,
    pub suppressions: Option<SuppressionReport>,
    pub warnings: Vec<String>,
    /// A partial evaluation of the resources events named (`keyaki watch`): it observed
    /// only those, so `keyaki diff` does not choose it by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub targeted: bool,
}

/// The FAILED findings of one run, per control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailures {
    pub run_id: i64,
    pub recorded_at: String,
    /// Control id (`KMS.1`) → number of FAILED findings; controls without any are absent.
    pub failed_by_control: BTreeMap<String, usize>,
}

/// A stored finding without its evidence: what lists and tables show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub id: String,
    pub control: String,
    pub status: Status,
    pub severity: Severity,
    pub workflow: WorkflowStatus,
    pub record_state: RecordState,
    pub resource_type: String,
    pub resource_arn: String,
    pub account: String,
    pub region: String,
    pub reason_code: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suppression: Option<SuppressionRef>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// One change of a finding, as kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub run_id: Option<i64>,
    pub actor: String,
    pub status_from: Option<String>,
    pub status_to: Option<String>,
    pub workflow_from: Option<String>,
    pub workflow_to: Option<String>,
    pub record_from: Option<String>,
    pub record_to: Option<String>,
    pub note: Option<String>,
}

/// Which stored findings to list. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Full finding ids.
    pub ids: Vec<String>,
    pub controls: Vec<String>,
    pub statuses: Vec<Status>,
    pub workflows: Vec<WorkflowStatus>,
    pub severities: Vec<Severity>,
    pub record_states: Vec<RecordState>,
    pub account: Option<String>,
    /// ARN pattern (`*`, `?`).
    pub resource: Option<Glob>,
    /// Only findings updated at or after this RFC 3339 time (or `YYYY-MM-DD`).
    pub since: Option<String>,
    /// Leave out NOT_AVAILABLE findings whose reason is `NOT_APPLICABLE`.
    pub hide_not_applicable: bool,
}

impl Filter {
    /// The default view, as Security Hub's: active findings whose workflow is `NEW` or
    /// `NOTIFIED`, without the not-applicable ones.
    pub fn actionable() -> Filter {
        Filter {
            workflows: vec![WorkflowStatus::New, WorkflowStatus::Notified],
            record_states: vec![RecordState::Active],
            hide_not_applicable: true,
            ..Filter::default()
        }
    }
}

/// The result of a workflow update for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowUpdate {
    pub id: String,
    pub from: WorkflowStatus,
    pub to: WorkflowStatus,
}

/// A finding as observed in one run, for diffs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffEntry {
    pub id: String,
    pub control: String,
    pub resource_arn: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to: Option<Status>,
}

/// What changed between two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub run_a: i64,
    pub run_b: i64,
    /// Not observed in A, observed in B and not PASSED.
    pub new: Vec<DiffEntry>,
    /// Not PASSED in A, PASSED in B.
    pub fixed: Vec<DiffEntry>,
    /// PASSED in A, not PASSED in B.
    pub reopened: Vec<DiffEntry>,
    /// Observed in A, not observed in B.
    pub gone: Vec<DiffEntry>,
    /// Another change of status (e.g. FAILED → NOT_AVAILABLE).
    pub changed: Vec<DiffEntry>,
    /// Not PASSED in both runs, status unchanged.
    pub still_failing: usize,
}

/// The findings store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn status_of(s: &str) -> Status {
    match s {
        "PASSED" => Status::Passed,
        "FAILED" => Status::Failed,
        "WARNING" => Status::Warning,
        _ => Status::NotAvailable,
    }
}

fn severity_of(s: &str) -> Severity {
    match s {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Informational,
    }
}

pub(crate) fn workflow_of(s: &str) -> WorkflowStatus {
    WorkflowStatus::parse(s).unwrap_or(WorkflowStatus::New)
}

pub(crate) fn record_of(s: &str) -> RecordState {
    if s == "ARCHIVED" {
        RecordState::Archived
    } else {
        RecordState::Active
    }
}

pub(crate) fn json_list<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string())
}

fn from_json<T: for<'de> Deserialize<'de> + Default>(s: Option<String>) -> T {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Global resource types: their findings are in scope whatever regions a scan covered.
pub(crate) fn is_global(resource_type: &str) -> bool {
    // The findings about a whole account (an account an organization scan could not enter,
    // `AWS::::Account`) are global too: a later scan that reads the account's IAM in full
    // no longer sees them and archives them, whatever its regions.
    resource_type.starts_with("AWS::IAM::") || resource_type == "AWS::::Account"
}

/// How much of the store file SQLite may map into memory.
const MMAP_BYTES: i64 = 1 << 30;
/// How much of the store file SQLite may map while findings are streamed (see
/// `Store::with_stream_mapping`).
const STREAM_MMAP_BYTES: i64 = 0;
/// SQLite's page cache, in KiB.
const CACHE_KIB: i64 = 32 * 1024;

const FINDING_COLUMNS: &str = "id, control, status, severity, workflow, record_state, \
     resource_type, resource_arn, account, region, reason_code, first_observed_at, \
     last_observed_at, updated_at, suppression, note";

fn stored_finding(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFinding> {
    let suppression: Option<String> = row.get(14)?;
    Ok(StoredFinding {
        id: row.get(0)?,
        control: row.get(1)?,
        status: status_of(row.get_ref(2)?.as_str()?),
        severity: severity_of(row.get_ref(3)?.as_str()?),
        workflow: workflow_of(row.get_ref(4)?.as_str()?),
        record_state: record_of(row.get_ref(5)?.as_str()?),
        resource_type: row.get(6)?,
        resource_arn: row.get(7)?,
        account: row.get(8)?,
        region: row.get(9)?,
        reason_code: row.get(10)?,
        first_observed_at: row.get(11)?,
        last_observed_at: row.get(12)?,
        updated_at: row.get(13)?,
        suppression: suppression.and_then(|s| serde_json::from_str(&s).ok()),
        note: row.get(15)?,
    })
}

fn push_in<T>(
    clauses: &mut Vec<String>,
    args: &mut Vec<String>,
    column: &str,
    values: &[T],
    name: impl Fn(&T) -> String,
) {
    if values.is_empty() {
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    clauses.push(format!("{column} IN ({marks})"));
    args.extend(values.iter().map(name));
}

fn is_read_only_error(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// `file:PATH?immutable=1`, the path percent-encoded where a URI needs it.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'?' | b'#' | b'%' => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(b as char),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// What keyaki writes in the SQLite header's application id (`PRAGMA application_id`) of the
/// stores it creates: `kyak` in ASCII. Stores created before it have 0 there and are known
/// by their tables.
pub const APPLICATION_ID: i32 = 0x6B79_616B;

/// The tables every keyaki store has had since schema version 1.
const KEYAKI_TABLES: [&str; 2] = ["runs", "findings"];

/// The schema version of a keyaki store, read without writing anything. A database is a
/// keyaki store when its header carries keyaki's application id, or, with no application
/// id, when it has a schema version and keyaki's tables; an empty database (no tables, no
/// version, no application id) is a new store (version 0). Anything else is another
/// program's and refused, before the newer-version check (a foreign database's version
/// means nothing to keyaki).
fn check_is_keyaki(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let open_err = |source: rusqlite::Error| {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            StoreError::NotADatabase {
                path: path.to_path_buf(),
            }
        } else {
            StoreError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    // One read transaction: the version, the application id and the tables are read from
    // the same state of the file, even while another process creates the store (read one
    // by one, a new store's tables could be seen without the version and id written with
    // them, and the store taken for another program's).
    let read = conn.unchecked_transaction().map_err(open_err)?;
    let version: i64 = read
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    let application_id: i32 = read
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(open_err)?;
    let names = {
        let mut statement = read
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            .map_err(open_err)?;
        let names = statement
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(open_err)?
            .collect::<Result<HashSet<String>, _>>()
            .map_err(open_err)?;
        names
    };
    drop(read);
    let keyaki = match application_id {
        APPLICATION_ID => true,
        0 if version == 0 && names.is_empty() => return Ok(0),
        0 => version > 0 && KEYAKI_TABLES.iter().all(|t| names.contains(*t)),
        _ => false,
    };
    if !keyaki {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
        });
    }
    if version > schema::VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: schema::VERSION,
        });
    }
    Ok(version)
}

/// Whether opening a store to migrate it failed because it cannot be written where it is.
fn is_read_only_store_error(e: &StoreError) -> bool {
    match e {
        StoreError::Open { source, .. } | StoreError::Migrate { source, .. } => {
            is_read_only_error(source)
                || source.sqlite_error_code() == Some(rusqlite::ErrorCode::PermissionDenied)
        }
        StoreError::CreateDir { .. } => true,
        _ => false,
    }
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory) if needed, and migrates
    /// it to the current schema. A store from a newer keyaki is refused.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        check_is_keyaki(&conn, path)?;
        // Switching a new store to WAL takes an exclusive lock, and SQLite answers BUSY at
        // once, without its busy handler, to one of two connections doing it together (the
        // other might deadlock): wait and try again, within the same timeout.
        let start = std::time::Instant::now();
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && start.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(open_err(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // Lists of many findings read pages all over the file: mapping it saves a system
        // call and a copy per page (SQLite falls back to reads where mapping is unavailable).
        conn.query_row(&format!("PRAGMA mmap_size = {MMAP_BYTES}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only: nothing is created, migrated or written,
    /// so a store in a read-only directory, or a read-only file, can be read. A store of an
    /// older schema is migrated first when it can be written (else the error says so).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let (conn, version) = match check_is_keyaki(&conn, path) {
            Ok(version) => (conn, version),
            // A store in WAL mode needs its shared-memory file beside it, which a reader
            // cannot create in a read-only directory. With no write-ahead log left there
            // (no writer can have one in such a directory), the file alone is the whole
            // store: it is read as an immutable file.
            Err(StoreError::Open { source, .. }) if is_read_only_error(&source) => {
                drop(conn);
                let wal = path.with_file_name(format!(
                    "{}-wal",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    return Err(open_err(source));
                }
                let conn = Connection::open_with_flags(
                    immutable_uri(path),
                    flags | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(open_err)?;
                let version = check_is_keyaki(&conn, path)?;
                (conn, version)
            }
            Err(e) => return Err(e),
        };
        if version == 0 {
            // An empty database: a reader neither makes it a store nor reads it as one.
            return Err(StoreError::Empty {
                path: path.to_path_buf(),
            });
        }
        if version < schema::VERSION {
            // An older store is brought up to date once, which writes it.
            drop(conn);
            return Store::open(path).map_err(|e| {
                if is_read_only_store_error(&e) {
                    StoreError::Outdated {
                        path: path.to_path_buf(),
                        found: version,
                        supported: schema::VERSION,
                    }
                } else {
                    e
                }
            });
        }
        conn.query_row(&format!("PRAGMA mmap_size = {MMAP_BYTES}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(open_err)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let from: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        if from > schema::VERSION {
            return Err(StoreError::TooNew {
                path,
                found: from,
                supported: schema::VERSION,
            });
        }
        if from == schema::VERSION {
            return Ok(());
        }
        let mig = |source| StoreError::Migrate {
            path: path.clone(),
            from,
            to: schema::VERSION,
            source,
        };
        for sql in &schema::MIGRATIONS[from.max(0) as usize..] {
            tx.execute_batch(sql).map_err(mig)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(mig)?;
        tx.pragma_update(None, "user_version", schema::VERSION)
            .map_err(mig)?;
        tx.commit().map_err(mig)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sql())
    }

    /// Records one scan in one transaction: the run, every finding it observed with its
    /// lifecycle, the findings it archives, and the history of every change. Either all
    /// of it is written or nothing is. `report`'s findings are then annotated with their
    /// workflow and lifecycle.
    ///
    /// Suppression rules are applied beforehand (see
    /// [`Suppressions::apply`](crate::Suppressions::apply)); their outcome comes in
    /// `info.suppressions`.
    pub fn record_scan(
        &mut self,
        report: &mut ScanReport,
        info: &RunInfo,
        now: DateTime<Utc>,
    ) -> Result<RunSummary, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let at = ts(now);
        let (run_id, warnings) = record::insert_run(&tx, report, info, &at, false).map_err(sql)?;
        let mut summary = RunSummary {
            run_id,
            account: report.account.clone(),
            warnings,
            ..RunSummary::default()
        };
        let mut annotations = Vec::with_capacity(report.findings.len());
        {
            let mut recorder =
                record::Recorder::new(&tx, run_id, at.clone(), now, now, info).map_err(sql)?;
            let mut seen: HashSet<String> = HashSet::with_capacity(report.findings.len());
            for (index, finding) in report.findings.iter().enumerate() {
                let id = finding.id();
                if !seen.insert(id.clone()) {
                    continue;
                }
                let (workflow, lifecycle) = recorder.observe(id, finding, &mut summary)?;
                annotations.push((index, workflow, lifecycle));
            }
            summary.archived = recorder.archive_out_of_scope(report, info)?;
        }
        record::finish_run(&tx, &summary).map_err(sql)?;
        tx.commit().map_err(sql)?;
        for (index, workflow, lifecycle) in annotations {
            if let Some(f) = report.findings.get_mut(index) {
                f.workflow = Some(Box::new(workflow));
                f.lifecycle = Some(Box::new(lifecycle));
            }
        }
        Ok(summary)
    }

    /// Records a partial evaluation (the findings of a few resources re-read) in one
    /// transaction, with the lifecycle of a scan: each finding of `report` is observed as a
    /// scan observes it, unless the store holds it from a state read after
    /// `scope.read_at` (then it is left as it is, and counted in `stale`); the active
    /// findings of the resources `scope.gone` names are archived; nothing is archived
    /// because it is absent from `report`. The run is recorded with `complete` when
    /// everything asked for could be read.
    pub fn record_partial(
        &mut self,
        report: &mut ScanReport,
        scope: &PartialScope,
        now: DateTime<Utc>,
    ) -> Result<RunSummary, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let info = RunInfo {
            inputs: scope.inputs.clone(),
            regions: Vec::new(),
            unreadable: scope.unreadable.clone(),
            complete: scope.unreadable.is_empty(),
            global_incomplete: false,
            incomplete_types: Vec::new(),
            disabled_controls: Vec::new(),
            suppressions: scope.suppressions.clone(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let at = ts(now);
        let (run_id, warnings) = record::insert_run(&tx, report, &info, &at, true).map_err(sql)?;
        let mut summary = RunSummary {
            run_id,
            account: report.account.clone(),
            warnings,
            ..RunSummary::default()
        };
        let mut annotations = Vec::with_capacity(report.findings.len());
        {
            let mut recorder =
                record::Recorder::new(&tx, run_id, at.clone(), now, scope.read_at, &info)
                    .map_err(sql)?;
            let mut seen: HashSet<String> = HashSet::with_capacity(report.findings.len());
            for (index, finding) in report.findings.iter().enumerate() {
                let id = finding.id();
                if !seen.insert(id.clone()) {
                    continue;
                }
                if recorder.read_later(&id)? {
                    summary.stale += 1;
                    continue;
                }
                let (workflow, lifecycle) = recorder.observe(id, finding, &mut summary)?;
                annotations.push((index, workflow, lifecycle));
            }
            summary.archived = recorder.archive_gone(&report.account, &scope.gone)?;
        }
        record::finish_run(&tx, &summary).map_err(sql)?;
        tx.commit().map_err(sql)?;
        for (index, workflow, lifecycle) in annotations {
            if let Some(f) = report.findings.get_mut(index) {
                f.workflow = Some(Box::new(workflow));
                f.lifecycle = Some(Box::new(lifecycle));
            }
        }
        Ok(summary)
    }

    fn where_clause(filter: &Filter) -> (String, Vec<String>) {
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        push_in(&mut clauses, &mut args, "id", &filter.ids, |c| c.clone());
        push_in(&mut clauses, &mut args, "control", &filter.controls, |c| {
            c.clone()
        });
        push_in(&mut clauses, &mut args, "status", &filter.statuses, |s| {
            s.as_str().to_string()
        });
        push_in(
            &mut clauses,
            &mut args,
            "workflow",
            &filter.workflows,
            |w| w.as_str().to_string(),
        );
        push_in(
            &mut clauses,
            &mut args,
            "severity",
            &filter.severities,
            |s| s.as_str().to_string(),
        );
        push_in(
            &mut clauses,
            &mut args,
            "record_state",
            &filter.record_states,
            |r| r.as_str().to_string(),
        );
        if let Some(account) = &filter.account {
            clauses.push("account = ?".to_string());
            args.push(account.clone());
        }
        if let Some(since) = &filter.since {
            clauses.push("updated_at >= ?".to_string());
            args.push(since.clone());
        }
        if filter.hide_not_applicable {
            clauses
                .push("NOT (status = 'NOT_AVAILABLE' AND reason_code = 'NOT_APPLICABLE')".into());
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        (sql, args)
    }

    /// The stored findings `filter` selects (without their evidence), ordered by control,
    /// account and resource.
    pub fn findings(&self, filter: &Filter) -> Result<Vec<StoredFinding>, StoreError> {
        let mut out = Vec::new();
        self.stored_rows(filter, |f| {
            out.push(f);
            Ok::<_, StoreError>(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// The stored findings `filter` selects, in full (evidence, remediation), with their
    /// workflow and lifecycle set.
    pub fn load_findings(&self, filter: &Filter) -> Result<Vec<Finding>, StoreError> {
        let mut out = Vec::new();
        self.full_rows(filter, |f| {
            out.push(f);
            Ok::<_, StoreError>(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// Calls `each` with every stored finding `filter` selects (without its evidence), in
    /// the order of [`Store::findings`], one at a time as the rows are read: memory stays
    /// flat however many findings the store holds. `each` may stop the reading early
    /// ([`ControlFlow::Break`]); its error stops it and is returned.
    pub fn each_stored_finding<E: From<StoreError>>(
        &self,
        filter: &Filter,
        each: impl FnMut(StoredFinding) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        self.with_stream_mapping(|| self.stored_rows(filter, each))
    }

    /// Calls `each` with every finding `filter` selects, in full, as [`Store::load_findings`]
    /// gives them and in the same order, one at a time as the rows are read: memory stays
    /// flat however many findings the store holds. `each` may stop the reading early
    /// ([`ControlFlow::Break`]); its error stops it and is returned.
    pub fn each_finding<E: From<StoreError>>(
        &self,
        filter: &Filter,
        each: impl FnMut(Finding) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        self.with_stream_mapping(|| self.full_rows(filter, each))
    }

    /// Runs `read` in one read transaction: every query in it sees the store as it was when
    /// the first one began, whatever scans are recorded meanwhile (a listing read in two
    /// passes, for example). Inside another transaction, `read` just runs.
    pub fn read_snapshot<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.conn.is_autocommit() {
            return read(self);
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        let out = read(self)?;
        tx.commit().map_err(self.sql())?;
        Ok(out)
    }

    /// The distinct controls of the stored findings, in order: one index seek per control,
    /// however many findings the store holds.
    pub fn controls(&self) -> Result<Vec<String>, StoreError> {
        let mut next = self
            .conn
            .prepare("SELECT min(control) FROM findings WHERE control > ?1")
            .map_err(self.sql())?;
        let mut out: Vec<String> = Vec::new();
        loop {
            let after = out.last().map_or("", String::as_str);
            let control: Option<String> =
                next.query_row([after], |r| r.get(0)).map_err(self.sql())?;
            match control {
                Some(c) => out.push(c),
                None => return Ok(out),
            }
        }
    }

    fn stored_rows<E: From<StoreError>>(
        &self,
        filter: &Filter,
        mut each: impl FnMut(StoredFinding) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        self.select(filter, |row| each(stored_finding(row).map_err(self.sql())?))
    }

    fn full_rows<E: From<StoreError>>(
        &self,
        filter: &Filter,
        mut each: impl FnMut(Finding) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        // The body is read by id after the list's own sort: read within the listing query,
        // SQLite would sort every body along with its row.
        let mut body = self
            .conn
            .prepare("SELECT body FROM finding_bodies WHERE id = ?1")
            .map_err(self.sql())?;
        self.select(filter, |row| {
            let s = stored_finding(row).map_err(self.sql())?;
            let text: Option<String> = body
                .query_row([&s.id], |r| r.get(0))
                .optional()
                .map_err(self.sql())?;
            each(self.full_finding(s, text.as_deref().unwrap_or_default())?)
        })
    }

    /// A stored finding with its JSON body: the finding, with workflow and lifecycle set.
    fn full_finding(&self, s: StoredFinding, body: &str) -> Result<Finding, StoreError> {
        let mut f: Finding = serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
            path: self.path.clone(),
            id: s.id.clone(),
            source,
        })?;
        f.workflow = Some(Box::new(Workflow {
            status: s.workflow,
            suppression: s.suppression,
            note: s.note,
        }));
        f.lifecycle = Some(Box::new(Lifecycle {
            record_state: s.record_state,
            first_observed_at: s.first_observed_at,
            last_observed_at: s.last_observed_at,
            updated_at: s.updated_at,
        }));
        Ok(f)
    }

    /// Runs `read` with SQLite's memory map of the file cut to [`STREAM_MMAP_BYTES`]: a
    /// mapped page read counts in the process's resident memory, so a listing of the whole
    /// store through the full map would hold up to [`MMAP_BYTES`]. Restored afterwards.
    fn with_stream_mapping<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let set = |bytes: i64| {
            self.conn
                .query_row(&format!("PRAGMA mmap_size = {bytes}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()
                .map_err(self.sql())
        };
        set(STREAM_MMAP_BYTES)?;
        let out = read();
        set(MMAP_BYTES)?;
        out
    }

    /// Calls `each` on the rows `filter` selects, in list order (the columns of
    /// [`FINDING_COLUMNS`]), until it breaks or fails.
    fn select<E: From<StoreError>>(
        &self,
        filter: &Filter,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        let (clause, args) = Store::where_clause(filter);
        let query = format!(
            "SELECT {FINDING_COLUMNS} FROM findings{clause} \
             ORDER BY control, account, resource_arn"
        );
        let mut stmt = self.conn.prepare(&query).map_err(self.sql())?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            if let Some(glob) = &filter.resource {
                let arn = row.get_ref(7).map_err(self.sql())?;
                if !glob.is_match(arn.as_str().map_err(|e| self.sql()(e.into()))?) {
                    continue;
                }
            }
            if each(row)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The full id of the finding whose id is `id` or starts with `id`.
    pub fn resolve_id(&self, id: &str) -> Result<String, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        let exact: Option<String> = self
            .conn
            .query_row("SELECT id FROM findings WHERE id = ?1", [&id], |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
        if let Some(found) = exact {
            return Ok(found);
        }
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(StoreError::NoSuchFinding(id));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM findings WHERE id >= ?1 AND id < ?2 LIMIT 2")
            .map_err(self.sql())?;
        let upper = format!("{id}\u{10FFFF}");
        let found: Vec<String> = stmt
            .query_map(params![id, upper], |r| r.get(0))
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        match found.len() {
            0 => Err(StoreError::NoSuchFinding(id)),
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            n => Err(StoreError::AmbiguousFinding {
                prefix: id,
                count: n,
            }),
        }
    }

    /// Sets the workflow status of the findings `ids` (full ids or unique prefixes), with
    /// `note`, in one transaction (an unknown id changes nothing). A person's change
    /// replaces a rule suppression. Returns what changed.
    pub fn update_workflow(
        &mut self,
        ids: &[String],
        workflow: WorkflowStatus,
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkflowUpdate>, StoreError> {
        let resolved: Vec<String> = ids
            .iter()
            .map(|id| self.resolve_id(id))
            .collect::<Result<_, _>>()?;
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let at = ts(now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut out = Vec::new();
        for id in resolved {
            let from: String = tx
                .query_row("SELECT workflow FROM findings WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .map_err(sql)?;
            let from = workflow_of(&from);
            tx.execute(
                "UPDATE findings SET workflow = ?2, suppression = NULL, note = ?3, updated_at = ?4 \
                 WHERE id = ?1",
                params![id, workflow.as_str(), note, at],
            )
            .map_err(sql)?;
            tx.execute(
                "INSERT INTO history (finding_id, run_id, at, actor, workflow_from, workflow_to, note) \
                 VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6)",
                params![id, at, actor, from.as_str(), workflow.as_str(), note],
            )
            .map_err(sql)?;
            out.push(WorkflowUpdate {
                id,
                from,
                to: workflow,
            });
        }
        tx.commit().map_err(sql)?;
        Ok(out)
    }

    /// The history of finding `id` (a full id), oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at, run_id, actor, status_from, status_to, workflow_from, workflow_to, \
                 record_from, record_to, note FROM history WHERE finding_id = ?1 ORDER BY id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(HistoryEntry {
                    at: r.get(0)?,
                    run_id: r.get(1)?,
                    actor: r.get(2)?,
                    status_from: r.get(3)?,
                    status_to: r.get(4)?,
                    workflow_from: r.get(5)?,
                    workflow_to: r.get(6)?,
                    record_from: r.get(7)?,
                    record_to: r.get(8)?,
                    note: r.get(9)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    fn run_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
        Ok(RunRecord {
            id: row.get(0)?,
            recorded_at: row.get(1)?,
            account: row.get(2)?,
            partition: row.get(3)?,
            generated_at: row.get(4)?,
            collected_at: row.get(5)?,
            controls: from_json(row.get(6)?),
            not_evaluated: from_json(row.get(7)?),
            regions: from_json(row.get(8)?),
            inputs: from_json(row.get(9)?),
            unreadable: from_json(row.get(10)?),
            complete: row.get(11)?,
            total: row.get(12)?,
            passed: row.get(13)?,
            failed: row.get(14)?,
            warning: row.get(15)?,
            not_available: row.get(16)?,
            created: row.get(17)?,
            reopened: row.get(18)?,
            resolved: row.get(19)?,
            archived: row.get(20)?,
            suppressed: row.get(21)?,
            suppressions: row
                .get::<_, Option<String>>(22)?
                .and_then(|s| serde_json::from_str(&s).ok()),
            warnings: from_json(row.get(23)?),
            targeted: row.get(24)?,
        })
    }

    const RUN_COLUMNS: &'static str = "id, recorded_at, account, partition, generated_at, \
         collected_at, controls, not_evaluated, regions, inputs, unreadable, complete, total, \
         passed, failed, warning, not_available, created, reopened, resolved, archived, \
         suppressed, suppressions, warnings, targeted";

    /// The recorded runs, newest first, optionally of one account, at most `limit`.
    pub fn runs(
        &self,
        account: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let limit = limit.map_or(-1, |l| l as i64);
        let cols = Store::RUN_COLUMNS;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {cols} FROM runs WHERE (?1 IS NULL OR account = ?1) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![account, limit], Store::run_from_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// FAILED findings per control in each of the last `limit` runs of `account`, oldest
    /// first (for the chart of the HTML report); partial evaluations (`RunRecord::targeted`)
    /// are left out, as they observe only the resources they re-read. Suppressed findings count: they are still
    /// failing.
    pub fn failed_by_run(
        &self,
        account: &str,
        limit: usize,
    ) -> Result<Vec<RunFailures>, StoreError> {
        let mut runs: Vec<RunFailures> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT id, recorded_at FROM runs WHERE account = ?1 AND targeted = 0 \
                     ORDER BY id DESC LIMIT ?2",
                )
                .map_err(self.sql())?;
            let rows = stmt
                .query_map(params![account, limit as i64], |r| {
                    Ok(RunFailures {
                        run_id: r.get(0)?,
                        recorded_at: r.get(1)?,
                        failed_by_control: BTreeMap::new(),
                    })
                })
                .map_err(self.sql())?;
            rows.collect::<Result<_, _>>().map_err(self.sql())?
        };
        runs.reverse();
        let Some(first) = runs.first().map(|r| r.run_id) else {
            return Ok(runs);
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT o.run_id, f.control, count(*) FROM observations o \
                 JOIN findings f ON f.id = o.finding_id \
                 JOIN runs r ON r.id = o.run_id \
                 WHERE r.account = ?1 AND o.run_id >= ?2 AND o.status = 'FAILED' \
                 AND r.targeted = 0 \
                 GROUP BY o.run_id, f.control",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![account, first], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(self.sql())?;
        for row in rows {
            let (run, control, n) = row.map_err(self.sql())?;
            if let Some(r) = runs.iter_mut().find(|r| r.run_id == run) {
                r.failed_by_control.insert(control, n as usize);
            }
        }
        Ok(runs)
    }

    /// One recorded run.
    pub fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        let cols = Store::RUN_COLUMNS;
        self.conn
            .query_row(
                &format!("SELECT {cols} FROM runs WHERE id = ?1"),
                [id],
                Store::run_from_row,
            )
            .optional()
            .map_err(self.sql())?
            .ok_or(StoreError::NoSuchRun(id))
    }

    fn latest_run(
        &self,
        account: Option<&str>,
        before: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT max(id) FROM runs WHERE (?1 IS NULL OR account = ?1) \
                 AND (?2 IS NULL OR id < ?2) AND targeted = 0",
                params![account, before],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// The two runs a diff compares: both given; or A given and B the latest run of A's
    /// account; or, with neither, the latest run and the run before it of the same account.
    /// A run not named is never a partial evaluation (`RunRecord::targeted`): it observed
    /// only the resources it re-read, so everything else would look gone.
    pub fn diff_runs(&self, a: Option<i64>, b: Option<i64>) -> Result<(i64, i64), StoreError> {
        match (a, b) {
            (Some(a), Some(b)) => {
                self.run(a)?;
                self.run(b)?;
                Ok((a, b))
            }
            (Some(a), None) => {
                let run_a = self.run(a)?;
                let b = self.latest_run(Some(&run_a.account), None)?.unwrap_or(a);
                if b == a {
                    return Err(StoreError::NotEnoughRuns(format!(
                        "run {a} is the latest run of account `{}`: name a second run to compare it with",
                        run_a.account
                    )));
                }
                Ok((a, b))
            }
            (None, Some(b)) => {
                let run_b = self.run(b)?;
                let a = self
                    .latest_run(Some(&run_b.account), Some(b))?
                    .ok_or_else(|| {
                        StoreError::NotEnoughRuns(format!(
                            "run {b} is the first run of account `{}`: nothing to compare it with",
                            run_b.account
                        ))
                    })?;
                Ok((a, b))
            }
            (None, None) => {
                let b = self.latest_run(None, None)?.ok_or_else(|| {
                    StoreError::NotEnoughRuns(format!(
                        "the findings store `{}` holds no run yet: record scans with `keyaki scan --db`",
                        self.path.display()
                    ))
                })?;
                self.diff_runs(None, Some(b))
            }
        }
    }

    fn observations(&self, run: i64) -> Result<HashMap<String, (Status, DiffEntry)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT o.finding_id, o.status, f.control, f.resource_arn, f.region \
                 FROM observations o JOIN findings f ON f.id = o.finding_id WHERE o.run_id = ?1",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([run], |r| {
                let id: String = r.get(0)?;
                let status = status_of(&r.get::<_, String>(1)?);
                Ok((
                    id.clone(),
                    (
                        status,
                        DiffEntry {
                            id,
                            control: r.get(2)?,
                            resource_arn: r.get(3)?,
                            region: r.get(4)?,
                            from: None,
                            to: None,
                        },
                    ),
                ))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// What changed from run `a` to run `b`.
    pub fn diff(&self, a: i64, b: i64) -> Result<Diff, StoreError> {
        let before = self.observations(a)?;
        let after = self.observations(b)?;
        Ok(diff_observations(a, b, &before, &after))
    }
}

fn diff_observations(
    a: i64,
    b: i64,
    before: &HashMap<String, (Status, DiffEntry)>,
    after: &HashMap<String, (Status, DiffEntry)>,
) -> Diff {
    let mut d = Diff {
        run_a: a,
        run_b: b,
        new: Vec::new(),
        fixed: Vec::new(),
        reopened: Vec::new(),
        gone: Vec::new(),
        changed: Vec::new(),
        still_failing: 0,
    };
    for (id, (to, entry)) in after {
        let mut e = entry.clone();
        e.to = Some(*to);
        match before.get(id) {
            None if *to != Status::Passed => d.new.push(e),
            None => {}
            Some((from, _)) => {
                e.from = Some(*from);
                match (*from == Status::Passed, *to == Status::Passed) {
                    (false, true) => d.fixed.push(e),
                    (true, false) => d.reopened.push(e),
                    (false, false) if from != to => d.changed.push(e),
                    (false, false) => d.still_failing += 1,
                    (true, true) => {}
                }
            }
        }
    }
    for (id, (from, entry)) in before {
        if !after.contains_key(id) {
            let mut e = entry.clone();
            e.from = Some(*from);
            d.gone.push(e);
        }
    }
    for list in [
        &mut d.new,
        &mut d.fixed,
        &mut d.reopened,
        &mut d.gone,
        &mut d.changed,
    ] {
        list.sort_by(|x, y| (&x.control, &x.resource_arn).cmp(&(&y.control, &y.resource_arn)));
    }
    d
}
