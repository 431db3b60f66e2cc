//! Reading policy documents from the paths given on the command line.
//!
//! A path is a file, `-` (stdin), a directory (every `*.json` below it, sorted), or a
//! JSON Lines file (`*.jsonl`: one document a line, or objects with a `document` field and an
//! optional `name` field). Every document found becomes one [`Document`], handed to the caller as
//! soon as it is read, so that a large JSON Lines file is never held in memory at once. A path
//! or a line that cannot be read becomes a [`Document`] whose `text` is an [`InputError`]; the
//! other documents are still read.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The largest text read from one file or one JSON Lines line: the reasoning core refuses
/// documents over 1 MiB (IAM's own limits are far lower), and a JSON Lines record may wrap its
/// document with a little more (`name`, `version_id`, ...).
pub const MAX_DOCUMENT_BYTES: u64 = keyaki_policy::MAX_DOCUMENT_BYTES as u64 + 64 * 1024;

/// Where a document's text starts in its file (1-based), when the text is a verbatim slice of
/// the file (not the decoded value of a JSON string), so that positions reported inside the
/// document can be turned into positions in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub line: usize,
    pub column: usize,
}

/// A document could not be read at all (missing file, bad UTF-8, malformed JSON Lines record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub message: String,
    /// Position in the file, when known (1-based).
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl InputError {
    fn new(message: impl Into<String>) -> InputError {
        InputError {
            message: message.into(),
            line: None,
            column: None,
        }
    }

    fn at(message: impl Into<String>, line: usize, column: Option<usize>) -> InputError {
        InputError {
            message: message.into(),
            line: Some(line),
            column,
        }
    }
}

/// One policy document read from the input.
#[derive(Debug, Clone)]
pub struct Document {
    /// `path` or `path:line` (JSON Lines), as shown to the user.
    pub source: String,
    /// The file the document comes from (`-` for stdin).
    pub file: String,
    /// The record's `name` (JSON Lines wrappers only).
    pub name: Option<String>,
    /// Where the text starts in the file, when it is a verbatim slice of it.
    pub origin: Option<Origin>,
    /// The document text, or why it could not be read.
    pub text: Result<String, InputError>,
}

/// Why a path found in a directory is a symbolic link that leads nowhere readable (`None`
/// for anything else): a link to nothing, or a loop of links.
pub fn broken_link(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let err = fs::metadata(path).err()?;
    let why = match err.kind() {
        io::ErrorKind::NotFound => "a symbolic link to nothing".to_owned(),
        _ if err.raw_os_error() == Some(40) => "a loop of symbolic links".to_owned(),
        _ => format!(
            "a symbolic link that cannot be followed ({})",
            io_reason(&err)
        ),
    };
    Some(format!(
        "`{}` is {why} (pass --ignore-broken-links to skip such links)",
        path.display()
    ))
}

/// Reads every document under `paths`, in order, calling `each` for each one. A broken
/// symbolic link met in a directory is a document that could not be read, unless
/// `ignore_broken_links`, when it is only a warning on standard error.
pub fn read_paths(paths: &[String], ignore_broken_links: bool, each: &mut dyn FnMut(Document)) {
    for path in paths {
        if path == "-" {
            let text = read_limited(io::stdin().lock(), "-");
            each(whole_file("-", text));
            continue;
        }
        let p = Path::new(path);
        match fs::metadata(p) {
            Err(err) => each(failed(
                path,
                format!("cannot read `{path}`: {}", io_reason(&err)),
            )),
            Ok(meta) if meta.is_dir() => read_dir(p, ignore_broken_links, each),
            Ok(_) => read_file(p, each),
        }
    }
}

fn read_dir(dir: &Path, ignore_broken_links: bool, each: &mut dyn FnMut(Document)) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut broken = Vec::new();
    collect_json_files(dir, &mut files, &mut errors, &mut broken);
    for (path, message) in errors {
        each(failed(&path.display().to_string(), message));
    }
    for (path, message) in broken {
        if ignore_broken_links {
            eprintln!(
                "keyaki: warning: skipped {}",
                keyaki_report::text::printable(&message)
            );
        } else {
            each(failed(&path.display().to_string(), message));
        }
    }
    if files.is_empty() {
        let shown = dir.display().to_string();
        each(failed(
            &shown,
            format!("no `*.json` file under directory `{shown}`"),
        ));
        return;
    }
    files.sort();
    for file in files {
        read_file(&file, each);
    }
}

/// Every `*.json` file below `dir`. Symbolic links to files are followed; links to directories
/// are not (no cycles); `*.json` links that lead nowhere (to nothing, or round in a loop) go
/// to `broken`.
fn collect_json_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, String)>,
    broken: &mut Vec<(PathBuf, String)>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            let shown = dir.display();
            errors.push((
                dir.to_path_buf(),
                format!("cannot read directory `{shown}`: {}", io_reason(&err)),
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let shown = dir.display();
                errors.push((
                    dir.to_path_buf(),
                    format!("cannot read directory `{shown}`: {}", io_reason(&err)),
                ));
                continue;
            }
        };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_json_files(&path, files, errors, broken);
        } else if path.extension().is_some_and(|e| e == "json") {
            if kind.is_file() || fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                files.push(path);
            } else if let Some(why) = broken_link(&path) {
                broken.push((path, why));
            }
        }
    }
}

fn read_file(path: &Path, each: &mut dyn FnMut(Document)) {
    let shown = path.display().to_string();
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(err) => {
            each(failed(
                &shown,
                format!("cannot read `{shown}`: {}", io_reason(&err)),
            ));
            return;
        }
    };
    if path.extension().is_some_and(|e| e == "jsonl") {
        read_jsonl(&shown, BufReader::new(file), each);
    } else {
        let text = read_limited(file, &shown);
        each(whole_file(&shown, text));
    }
}

fn whole_file(file: &str, text: Result<String, InputError>) -> Document {
    Document {
        source: file.to_string(),
        file: file.to_string(),
        name: None,
        origin: Some(Origin { line: 1, column: 1 }),
        text,
    }
}

fn failed(file: &str, message: String) -> Document {
    Document {
        source: file.to_string(),
        file: file.to_string(),
        name: None,
        origin: None,
        text: Err(InputError::new(message)),
    }
}

fn read_limited(reader: impl Read, shown: &str) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| InputError::new(format!("cannot read `{shown}`: {}", io_reason(&err))))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(InputError::new(format!(
            "`{shown}` is larger than 1 MiB: not a policy document"
        )));
    }
    decode_utf8(bytes, 1)
}

fn decode_utf8(bytes: Vec<u8>, line: usize) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let bytes = err.as_bytes();
        let line_start = bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let extra_lines = bytes[..at].iter().filter(|b| **b == b'\n').count();
        InputError::at(
            "invalid UTF-8",
            line + extra_lines,
            Some(at - line_start + 1),
        )
    })
}

fn read_jsonl(file: &str, mut reader: impl BufRead, each: &mut dyn FnMut(Document)) {
    let mut line_no = 0;
    let mut buf = Vec::new();
    loop {
        line_no += 1;
        buf.clear();
        let read = (&mut reader)
            .take(MAX_DOCUMENT_BYTES + 1)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) => {
                let mut doc = failed(file, format!("cannot read `{file}`: {}", io_reason(&err)));
                doc.source = format!("{file}:{line_no}");
                each(doc);
                return;
            }
        }
        let source = format!("{file}:{line_no}");
        if buf.len() as u64 > MAX_DOCUMENT_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            if reader.read_until(b'\n', &mut rest).is_err() {
                return;
            }
            each(Document {
                source,
                file: file.to_string(),
                name: None,
                origin: None,
                text: Err(InputError::at(
                    "line is longer than 1 MiB: not a policy document",
                    line_no,
                    None,
                )),
            });
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = match decode_utf8(std::mem::take(&mut buf), line_no) {
            Ok(line) => line,
            Err(err) => {
                each(Document {
                    source,
                    file: file.to_string(),
                    name: None,
                    origin: None,
                    text: Err(err),
                });
                continue;
            }
        };
        each(jsonl_record(file, source, line_no, line));
    }
}

/// One JSON Lines record: either a document, or `{"document": ..., "name": ...}`.
fn jsonl_record(file: &str, source: String, line_no: usize, line: String) -> Document {
    let mut doc = Document {
        source,
        file: file.to_string(),
        name: None,
        origin: Some(Origin {
            line: line_no,
            column: 1,
        }),
        text: Ok(String::new()),
    };
    let members = match top_level_members(&line) {
        // Not an object we can split: hand the line to the parser, which reports the place.
        None => {
            doc.text = Ok(line);
            return doc;
        }
        Some(members) => members,
    };
    let documents: Vec<_> = members.iter().filter(|m| m.key == "document").collect();
    if documents.is_empty() {
        doc.text = Ok(line);
        return doc;
    }
    if documents.len() > 1 {
        doc.origin = None;
        doc.text = Err(InputError::at(
            "duplicate key `document`",
            line_no,
            Some(documents[1].key_start + 1),
        ));
        return doc;
    }
    for member in members.iter().filter(|m| m.key == "name") {
        match serde_json::from_str::<Option<String>>(&line[member.value.clone()]) {
            Ok(name) => doc.name = name,
            Err(_) => {
                doc.origin = None;
                doc.text = Err(InputError::at(
                    "`name` must be a string",
                    line_no,
                    Some(member.value.start + 1),
                ));
                return doc;
            }
        }
    }
    let value = documents[0].value.clone();
    let raw = &line[value.clone()];
    if raw.starts_with('"') {
        // A document given as a string (e.g. percent-encoded, as the IAM API returns it).
        doc.origin = None;
        doc.text = serde_json::from_str::<String>(raw).map_err(|err| {
            InputError::at(
                format!("`document` is not a valid JSON string: {err}"),
                line_no,
                Some(value.start + 1),
            )
        });
    } else {
        // Columns count characters, as the parser's do.
        doc.origin = Some(Origin {
            line: line_no,
            column: line[..value.start].chars().count() + 1,
        });
        doc.text = Ok(raw.to_string());
    }
    doc
}

struct Member {
    key: String,
    key_start: usize,
    value: std::ops::Range<usize>,
}

/// Splits a one-line JSON object into its members (byte ranges of the values), without
/// building the values. `None` when the text is not a well-formed object at this level (the
/// parser then reports exactly what is wrong).
fn top_level_members(text: &str) -> Option<Vec<Member>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(members);
    }
    loop {
        let key_start = i;
        let key_end = skip_string(b, i)?;
        let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(b, i + 1);
        let value_end = skip_value(b, value_start)?;
        members.push(Member {
            key,
            key_start,
            value: value_start..value_end,
        });
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return (skip_ws(b, i + 1) == b.len()).then_some(members),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the JSON string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// The end (exclusive) of the JSON value starting at `i` (brackets balanced, strings skipped;
/// scalars run to the next delimiter).
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

fn io_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = err.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: &str) -> Document {
        jsonl_record("c.jsonl", "c.jsonl:7".into(), 7, line.into())
    }

    #[test]
    fn a_bare_document_line_is_the_document() {
        let line = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let doc = record(line);
        assert_eq!(doc.text.unwrap(), line);
        assert_eq!(doc.origin, Some(Origin { line: 7, column: 1 }));
        assert_eq!(doc.name, None);
    }

    #[test]
    fn a_wrapper_line_gives_the_document_slice_and_name() {
        let line =
            r#"{"name": "P1", "version_id":"v1", "document": {"Statement": [ {"a": "}"} ]}}"#;
        let doc = record(line);
        assert_eq!(doc.name.as_deref(), Some("P1"));
        assert_eq!(doc.text.unwrap(), r#"{"Statement": [ {"a": "}"} ]}"#);
        let start = line.find(r#"{"Statement"#).unwrap();
        assert_eq!(
            doc.origin,
            Some(Origin {
                line: 7,
                column: start + 1
            })
        );
    }

    #[test]
    fn a_string_document_is_decoded_and_has_no_origin() {
        let doc =
            record(r#"{"document": "%7B%22Version%22%3A%222012-10-17%22%7D", "name": "enc"}"#);
        assert_eq!(doc.text.unwrap(), "%7B%22Version%22%3A%222012-10-17%22%7D");
        assert_eq!(doc.origin, None);
    }

    #[test]
    fn malformed_records_are_errors_or_left_to_the_parser() {
        let dup = record(r#"{"document": {}, "document": {}}"#);
        let err = dup.text.unwrap_err();
        assert_eq!(err.message, "duplicate key `document`");
        assert_eq!((err.line, err.column), (Some(7), Some(18)));

        let bad_name = record(r#"{"document": {}, "name": 3}"#);
        assert_eq!(
            bad_name.text.unwrap_err().message,
            "`name` must be a string"
        );

        // Truncated: the whole line goes to the parser, which names the place.
        let truncated = record(r#"{"document": {"Statement": ["#);
        assert_eq!(truncated.text.unwrap(), r#"{"document": {"Statement": ["#);
    }

    #[test]
    fn member_splitting_handles_escapes_and_scalars() {
        let text = r#" { "k\"ey" : "v\\" , "n" : -1.5e3, "t": true, "o": {"x": [1, "]"]} } "#;
        let members = top_level_members(text).unwrap();
        let got: Vec<(&str, &str)> = members
            .iter()
            .map(|m| (m.key.as_str(), &text[m.value.clone()]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("k\"ey", r#""v\\""#),
                ("n", "-1.5e3"),
                ("t", "true"),
                ("o", r#"{"x": [1, "]"]}"#)
            ]
        );
        assert!(top_level_members("[1]").is_none());
        assert!(top_level_members(r#"{"a": 1} x"#).is_none());
        assert!(top_level_members(r#"{"a" 1}"#).is_none());
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let err = decode_utf8(b"{\n  \"a\": \xff}".to_vec(), 3).unwrap_err();
        assert_eq!((err.line, err.column), (Some(4), Some(8)));
    }

    #[test]
    fn jsonl_lines_are_numbered_and_blank_lines_skipped() {
        let input = "{\"document\": {}, \"name\": \"a\"}\n\n  \n{\"Statement\": []}\r\n";
        let mut docs = Vec::new();
        read_jsonl("f.jsonl", input.as_bytes(), &mut |d| docs.push(d));
        let sources: Vec<_> = docs.iter().map(|d| d.source.as_str()).collect();
        assert_eq!(sources, vec!["f.jsonl:1", "f.jsonl:4"]);
        assert_eq!(docs[1].text.as_deref().unwrap(), "{\"Statement\": []}");
    }
}
