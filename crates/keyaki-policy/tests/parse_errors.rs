//! Every kind of bad input is rejected with a message, a line/column and a JSON path.

use keyaki_policy::{ParseErrorKind, Policy, MAX_DOCUMENT_BYTES};

/// (message, line, column, path) of the error for `text`.
fn error(text: &str) -> (String, Option<usize>, Option<usize>, Option<String>) {
    let e = Policy::parse(text).expect_err("must be rejected");
    (e.message, e.line, e.column, e.path)
}

fn at(text: &str, message: &str, line: usize, column: usize, path: &str) {
    let (m, l, c, p) = error(text);
    assert_eq!(m, message, "{text}");
    assert_eq!((l, c), (Some(line), Some(column)), "{text}: {m}");
    assert_eq!(p.as_deref(), Some(path), "{text}: {m}");
}

#[test]
fn invalid_json() {
    at(
        "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}",
        "invalid JSON: expected a string key: found `}`",
        3,
        24,
        "$.Statement[0]",
    );
    at("", "invalid JSON: unexpected end of input", 1, 1, "$");
    at(
        "{\"Statement\": [1, 2",
        "invalid JSON: expected `,` or `]`: unexpected end of input",
        1,
        20,
        "$.Statement",
    );
    at(
        "{} x",
        "unexpected text after the JSON document: found `x`",
        1,
        4,
        "$",
    );
    at(
        "{\"a\": \"\\q\"}",
        "invalid JSON: bad escape in a string",
        1,
        8,
        "$.a",
    );
    at(
        "{\"a\": \"\\ud800\"}",
        "invalid JSON: unpaired surrogate in `\\u` escape",
        1,
        8,
        "$.a",
    );
    let deep = "[".repeat(10_000);
    let (m, ..) = error(&deep);
    assert_eq!(m, "invalid JSON: nesting is too deep");
}

#[test]
fn effect_missing_or_unknown() {
    at(
        "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},\n {\"Action\": \"*\", \"Resource\": \"*\"}]}",
        "a statement is missing `Effect`",
        2,
        2,
        "$.Statement[1]",
    );
    at(
        "{\"Statement\": {\"Effect\": \"allow\", \"Action\": \"*\", \"Resource\": \"*\"}}",
        "unknown `Effect` `allow` (expected `Allow` or `Deny`)",
        1,
        26,
        "$.Statement.Effect",
    );
}

#[test]
fn action_and_resource_exactly_one_of_each() {
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"NotAction\": \"s3:*\", \"Resource\": \"*\"}}",
        "a statement has both `Action` and `NotAction`",
        1,
        50,
        "$.Statement.NotAction",
    );
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Resource\": \"*\"}}",
        "a statement needs one of `Action` or `NotAction`",
        1,
        15,
        "$.Statement",
    );
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"NotResource\": \"a\", \"Resource\": \"*\"}}",
        "a statement has both `NotResource` and `Resource`",
        1,
        70,
        "$.Statement.Resource",
    );
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\"}}",
        "a statement needs one of `Resource` or `NotResource`",
        1,
        15,
        "$.Statement",
    );
}

#[test]
fn non_string_values() {
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": [\"kms:*\", 7], \"Resource\": \"*\"}}",
        "`Action` entries must be strings, found a number",
        1,
        55,
        "$.Statement.Action[1]",
    );
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": {\"a\": 1}}}",
        "`Resource` must be a string or an array of strings, found an object",
        1,
        62,
        "$.Statement.Resource",
    );
    at(
        "{\"Statement\": {\"Effect\": true, \"Action\": \"*\", \"Resource\": \"*\"}}",
        "`Effect` must be a string, found a boolean",
        1,
        26,
        "$.Statement.Effect",
    );
    at(
        "{\"Statement\": {\"Sid\": 1, \"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}}",
        "`Sid` must be a string, found a number",
        1,
        23,
        "$.Statement.Sid",
    );
    at(
        "{\"Version\": 2012, \"Statement\": []}",
        "`Version` must be a string, found a number",
        1,
        13,
        "$.Version",
    );
    at(
        "{\"Statement\": \"x\"}",
        "`Statement` must be an object or an array of objects, found a string",
        1,
        15,
        "$.Statement",
    );
    at(
        "{\"Statement\": [\"x\"]}",
        "a statement must be an object, found a string",
        1,
        16,
        "$.Statement[0]",
    );
    at(
        "[]",
        "the policy document must be a JSON object, found an array",
        1,
        1,
        "$",
    );
}

#[test]
fn duplicate_keys() {
    at(
        "{\n \"Statement\": [{\n  \"Effect\": \"Allow\",\n  \"Action\": \"*\",\n  \"Resource\": \"*\",\n  \"Effect\": \"Deny\"\n }]\n}",
        "duplicate key `Effect`",
        6,
        3,
        "$.Statement[0].Effect",
    );
    at(
        "{\"Statement\": [], \"Statement\": []}",
        "duplicate key `Statement`",
        1,
        19,
        "$.Statement",
    );
    // Also deep inside a Condition, and in large objects.
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {\"Bool\": {\"k\": \"1\", \"k\": \"2\"}}}}",
        "duplicate key `k`",
        1,
        100,
        "$.Statement.Condition.Bool.k",
    );
    let mut big = String::from("{");
    for i in 0..100 {
        big.push_str(&format!("\"k{i}\": 1, "));
    }
    big.push_str("\"k7\": 2}");
    let (m, _, _, p) = error(&big);
    assert_eq!(m, "duplicate key `k7`");
    assert_eq!(p.as_deref(), Some("$.k7"));
}

#[test]
fn principal_in_an_identity_policy() {
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"*\", \"Resource\": \"*\"}}",
        "`Principal` is not allowed in an identity policy",
        1,
        35,
        "$.Statement.Principal",
    );
    at(
        "{\"Statement\": {\"Effect\": \"Deny\", \"NotPrincipal\": {\"AWS\": \"*\"}, \"Action\": \"*\", \"Resource\": \"*\"}}",
        "`NotPrincipal` is not allowed in an identity policy",
        1,
        34,
        "$.Statement.NotPrincipal",
    );
}

#[test]
fn unknown_elements_and_versions() {
    at(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Conditon\": {}}}",
        "unknown statement element `Conditon`",
        1,
        67,
        "$.Statement.Conditon",
    );
    at(
        "{\"Version\": \"2012-10-18\", \"Statement\": []}",
        "unsupported policy `Version` `2012-10-18` (expected `2012-10-17` or `2008-10-17`)",
        1,
        13,
        "$.Version",
    );
    at(
        "{\"Version\": \"2012-10-17\"}",
        "missing `Statement`",
        1,
        1,
        "$",
    );
}

#[test]
fn documents_over_one_mib() {
    let mut text = String::from("{\"Statement\": [], \"Id\": \"");
    text.push_str(&"x".repeat(MAX_DOCUMENT_BYTES));
    text.push_str("\"}");
    let e = Policy::parse(&text).expect_err("too big");
    assert!(
        e.message
            .starts_with("policy document is larger than 1 MiB"),
        "{}",
        e.message
    );
    // Just under the limit is fine.
    let mut text = String::from("{\"Statement\": [], \"Id\": \"");
    text.push_str(&"x".repeat(MAX_DOCUMENT_BYTES - 64));
    text.push_str("\"}");
    assert!(Policy::parse(&text).is_ok());
}

#[test]
fn percent_encoded_documents() {
    let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3ADecrypt%22%2C%22Resource%22%3A%22arn%3Aaws%3Akms%3A%2A%3A%2A%3Akey%2Fa+b%22%7D%5D%7D";
    let p = Policy::parse(doc).expect("decodes");
    assert_eq!(p.statements.len(), 1);
    // `+` is not a space.
    assert_eq!(
        p.resource_patterns(&p.statements[0]).collect::<Vec<_>>(),
        ["arn:aws:kms:*:*:key/a+b"]
    );
    // Errors point into the decoded text.
    let bad = "%7B%0A%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Alow%22%7D%5D%7D";
    let e = Policy::parse(bad).expect_err("bad effect");
    assert_eq!(
        e.message,
        "unknown `Effect` `Alow` (expected `Allow` or `Deny`)"
    );
    assert_eq!((e.line, e.column), (Some(2), Some(26)));
    // Text that starts with `{` is never decoded.
    let p = Policy::parse(
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"a%2Ab\"}}",
    )
    .unwrap();
    assert_eq!(p.resource_patterns(&p.statements[0]).next(), Some("a%2Ab"));
}

#[test]
fn aws_cli_wrappers() {
    let inner = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let wrapped = format!(
        r#"{{"PolicyVersion": {{"Document": {inner}, "VersionId": "v1", "IsDefaultVersion": true}}}}"#
    );
    let p = Policy::parse(&wrapped).expect("object document");
    assert_eq!(p.statements[0].sid.as_deref(), Some("A"));
    let encoded: String = inner
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let wrapped = format!(r#"{{"PolicyVersion": {{"Document": "{encoded}"}}}}"#);
    let p = Policy::parse(&wrapped).expect("encoded string document");
    assert_eq!(p.statements[0].sid.as_deref(), Some("A"));
    let wrapped = format!(r#"{{"RoleName": "r", "PolicyName": "p", "PolicyDocument": {inner}}}"#);
    assert_eq!(
        Policy::parse(&wrapped)
            .expect("get-role-policy")
            .statements
            .len(),
        1
    );
    // Errors inside a wrapped object carry the full path.
    let wrapped = r#"{"PolicyVersion": {"Document": {"Statement": {"Effect": "Allow", "Action": 1, "Resource": "*"}}}}"#;
    let e = Policy::parse(wrapped).expect_err("bad action");
    assert_eq!(
        e.path.as_deref(),
        Some("$.PolicyVersion.Document.Statement.Action")
    );
    assert_eq!((e.line, e.column), (Some(1), Some(76)));
    let e = Policy::parse(r#"{"PolicyVersion": {"VersionId": "v1"}}"#).expect_err("no document");
    assert_eq!(e.message, "missing `Document` in `PolicyVersion`");
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let p = Policy::parse("\u{feff}{\"Statement\": []}").expect("parses");
    assert!(p.statements.is_empty());
}

#[test]
fn statement_location_and_source() {
    let text = "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},\n    {\"Sid\": \"Two\", \"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}\n  ]\n}";
    let p = Policy::parse(text).unwrap();
    let s = &p.statements[1];
    assert_eq!(s.index, 1);
    assert_eq!(s.sid.as_deref(), Some("Two"));
    let loc = s.location.unwrap();
    assert_eq!((loc.line, loc.column), (4, 5));
    assert_eq!(
        s.source,
        "{\"Sid\": \"Two\", \"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}"
    );
    let loc = p.statements[0].location.unwrap();
    assert_eq!((loc.line, loc.column), (3, 5));
}

/// Front ends tell kinds of mistakes apart by `kind` and find the offending text by `span`,
/// never by reading the message.
#[test]
fn errors_carry_a_kind_and_the_span_of_the_offending_value() {
    let cases: &[(&str, ParseErrorKind, &str)] = &[
        (r#"{"Statement": [}"#, ParseErrorKind::Syntax, "}"),
        (
            r#"{"Statement": [], "Statement": []}"#,
            ParseErrorKind::DuplicateKey,
            r#""Statement""#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": 7, "Resource": "*"}]}"#,
            ParseErrorKind::Element,
            "7",
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Bogus": {"a": 1}}]}"#,
            ParseErrorKind::Element,
            r#""Bogus""#,
        ),
    ];
    for (text, kind, offending) in cases {
        let err = Policy::parse(text).unwrap_err();
        assert_eq!(err.kind, *kind, "{text}: {err}");
        let span = err.span.clone().expect("a span");
        let span = span.start as usize..span.end as usize;
        let at = &text[span.clone()];
        if span.is_empty() {
            assert!(
                text[span.start..].starts_with(offending),
                "{text}: {span:?}"
            );
        } else {
            assert_eq!(at, *offending, "{text}: {err}");
        }
        assert!(
            err.place().unwrap().starts_with("line 1, column "),
            "{err:?}"
        );
        assert_eq!(err.string_document, None);
    }
    let too_big = format!("{{\"Statement\": [], \"Id\": \"{}\"}}", "x".repeat(1 << 20));
    assert_eq!(
        Policy::parse(&too_big).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
    let bad_utf8 = Policy::parse("%7B%FF%7D").unwrap_err();
    assert_eq!(bad_utf8.kind, ParseErrorKind::Encoding);
    assert_eq!(bad_utf8.place(), None);
}

#[test]
fn errors_name_the_statement_they_are_in() {
    let in_second = Policy::parse(
        r#"{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                          {"Effect": "Maybe", "Action": "kms:*", "Resource": "*"}]}"#,
    )
    .unwrap_err();
    assert_eq!(in_second.statement, Some(1), "{in_second:?}");
    let single =
        Policy::parse(r#"{"Statement": {"Effect": 1, "Action": "kms:*", "Resource": "*"}}"#)
            .unwrap_err();
    assert_eq!(single.statement, Some(0), "{single:?}");
    let outside = Policy::parse(r#"{"Version": 3, "Statement": []}"#).unwrap_err();
    assert_eq!(outside.statement, None, "{outside:?}");
}

#[test]
fn an_error_inside_a_document_string_names_the_string() {
    let err = Policy::parse(r#"{"PolicyDocument": "{\"Statement\": 5}"}"#).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::Element);
    assert_eq!(err.string_document.as_deref(), Some("$.PolicyDocument"));
}
