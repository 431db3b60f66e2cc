//! Versioned schema migrations (`PRAGMA user_version`).
//!
//! `MIGRATIONS[i]` takes a store from version `i` to `i + 1`; a new store runs them all.
//! A store with a version above [`VERSION`] was written by a newer keyaki and is refused.
//!
//! - v1: runs, findings (one per control and resource, with the lifecycle), history of
//!   every status / workflow / record-state change, per-run observations.
//! - v2: suppressions: the rule that suppressed a finding and the last note on it; the
//!   suppression outcome and warnings of each run; the index that lists findings by
//!   control and status.
//! - v3: the findings' JSON bodies move to their own table, so that the findings table
//!   holds short rows; the listing index orders by account and resource and covers every
//!   listed column, so that a list of one control's findings reads the index alone.
//! - v4: `findings.last_read_at`, when the state a finding was last recorded from was read
//!   (RFC 3339, microseconds): a partial evaluation read before it does not overwrite it;
//!   `runs.targeted`, the runs that are partial evaluations (not chosen by default by
//!   `keyaki diff`).

/// The schema version this keyaki writes.
pub const VERSION: i64 = 4;

/// The schema of version 1, as first released (kept verbatim: migrations build on it).
pub const V1: &str = r#"
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    recorded_at     TEXT NOT NULL,
    account         TEXT NOT NULL,
    partition       TEXT NOT NULL,
    generated_at    TEXT NOT NULL,
    collected_at    TEXT,
    controls        TEXT NOT NULL,
    not_evaluated   TEXT NOT NULL,
    regions         TEXT NOT NULL,
    inputs          TEXT NOT NULL,
    unreadable      TEXT NOT NULL,
    complete        INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    passed          INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    warning         INTEGER NOT NULL,
    not_available   INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    reopened        INTEGER NOT NULL,
    resolved        INTEGER NOT NULL,
    archived        INTEGER NOT NULL
);
CREATE INDEX runs_account ON runs(account, id);

CREATE TABLE findings (
    id                TEXT NOT NULL UNIQUE,
    control           TEXT NOT NULL,
    resource_arn      TEXT NOT NULL,
    resource_type     TEXT NOT NULL,
    account           TEXT NOT NULL,
    region            TEXT NOT NULL,
    status            TEXT NOT NULL,
    severity          TEXT NOT NULL,
    reason_code       TEXT NOT NULL,
    workflow          TEXT NOT NULL,
    record_state      TEXT NOT NULL,
    first_observed_at TEXT NOT NULL,
    last_observed_at  TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    first_run         INTEGER NOT NULL,
    last_run          INTEGER NOT NULL,
    body              TEXT NOT NULL
);
CREATE INDEX findings_scope ON findings(account, control, record_state);

CREATE TABLE history (
    id            INTEGER PRIMARY KEY,
    finding_id    TEXT NOT NULL,
    run_id        INTEGER,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    status_from   TEXT,
    status_to     TEXT,
    workflow_from TEXT,
    workflow_to   TEXT,
    record_from   TEXT,
    record_to     TEXT,
    note          TEXT
);
CREATE INDEX history_finding ON history(finding_id, id);

CREATE TABLE observations (
    run_id     INTEGER NOT NULL,
    finding_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    PRIMARY KEY (run_id, finding_id)
) WITHOUT ROWID;
"#;

/// v1 → v2.
const V2: &str = r#"
ALTER TABLE findings ADD COLUMN suppression TEXT;
ALTER TABLE findings ADD COLUMN note TEXT;
ALTER TABLE runs ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN suppressions TEXT;
ALTER TABLE runs ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
CREATE INDEX findings_list ON findings(control, status, record_state);
"#;

/// v2 → v3.
const V3: &str = r#"
CREATE TABLE finding_bodies (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
INSERT INTO finding_bodies (id, body) SELECT id, body FROM findings;
ALTER TABLE findings DROP COLUMN body;
DROP INDEX findings_list;
CREATE INDEX findings_list ON findings(control, status, record_state, account, resource_arn,
    id, severity, workflow, resource_type, region, reason_code, first_observed_at,
    last_observed_at, updated_at, suppression, note);
"#;

/// v3 → v4.
const V4: &str = r#"
ALTER TABLE findings ADD COLUMN last_read_at TEXT;
ALTER TABLE runs ADD COLUMN targeted INTEGER NOT NULL DEFAULT 0;
"#;

/// The migrations, in order: `MIGRATIONS[i]` goes from version `i` to `i + 1`.
pub const MIGRATIONS: [&str; VERSION as usize] = [V1, V2, V3, V4];
