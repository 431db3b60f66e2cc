//! Errors of the findings store and of suppression files.

use std::path::PathBuf;

/// An error opening, migrating, reading or writing the findings store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory of the findings store `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the findings store `{path}`: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the findings store `{path}` has schema version {found}, newer than this keyaki \
         supports ({supported}): upgrade keyaki, or choose another store with `--db`"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "cannot migrate the findings store `{path}` from schema version {from} to {to}: {source}"
    )]
    Migrate {
        path: PathBuf,
        from: i64,
        to: i64,
        source: rusqlite::Error,
    },
    #[error(
        "`{path}` is an SQLite database of another program (it is not empty and holds no \
         keyaki schema): keyaki does not add its tables to it; choose another store with `--db`"
    )]
    Foreign { path: PathBuf },
    #[error(
        "cannot open the findings store `{path}`: the file is not a database (not SQLite): \
         choose another store with `--db`"
    )]
    NotADatabase { path: PathBuf },
    #[error("no findings store at `{path}`")]
    Missing { path: PathBuf },
    #[error(
        "`{path}` is an empty database, not yet a findings store: record a scan in it first \
         (`keyaki scan --db`)"
    )]
    Empty { path: PathBuf },
    #[error(
        "the findings store `{path}` has schema version {found}, older than this keyaki's \
         ({supported}), and cannot be updated where it is (it is read-only there): update it \
         once with write access, e.g. by recording a scan in it"
    )]
    Outdated {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("findings store `{path}`: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("findings store `{path}`: stored finding `{id}` is not valid JSON: {source}")]
    Corrupt {
        path: PathBuf,
        id: String,
        source: serde_json::Error,
    },
    #[error("no finding with id `{0}`")]
    NoSuchFinding(String),
    #[error("finding id `{prefix}` is ambiguous: it starts {count} findings")]
    AmbiguousFinding { prefix: String, count: usize },
    #[error("no run `{0}` in the findings store")]
    NoSuchRun(i64),
    #[error("{0}")]
    NotEnoughRuns(String),
    #[error("cannot serialize finding `{id}`: {source}")]
    Serialize {
        id: String,
        source: serde_json::Error,
    },
}

/// An error reading a suppressions file.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("cannot read suppressions file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A syntax or content error, with the 1-based line and column where it is.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}
