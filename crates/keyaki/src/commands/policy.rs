//! `keyaki policy`: does an IAM policy document allow a KMS action on all keys?
//!
//! Reads documents ([`crate::input`]), asks the compiled [`Query`] of each one, and writes one
//! [`PolicyResult`] per document as it goes (text or JSON), so that memory stays flat however
//! many documents are read; SARIF, one document, is written at the end. A document that cannot be read or parsed is an `ERROR` result that
//! names the file and the place; the other documents are still analysed.
//!
//! Exit status: 0 all PASSED; 1 some FAILED or UNKNOWN; 2 some ERROR, or a usage error. With
//! `--fail-on-scope`, a FAILED document counts for status 1 only when one of its actions
//! allowed on all keys reaches that scope or wider.

use std::io::{self, BufWriter, Write};
use std::panic::{self, AssertUnwindSafe};

use anyhow::Context;
use keyaki_policy::{
    Analysis, ParseError, Policy, Query, QueryOptions, Scope, StatementRef, Verdict,
};
use keyaki_report::text::printable;
use serde::Serialize;

use super::Global;
use crate::exit::Code;
use crate::input::{self, Document, InputError, Origin};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PolicyArgs {
    /// Custom policy checks (Access Analyzer's, offline); without one, the KMS.1/KMS.2
    /// question of each document.
    #[command(subcommand)]
    pub check: Option<super::policy_check::PolicyCheck>,
    /// Blocked actions: comma-separated, case-insensitive patterns over the KMS actions
    /// (`*` and `?` allowed, e.g. `kms:ReEncrypt*`).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "kms:Decrypt,kms:ReEncryptFrom"
    )]
    pub actions: Vec<String>,
    /// Only the keys of this account (12 digits), in every region.
    #[arg(long, value_name = "ID", value_parser = parse_account)]
    pub account: Option<String>,
    /// Partition of the key ARNs.
    #[arg(long, value_name = "P", default_value = "aws")]
    pub partition: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PolicyFormat::Text)]
    pub format: PolicyFormat,
    /// Policy documents: files, `-` for stdin, directories (every `*.json` below), or JSON Lines
    /// files (`*.jsonl`: one document a line, or `{"document": ..., "name": ...}` records).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
    /// Skip, with a warning, symbolic links in a directory that lead to nothing or round in
    /// a loop (by default each is an error, and the exit status is 2).
    #[arg(long)]
    pub ignore_broken_links: bool,
    /// Exit with status 1 for a FAILED document only when one of its actions allowed on all
    /// keys reaches this scope or wider (comma-separated scope words; the narrowest one given
    /// counts): `unconditional` > `other` > `context` > `caller` > `service`.
    /// `--fail-on-scope unconditional` fails only on grants no condition limits.
    #[arg(long, value_name = "SCOPE", value_delimiter = ',', value_parser = super::parse_scope)]
    pub fail_on_scope: Vec<Scope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    /// One line per policy, evidence under each FAILED one.
    Text,
    /// One JSON object: `{"results": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0 for code scanning: each FAILED policy on the line of its granting
    /// statement (rule KMS.1); documents that do not parse as error notifications.
    Sarif,
}

fn parse_account(value: &str) -> Result<String, String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not a 12-digit AWS account id"))
    }
}

/// The verdict of one document, including `ERROR` for a document that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResultVerdict {
    Passed,
    Failed,
    Unknown,
    Error,
}

impl ResultVerdict {
    pub fn name(self) -> &'static str {
        match self {
            ResultVerdict::Passed => "PASSED",
            ResultVerdict::Failed => "FAILED",
            ResultVerdict::Unknown => "UNKNOWN",
            ResultVerdict::Error => "ERROR",
        }
    }
}

/// A position in the file a document was read from (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePosition {
    pub line: usize,
    pub column: usize,
}

/// Where a statement of an analysed document stands in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLocation {
    pub index: usize,
    pub sid: Option<String>,
    /// `None` when the document was not a verbatim part of the file (e.g. percent-encoded).
    pub position: Option<FilePosition>,
}

/// Why a document could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// What is wrong (lowercase, user input in backticks).
    pub message: String,
    /// The place in the file, when known.
    pub position: Option<FilePosition>,
    /// The place in the decoded document when it has no verbatim place in the file.
    pub decoded_position: Option<FilePosition>,
    /// JSON path of the offending value, when known.
    pub json_path: Option<String>,
}

impl DocumentError {
    /// The message with the place that `position` does not give: the place in the decoded
    /// document and the JSON path. The one way every output describes an unreadable document.
    pub fn describe(&self) -> String {
        let mut text = self.message.clone();
        if let Some(pos) = self.decoded_position {
            text.push_str(&format!(
                " (line {}, column {} of the decoded document)",
                pos.line, pos.column
            ));
        }
        if let Some(path) = &self.json_path {
            text.push_str(&format!(" at `{path}`"));
        }
        text
    }
}

/// What became of one document.
#[derive(Debug, Clone)]
pub enum Outcome {
    Analysed {
        analysis: Analysis,
        statements: Vec<StatementLocation>,
    },
    Error(DocumentError),
}

/// The result for one document: everything a report (text, JSON, SARIF) needs.
#[derive(Debug, Clone)]
pub struct PolicyResult {
    /// `path` or `path:line` (JSON Lines).
    pub source: String,
    /// The file (`-` for stdin).
    pub file: String,
    /// The record's name (JSON Lines).
    pub name: Option<String>,
    /// Where the document starts in the file, when it is a verbatim part of it (for writers
    /// that point at the document as a whole, such as SARIF).
    pub origin: Option<Origin>,
    pub outcome: Outcome,
}

impl PolicyResult {
    pub fn verdict(&self) -> ResultVerdict {
        match &self.outcome {
            Outcome::Error(_) => ResultVerdict::Error,
            Outcome::Analysed { analysis, .. } => match analysis.verdict {
                Verdict::Passed => ResultVerdict::Passed,
                Verdict::Failed => ResultVerdict::Failed,
                Verdict::Unknown => ResultVerdict::Unknown,
            },
        }
    }

    /// The widest scope of the actions the document allows on all keys (`None` when it
    /// allows none).
    pub fn widest_scope(&self) -> Option<Scope> {
        let Outcome::Analysed { analysis, .. } = &self.outcome else {
            return None;
        };
        analysis
            .actions
            .iter()
            .filter(|a| a.allowed_on_all_keys == Some(true))
            .map(|a| a.scope.unwrap_or(Scope::Unconditional))
            .max()
    }

    /// The error message naming the file and the place, for an `ERROR` result.
    pub fn error_message(&self) -> Option<String> {
        let Outcome::Error(err) = &self.outcome else {
            return None;
        };
        // `file:line:column` when the place in the file is known, else the source
        // (`path:line` for a JSON Lines record).
        let mut text = match err.position {
            Some(pos) => format!("{}:{}:{}", self.file, pos.line, pos.column),
            None => self.source.clone(),
        };
        text.push_str(": ");
        text.push_str(&err.describe());
        Some(text)
    }
}

/// Analyses one document read from the input.
pub fn analyse(query: &Query, doc: Document) -> PolicyResult {
    let Document {
        source,
        file,
        name,
        origin,
        text,
    } = doc;
    let outcome = match text {
        Err(err) => Outcome::Error(input_error(err)),
        Ok(text) => analyse_text(query, &text, origin),
    };
    PolicyResult {
        source,
        file,
        name,
        origin,
        outcome,
    }
}

fn analyse_text(query: &Query, text: &str, origin: Option<Origin>) -> Outcome {
    // Positions from the parser refer to the decoded document: they are positions in the file
    // only when the document is plain JSON (not percent-encoded).
    let verbatim = origin.filter(|_| text.trim_start().starts_with('{'));
    // The core promises not to panic; should it, the document is reported, not the run lost.
    let answer = panic::catch_unwind(AssertUnwindSafe(|| {
        Policy::parse(text).map(|policy| {
            let analysis = query.analyze(&policy);
            (policy, analysis)
        })
    }));
    match answer {
        Err(_) => Outcome::Error(DocumentError {
            message: "internal error while analysing this document".into(),
            position: None,
            decoded_position: None,
            json_path: None,
        }),
        Ok(Err(err)) => {
            // In a wrapper whose document is a JSON string, positions refer to that string.
            let inner = err.string_document.is_some();
            Outcome::Error(parse_error(err, verbatim.filter(|_| !inner)))
        }
        Ok(Ok((policy, analysis))) => Outcome::Analysed {
            statements: policy
                .statements
                .iter()
                .map(|s| StatementLocation {
                    index: s.index,
                    sid: s.sid.clone(),
                    position: match (verbatim, s.location) {
                        (Some(origin), Some(loc)) => Some(in_file(origin, loc.line, loc.column)),
                        _ => None,
                    },
                })
                .collect(),
            analysis,
        },
    }
}

fn in_file(origin: Origin, line: usize, column: usize) -> FilePosition {
    if line <= 1 {
        FilePosition {
            line: origin.line,
            column: origin.column + column.saturating_sub(1),
        }
    } else {
        FilePosition {
            line: origin.line + line - 1,
            column,
        }
    }
}

fn parse_error(err: ParseError, verbatim: Option<Origin>) -> DocumentError {
    let place = err.line.map(|line| (line, err.column.unwrap_or(1)));
    let (position, decoded_position) = match (place, verbatim) {
        (Some((line, column)), Some(origin)) => (Some(in_file(origin, line, column)), None),
        (Some((line, column)), None) => (None, Some(FilePosition { line, column })),
        (None, _) => (None, None),
    };
    DocumentError {
        message: err.message,
        position,
        decoded_position,
        json_path: err.path,
    }
}

fn input_error(err: InputError) -> DocumentError {
    DocumentError {
        message: err.message,
        position: err.line.map(|line| FilePosition {
            line,
            column: err.column.unwrap_or(1),
        }),
        decoded_position: None,
        json_path: None,
    }
}

/// Counts per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub unknown: usize,
    pub error: usize,
    pub total: usize,
    /// FAILED documents whose grants all stay below `--fail-on-scope` (they do not make
    /// the exit status 1).
    #[serde(skip)]
    pub failed_below_scope: usize,
}

impl Summary {
    pub fn add(&mut self, verdict: ResultVerdict) {
        match verdict {
            ResultVerdict::Passed => self.passed += 1,
            ResultVerdict::Failed => self.failed += 1,
            ResultVerdict::Unknown => self.unknown += 1,
            ResultVerdict::Error => self.error += 1,
        }
        self.total += 1;
    }

    /// Counts a result, and whether it is FAILED below `fail_on_scope`.
    pub fn add_result(&mut self, result: &PolicyResult, fail_on_scope: Option<Scope>) {
        let verdict = result.verdict();
        self.add(verdict);
        if verdict == ResultVerdict::Failed
            && fail_on_scope.is_some_and(|min| result.widest_scope().is_some_and(|s| s < min))
        {
            self.failed_below_scope += 1;
        }
    }

    pub fn exit_code(&self) -> Code {
        if self.error > 0 {
            Code::Error
        } else if self.failed > self.failed_below_scope || self.unknown > 0 {
            Code::Findings
        } else {
            Code::Clean
        }
    }
}

pub fn run(global: &Global, mut args: PolicyArgs) -> anyhow::Result<Code> {
    if let Some(check) = args.check.take() {
        return super::policy_check::run(global, check);
    }
    let query = build_query(&args)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut writer: Box<dyn ResultWriter> = match args.format {
        PolicyFormat::Text => Box::new(TextWriter),
        PolicyFormat::Json => Box::new(JsonWriter { first: true }),
        PolicyFormat::Sarif => Box::new(SarifWriter {
            results: Vec::new(),
        }),
    };
    let mut summary = Summary::default();
    let fail_on_scope = super::scope_threshold(&args.fail_on_scope);
    let mut failure: Option<io::Error> = None;
    writer.begin(&mut out).context("cannot write the report")?;
    input::read_paths(&args.paths, args.ignore_broken_links, &mut |doc| {
        if failure.is_some() {
            return;
        }
        let result = analyse(&query, doc);
        summary.add_result(&result, fail_on_scope);
        if let Err(err) = writer.result(&mut out, &result) {
            failure = Some(err);
        }
    });
    if let Some(err) = failure {
        return Err(err).context("cannot write the report");
    }
    writer
        .end(&mut out, &summary)
        .and_then(|()| out.flush())
        .context("cannot write the report")?;
    Ok(summary.exit_code())
}

fn build_query(args: &PolicyArgs) -> anyhow::Result<Query> {
    let mut actions = Vec::new();
    for pattern in &args.actions {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            anyhow::bail!("empty action pattern in `--actions`");
        }
        actions.push(pattern.to_string());
    }
    let options = QueryOptions {
        actions,
        account: args.account.clone(),
        partition: args.partition.clone(),
        ..QueryOptions::default()
    };
    Ok(Query::new(options)?)
}

/// Writes results one by one as they come.
trait ResultWriter {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()>;
    fn result(&mut self, out: &mut dyn Write, result: &PolicyResult) -> io::Result<()>;
    fn end(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()>;
}

struct TextWriter;

impl ResultWriter for TextWriter {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn result(&mut self, out: &mut dyn Write, result: &PolicyResult) -> io::Result<()> {
        let verdict = result.verdict();
        match &result.outcome {
            Outcome::Error(_) => {
                let message = result.error_message().unwrap_or_default();
                write!(out, "{:<8}{}", verdict.name(), printable(&message))?;
                if let Some(name) = &result.name {
                    write!(out, " ({})", printable(name))?;
                }
                writeln!(out)
            }
            Outcome::Analysed {
                analysis,
                statements,
            } => {
                write!(out, "{:<8}{}", verdict.name(), printable(&result.source))?;
                if let Some(name) = &result.name {
                    write!(out, " ({})", printable(name))?;
                }
                writeln!(out)?;
                for action in &analysis.actions {
                    match (verdict, action.allowed_on_all_keys) {
                        (ResultVerdict::Failed, Some(true)) => {
                            let granted = describe_statements(&action.statements, statements);
                            writeln!(
                                out,
                                "        {}: allowed on all keys, granted by {}",
                                action.action,
                                printable(&granted)
                            )?;
                            if let Some(witness) = &action.witness {
                                writeln!(out, "          witness key: {}", printable(witness))?;
                            }
                            if let Some(scope) = action.scope {
                                let limit = action
                                    .limit
                                    .as_deref()
                                    .unwrap_or("no condition limits the grant");
                                writeln!(out, "          scope: {scope} — {}", printable(limit))?;
                            }
                        }
                        (_, None) => {
                            let reason = action
                                .unknown_reason
                                .as_deref()
                                .unwrap_or("no reason given");
                            writeln!(
                                out,
                                "        {}: undecided: {}",
                                action.action,
                                printable(reason)
                            )?;
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
        }
    }

    fn end(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        writeln!(
            out,
            "{} {}: {} passed, {} failed, {} unknown, {} error",
            summary.total,
            if summary.total == 1 {
                "policy"
            } else {
                "policies"
            },
            summary.passed,
            summary.failed,
            summary.unknown,
            summary.error
        )
    }
}

/// `statement 0 (Sid `A`, line 3), statement 2` for the granting statements.
fn describe_statements(refs: &[StatementRef], locations: &[StatementLocation]) -> String {
    if refs.is_empty() {
        return "no statement named".into();
    }
    let parts: Vec<String> = refs
        .iter()
        .map(|r| {
            let mut details = Vec::new();
            if let Some(sid) = &r.sid {
                details.push(format!("Sid `{sid}`"));
            }
            let position = locations
                .iter()
                .find(|l| l.index == r.index)
                .and_then(|l| l.position);
            if let Some(pos) = position {
                details.push(format!("line {}", pos.line));
            }
            if details.is_empty() {
                format!("statement {}", r.index)
            } else {
                format!("statement {} ({})", r.index, details.join(", "))
            }
        })
        .collect();
    parts.join(", ")
}

/// `{"results": [...], "summary": {...}}`, one result a line.
struct JsonWriter {
    first: bool,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    verdict: ResultVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    actions: Vec<JsonAction<'a>>,
}

#[derive(Serialize)]
struct JsonAction<'a> {
    action: &'a str,
    /// `null` when undecided.
    allowed_on_all_keys: Option<bool>,
    statements: &'a [StatementRef],
    witness: Option<&'a str>,
    counterexample: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown_reason: Option<&'a str>,
    /// How far the grant reaches when allowed on all keys, else `null`.
    scope: Option<Scope>,
    /// The granting statements' conditions, normalised (empty when unconditional or not
    /// allowed on all keys).
    conditions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
}

impl ResultWriter for JsonWriter {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{{\"results\": [")
    }

    fn result(&mut self, out: &mut dyn Write, result: &PolicyResult) -> io::Result<()> {
        let actions = match &result.outcome {
            Outcome::Error(_) => Vec::new(),
            Outcome::Analysed { analysis, .. } => analysis
                .actions
                .iter()
                .map(|a| JsonAction {
                    action: &a.action,
                    allowed_on_all_keys: a.allowed_on_all_keys,
                    statements: &a.statements,
                    witness: a.witness.as_deref(),
                    counterexample: a.counterexample.as_deref(),
                    unknown_reason: a.unknown_reason.as_deref(),
                    scope: a.scope,
                    conditions: &a.conditions,
                    limit: a.limit.as_deref(),
                })
                .collect(),
        };
        let record = JsonResult {
            source: &result.source,
            name: result.name.as_deref(),
            verdict: result.verdict(),
            error: result.error_message(),
            actions,
        };
        out.write_all(if self.first { b"\n  " } else { b",\n  " })?;
        self.first = false;
        serde_json::to_writer(&mut *out, &record).map_err(io::Error::other)
    }

    fn end(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        write!(out, "\n], \"summary\": ")?;
        serde_json::to_writer(&mut *out, summary).map_err(io::Error::other)?;
        writeln!(out, "}}")
    }
}

/// Collects the results and writes one SARIF 2.1.0 log at the end (SARIF is one document).
struct SarifWriter {
    results: Vec<keyaki_report::sarif::PolicyFileResult>,
}

impl SarifWriter {
    /// The line where a document starts in its file: its verbatim origin, else the line of
    /// a JSON Lines record (`path:line`), else 1.
    fn document_line(result: &PolicyResult) -> usize {
        if let Some(origin) = result.origin {
            return origin.line;
        }
        result
            .source
            .strip_prefix(result.file.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|line| line.parse().ok())
            .unwrap_or(1)
    }
}

impl ResultWriter for SarifWriter {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn result(&mut self, _out: &mut dyn Write, result: &PolicyResult) -> io::Result<()> {
        use keyaki_report::sarif::{PolicyFileResult, PolicyOutcome};
        let line = Self::document_line(result);
        let outcome = match &result.outcome {
            Outcome::Analysed {
                analysis,
                statements,
            } => PolicyOutcome::Analysed {
                analysis: analysis.clone(),
                statement_lines: statements
                    .iter()
                    .filter_map(|s| s.position.map(|p| (s.index, p.line)))
                    .collect(),
            },
            Outcome::Error(err) => PolicyOutcome::Error {
                message: err.describe(),
                line: err.position.map(|p| p.line),
                column: err.position.map(|p| p.column),
            },
        };
        self.results.push(PolicyFileResult {
            path: result.file.clone(),
            name: result.name.clone(),
            line,
            outcome,
        });
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, _summary: &Summary) -> io::Result<()> {
        keyaki_report::sarif::write_policy_results(&self.results, out)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyaki_policy::ParseErrorKind;

    #[test]
    fn positions_inside_a_document_map_to_the_file() {
        let origin = Origin {
            line: 5,
            column: 30,
        };
        assert_eq!(
            in_file(origin, 1, 4),
            FilePosition {
                line: 5,
                column: 33
            }
        );
        assert_eq!(in_file(origin, 3, 4), FilePosition { line: 7, column: 4 });
    }

    #[test]
    fn parse_errors_name_the_file_place_and_path() {
        let err = Policy::parse(
            r#"{"Statement": [
    {"Action": "kms:Decrypt", "Resource": "*"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::Element);
        assert_eq!(err.message, "a statement is missing `Effect`");
        let result = PolicyResult {
            source: "p.json".into(),
            file: "p.json".into(),
            name: None,
            origin: Some(Origin { line: 1, column: 1 }),
            outcome: Outcome::Error(parse_error(
                err.clone(),
                Some(Origin { line: 1, column: 1 }),
            )),
        };
        assert_eq!(
            result.error_message().unwrap(),
            "p.json:2:5: a statement is missing `Effect` at `$.Statement[0]`"
        );
        let encoded = PolicyResult {
            outcome: Outcome::Error(parse_error(err, None)),
            ..result
        };
        assert_eq!(
            encoded.error_message().unwrap(),
            "p.json: a statement is missing `Effect` (line 2, column 5 of the decoded document) at `$.Statement[0]`"
        );
    }

    #[test]
    fn exit_code_follows_the_worst_verdict() {
        let mut summary = Summary::default();
        summary.add(ResultVerdict::Passed);
        assert_eq!(summary.exit_code(), Code::Clean);
        summary.add(ResultVerdict::Unknown);
        assert_eq!(summary.exit_code(), Code::Findings);
        summary.add(ResultVerdict::Failed);
        assert_eq!(summary.exit_code(), Code::Findings);
        summary.add(ResultVerdict::Error);
        assert_eq!(summary.exit_code(), Code::Error);
        assert_eq!(summary.total, 4);
    }

    #[test]
    fn accounts_must_have_twelve_digits() {
        assert!(parse_account("123456789012").is_ok());
        assert!(parse_account("12345678901").is_err());
        assert!(parse_account("12345678901a").is_err());
    }
}
