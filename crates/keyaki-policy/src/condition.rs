//! Condition blocks: `{"OPERATOR": {"KEY": VALUES}}`, read into a typed model.
//!
//! One reader for identity policies and key policies ([`read_block`]): key policies keep each
//! test as written ([`crate::ConditionEntry`], KMS.5 reads the operator text itself), identity
//! policies check every test as AWS documents it and keep it typed ([`Condition`]): the
//! operator ([`OperatorKind`]), its set qualifier (`ForAllValues:`/`ForAnyValue:`), whether it
//! is an `...IfExists` form, the key and the values as text (JSON numbers and booleans are
//! accepted, as AWS accepts them, and kept as written).
//!
//! Conditions never change a verdict (the controls ignore them, as Security Hub does); they
//! say how far a grant reaches: [`Scope`].

use std::fmt;
use std::ops::Range;

use crate::json::{Member, Node, Step, Value};
use crate::ParseError;

/// A condition operator without its set qualifier and `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// What the values of an operator are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    String,
    Number,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    /// `Null`: `true` (the key is absent) or `false` (present).
    Null,
}

const OPERATORS: &[(&str, OperatorKind)] = &[
    ("StringEquals", OperatorKind::StringEquals),
    ("StringNotEquals", OperatorKind::StringNotEquals),
    (
        "StringEqualsIgnoreCase",
        OperatorKind::StringEqualsIgnoreCase,
    ),
    (
        "StringNotEqualsIgnoreCase",
        OperatorKind::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", OperatorKind::StringLike),
    ("StringNotLike", OperatorKind::StringNotLike),
    ("NumericEquals", OperatorKind::NumericEquals),
    ("NumericNotEquals", OperatorKind::NumericNotEquals),
    ("NumericLessThan", OperatorKind::NumericLessThan),
    ("NumericLessThanEquals", OperatorKind::NumericLessThanEquals),
    ("NumericGreaterThan", OperatorKind::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        OperatorKind::NumericGreaterThanEquals,
    ),
    ("DateEquals", OperatorKind::DateEquals),
    ("DateNotEquals", OperatorKind::DateNotEquals),
    ("DateLessThan", OperatorKind::DateLessThan),
    ("DateLessThanEquals", OperatorKind::DateLessThanEquals),
    ("DateGreaterThan", OperatorKind::DateGreaterThan),
    ("DateGreaterThanEquals", OperatorKind::DateGreaterThanEquals),
    ("Bool", OperatorKind::Bool),
    ("BinaryEquals", OperatorKind::BinaryEquals),
    ("IpAddress", OperatorKind::IpAddress),
    ("NotIpAddress", OperatorKind::NotIpAddress),
    ("ArnEquals", OperatorKind::ArnEquals),
    ("ArnLike", OperatorKind::ArnLike),
    ("ArnNotEquals", OperatorKind::ArnNotEquals),
    ("ArnNotLike", OperatorKind::ArnNotLike),
    ("Null", OperatorKind::Null),
];

impl OperatorKind {
    /// The name as AWS spells it (`StringEquals`).
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }

    /// The operator named `name`, compared without case.
    pub fn from_name(name: &str) -> Option<OperatorKind> {
        use OperatorKind::*;
        // As AWS spells them (almost every policy): one `match`, compiled to a few compares.
        let exact = match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "ArnEquals" => ArnEquals,
            "ArnLike" => ArnLike,
            "ArnNotEquals" => ArnNotEquals,
            "ArnNotLike" => ArnNotLike,
            "Bool" => Bool,
            "Null" => Null,
            _ => {
                return OPERATORS
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|&(_, k)| k)
            }
        };
        Some(exact)
    }

    /// What its values are.
    pub fn value_kind(self) -> ValueKind {
        use OperatorKind::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => ValueKind::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => ValueKind::Number,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => ValueKind::Date,
            Bool => ValueKind::Bool,
            BinaryEquals => ValueKind::Binary,
            IpAddress | NotIpAddress => ValueKind::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => ValueKind::Arn,
            Null => ValueKind::Null,
        }
    }

    /// Whether the operator requires the key's value to match one of the values: true
    /// only when the key is present and matches (`StringEquals`, `StringLike`,
    /// `StringEqualsIgnoreCase`, `ArnEquals`, `ArnLike`).
    pub fn is_positive_match(self) -> bool {
        use OperatorKind::*;
        matches!(
            self,
            StringEquals | StringEqualsIgnoreCase | StringLike | ArnEquals | ArnLike
        )
    }
}

/// `ForAllValues:` or `ForAnyValue:`, for keys with several values in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// True when every value of the request's key matches (and when it has none).
    ForAllValues,
    /// True when some value of the request's key matches.
    ForAnyValue,
}

impl SetQualifier {
    pub fn name(self) -> &'static str {
        match self {
            SetQualifier::ForAllValues => "ForAllValues",
            SetQualifier::ForAnyValue => "ForAnyValue",
        }
    }
}

/// A whole operator: `ForAnyValue:StringLikeIfExists` is
/// `{kind: StringLike, set: Some(ForAnyValue), if_exists: true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    pub kind: OperatorKind,
    pub set: Option<SetQualifier>,
    /// `...IfExists`: also true when the key is absent from the request.
    pub if_exists: bool,
}

impl Operator {
    /// Reads an operator as written in a policy; `None` when it is no operator (`Null` has no
    /// `IfExists` form). Names compare without case; [`fmt::Display`] writes AWS's spelling.
    pub fn parse(text: &str) -> Option<Operator> {
        let (set, rest) = match text.split_once(':') {
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAllValues") => {
                (Some(SetQualifier::ForAllValues), rest)
            }
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAnyValue") => {
                (Some(SetQualifier::ForAnyValue), rest)
            }
            Some(_) => return None,
            None => (None, text),
        };
        if let Some(kind) = OperatorKind::from_name(rest) {
            return Some(Operator {
                kind,
                set,
                if_exists: false,
            });
        }
        if let Some(base) = rest.strip_suffix("IfExists") {
            let kind = OperatorKind::from_name(base)?;
            return (kind != OperatorKind::Null).then_some(Operator {
                kind,
                set,
                if_exists: true,
            });
        }
        let cut = rest.len().checked_sub("IfExists".len())?;
        let (base, suffix) = (rest.get(..cut)?, rest.get(cut..)?);
        if !suffix.eq_ignore_ascii_case("IfExists") {
            return None;
        }
        let kind = OperatorKind::from_name(base)?;
        (kind != OperatorKind::Null).then_some(Operator {
            kind,
            set,
            if_exists: true,
        })
    }

    /// Whether the test holds only for a request whose key is present and matches one of the
    /// values (a positive match, no `IfExists`, no `ForAllValues:`).
    pub fn requires_match(self) -> bool {
        self.kind.is_positive_match()
            && !self.if_exists
            && self.set != Some(SetQualifier::ForAllValues)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(set) = self.set {
            write!(f, "{}:", set.name())?;
        }
        f.write_str(self.kind.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// How far a grant reaches, from the narrowest to the widest (the order of [`Ord`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only through named AWS services (`kms:ViaService` with fixed values).
    Service,
    /// Only for callers pinned to accounts or organisations (`kms:CallerAccount`,
    /// `aws:PrincipalAccount`, `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`,
    /// `aws:PrincipalArn` with fixed values).
    Caller,
    /// Only with an encryption context (`kms:EncryptionContext:*`,
    /// `kms:EncryptionContextKeys`).
    Context,
    /// Under conditions that pin none of the above (`aws:SecureTransport`, `aws:SourceIp`,
    /// an `...IfExists` form, a negated operator, …).
    Other,
    /// No condition limits the grant.
    Unconditional,
}

impl Scope {
    /// Every scope, narrowest first.
    pub const ALL: [Scope; 5] = [
        Scope::Service,
        Scope::Caller,
        Scope::Context,
        Scope::Other,
        Scope::Unconditional,
    ];

    /// The word used in every output (`unconditional`, `service`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Service => "service",
            Scope::Caller => "caller",
            Scope::Context => "context",
            Scope::Other => "other",
            Scope::Unconditional => "unconditional",
        }
    }

    /// The scope named `word` (as [`Scope::as_str`] writes it, without case).
    pub fn from_word(word: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(word.trim()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One typed test of a `Condition` block (all tests of a block must hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    /// As written (condition keys compare without case).
    pub key: String,
    /// Each value as text (numbers and booleans as written in the document).
    pub values: Vec<String>,
}

/// Single-valued condition keys (compared without case): a set qualifier on one of them is
/// a mistake (`ForAllValues:` is then true when the key is absent, which is rarely meant).
/// The keys AWS documents as single-valued that policies most often test.
pub const SINGLE_VALUED_KEYS: &[&str] = &[
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalType",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:SourceOrgID",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
    "kms:CallerAccount",
    "kms:EncryptionAlgorithm",
    "kms:GrantIsForAWSResource",
    "kms:KeyOrigin",
    "kms:KeySpec",
    "kms:KeyUsage",
    "kms:ViaService",
];

/// The prefix of the encryption-context keys (`kms:EncryptionContext:Department`), each of
/// them single-valued.
const CONTEXT_PREFIX: &str = "kms:EncryptionContext:";

fn is_single_valued(key: &str) -> bool {
    SINGLE_VALUED_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
        || starts_with_ci(key, CONTEXT_PREFIX)
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// What is wrong with a test, and where: the operator, the key, or one of the values (its
/// position in the value list; `None` when the value was written alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    pub place: ErrorPlace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPlace {
    Operator,
    Key,
    Value(Option<usize>),
}

impl Condition {
    /// Checks one test as AWS documents its operator; `values` as text, `listed` when they
    /// were written as a JSON array (for the place of an error).
    pub fn new(
        operator: &str,
        key: &str,
        values: Vec<String>,
        listed: bool,
    ) -> Result<Condition, ConditionError> {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let op = Condition::check(operator, key, &refs, listed)?;
        Ok(Condition {
            operator: op,
            key: key.to_owned(),
            values,
        })
    }

    /// [`Condition::new`] without building the test: its operator, or what is wrong.
    pub fn check(
        operator: &str,
        key: &str,
        values: &[&str],
        listed: bool,
    ) -> Result<Operator, ConditionError> {
        let Some(op) = Operator::parse(operator) else {
            return Err(ConditionError {
                message: format!("unknown condition operator `{operator}`"),
                place: ErrorPlace::Operator,
            });
        };
        if key.is_empty() {
            return Err(ConditionError {
                message: format!("an empty condition key under `{operator}`"),
                place: ErrorPlace::Key,
            });
        }
        if let Some(set) = op.set {
            if is_single_valued(key) {
                return Err(ConditionError {
                    message: format!(
                        "`{}:` on `{key}`, a single-valued condition key (write `{}` without it)",
                        set.name(),
                        Operator { set: None, ..op }
                    ),
                    place: ErrorPlace::Operator,
                });
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(problem) = check_value(op.kind, v) {
                return Err(ConditionError {
                    message: format!("`{op}` on `{key}`: `{v}` {problem}"),
                    place: ErrorPlace::Value(listed.then_some(i)),
                });
            }
        }
        Ok(op)
    }

    fn key_is(&self, name: &str) -> bool {
        self.key.eq_ignore_ascii_case(name)
    }

    /// How far a statement with only this test reaches (see [`Scope`]).
    pub fn scope(&self) -> Scope {
        let op = self.operator;
        let required = op.requires_match() && !self.values.is_empty();
        let fixed = |v: &String| !v.contains("${");
        if self.key_is("kms:ViaService")
            && required
            && self.values.iter().all(|v| fixed(v) && !wildcard_only(v))
        {
            return Scope::Service;
        }
        if let Some(key) = CALLER_KEYS.iter().find(|k| self.key_is(k)) {
            if required
                && self
                    .values
                    .iter()
                    .all(|v| crate::public::value_pins(key, op.kind.name(), v))
            {
                return Scope::Caller;
            }
        }
        if starts_with_ci(&self.key, CONTEXT_PREFIX) || self.key_is("kms:EncryptionContextKeys") {
            let present = op.kind == OperatorKind::Null
                && !self.values.is_empty()
                && self.values.iter().all(|v| v.eq_ignore_ascii_case("false"));
            if required || present {
                return Scope::Context;
            }
        }
        Scope::Other
    }

    /// The fixed values of a test that limits a grant to named services (`kms:ViaService`),
    /// empty for any other test.
    pub fn services(&self) -> &[String] {
        if self.scope() == Scope::Service {
            &self.values
        } else {
            &[]
        }
    }
}

/// The keys that pin callers in an identity policy (a subset of [`crate::PINNING_KEYS`]:
/// `aws:Source*` and `aws:SourceVpce` are about the calling resource or network path).
pub const CALLER_KEYS: &[&str] = &[
    "kms:CallerAccount",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalArn",
];

fn wildcard_only(v: &str) -> bool {
    v.chars().all(|c| c == '*' || c == '?')
}

/// The scope of a statement's condition block: [`Scope::Unconditional`] without tests, else
/// the narrowest scope of its tests (all of them must hold, so the one that pins most
/// decides: `service`, then `caller`, then `context`, then `other`).
pub fn block_scope(conditions: &[Condition]) -> Scope {
    conditions
        .iter()
        .map(Condition::scope)
        .min()
        .unwrap_or(Scope::Unconditional)
}

/// Why a value does not suit its operator, or `None`. Values with a policy variable
/// (`${...}`) are only known when the request is made, and are not checked.
fn check_value(kind: OperatorKind, v: &str) -> Option<&'static str> {
    if matches!(kind.value_kind(), ValueKind::String | ValueKind::Arn) || v.contains("${") {
        return None;
    }
    let ok = match kind.value_kind() {
        ValueKind::String | ValueKind::Arn => true,
        ValueKind::Number => is_number(v),
        ValueKind::Date => is_date(v),
        ValueKind::Bool | ValueKind::Null => {
            v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
        }
        ValueKind::Binary => is_base64(v),
        ValueKind::Ip => is_cidr(v),
    };
    if ok {
        return None;
    }
    Some(match kind.value_kind() {
        ValueKind::Number => "is not a number",
        ValueKind::Date => {
            "is not a date (ISO 8601, e.g. `2026-01-31T00:00:00Z`, or epoch seconds)"
        }
        ValueKind::Bool | ValueKind::Null => "is not `true` or `false`",
        ValueKind::Binary => "is not base64",
        _ => "is not an IP address or CIDR block (`203.0.113.0/24`, `2001:db8::/32`)",
    })
}

/// `-12`, `3600`, `1.2`.
fn is_number(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// ISO 8601 as AWS reads it (`2026-01-31`, `2026-01-31T12:00Z`, `2026-01-31T12:00:00.5+02:00`)
/// or epoch seconds (`1767225600`).
fn is_date(v: &str) -> bool {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    let b = v.as_bytes();
    let digits = |r: Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let num = |r: Range<usize>| {
        v.get(r)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    if b.len() < 10
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !(1..=12).contains(&num(5..7)) || !(1..=31).contains(&num(8..10)) {
        return false;
    }
    let rest = &v[10..];
    if rest.is_empty() {
        return true;
    }
    let Some(time) = rest.strip_prefix(['T', 't']) else {
        return false;
    };
    // hh:mm[:ss[.fff]] then Z, ±hh:mm, ±hhmm or nothing.
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    let zone_ok = match zone.as_bytes() {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', rest @ ..] => {
            let z = std::str::from_utf8(rest).unwrap_or("");
            let z: String = z.chars().filter(|&c| c != ':').collect();
            z.len() == 4 && z.bytes().all(|c| c.is_ascii_digit())
        }
        _ => false,
    };
    let mut parts = clock.split(':');
    let field = |p: Option<&str>, max: u32| {
        p.is_some_and(|p| {
            p.len() == 2
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= max)
        })
    };
    let hh = parts.next();
    let mm = parts.next();
    let ss = parts.next();
    let seconds_ok = match ss {
        None => true,
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
            field(Some(whole), 60) && !frac.is_empty() && frac.bytes().all(|c| c.is_ascii_digit())
        }
    };
    zone_ok && field(hh, 24) && field(mm, 59) && seconds_ok && parts.next().is_none()
}

fn is_base64(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    v.len() % 4 == 0
        && v.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// An IPv4 or IPv6 address, with or without a prefix length.
fn is_cidr(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let max = match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= max)
    })
}

impl fmt::Display for Condition {
    /// The test as people read it: `kms:ViaService ∈ {s3.us-east-1.amazonaws.com}`,
    /// `aws:SourceIp within {203.0.113.0/24}`, `any value of aws:TagKeys like {team-*}`,
    /// `kms:CallerAccount ∈ {111122223333} if present`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use OperatorKind::*;
        let op = self.operator;
        match op.set {
            Some(SetQualifier::ForAllValues) => write!(f, "every value of {}", self.key)?,
            Some(SetQualifier::ForAnyValue) => write!(f, "any value of {}", self.key)?,
            None => f.write_str(&self.key)?,
        }
        let set = || format!("{{{}}}", self.values.join(", "));
        let one = || match self.values.as_slice() {
            [v] => v.clone(),
            _ => format!("one of {}", set()),
        };
        match op.kind {
            Null => {
                let absent = self.values.iter().all(|v| v.eq_ignore_ascii_case("true"));
                let present = self.values.iter().all(|v| v.eq_ignore_ascii_case("false"));
                match (absent, present) {
                    (true, false) => f.write_str(" absent")?,
                    (false, true) => f.write_str(" present")?,
                    _ => write!(f, " null ∈ {}", set())?,
                }
            }
            StringEquals | ArnEquals | BinaryEquals | NumericEquals | DateEquals => {
                write!(f, " ∈ {}", set())?
            }
            StringNotEquals | ArnNotEquals | NumericNotEquals | DateNotEquals => {
                write!(f, " ∉ {}", set())?
            }
            StringEqualsIgnoreCase => write!(f, " ∈ {} ignoring case", set())?,
            StringNotEqualsIgnoreCase => write!(f, " ∉ {} ignoring case", set())?,
            StringLike | ArnLike => write!(f, " like {}", set())?,
            StringNotLike | ArnNotLike => write!(f, " not like {}", set())?,
            NumericLessThan | DateLessThan => write!(f, " < {}", one())?,
            NumericLessThanEquals | DateLessThanEquals => write!(f, " ≤ {}", one())?,
            NumericGreaterThan | DateGreaterThan => write!(f, " > {}", one())?,
            NumericGreaterThanEquals | DateGreaterThanEquals => write!(f, " ≥ {}", one())?,
            Bool => write!(f, " = {}", one())?,
            IpAddress => write!(f, " within {}", set())?,
            NotIpAddress => write!(f, " not within {}", set())?,
        }
        if op.if_exists {
            f.write_str(" if present")?;
        }
        Ok(())
    }
}

/// Makes a [`ParseError`] from a message, a byte span and a JSON path.
pub(crate) type MakeError<'e> = dyn Fn(String, Range<usize>, &[Step]) -> ParseError + 'e;

/// Reads a `Condition` block: an object of operators, each an object of keys, each a value or
/// a list of values (strings, numbers or booleans). `make` builds one test from its operator
/// member, its key member, its values as text, and the key's JSON path; `error` makes a
/// [`ParseError`] from a message, a byte span and a path. Paths are only built for errors:
/// reading a block allocates nothing but the values.
pub(crate) fn read_block<'n, T>(
    text: &'n str,
    node: &'n Node<'_>,
    path: &dyn Fn() -> Vec<Step>,
    error: &MakeError<'_>,
    mut make: impl FnMut(
        &Member<'_>,
        &Member<'_>,
        &[&str],
        &dyn Fn() -> Vec<Step>,
    ) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let Value::Object(operators) = &node.value else {
        return Err(error(
            format!("`Condition` must be an object, found {}", node.value.kind()),
            node.start..node.end,
            &path(),
        ));
    };
    let mut out = Vec::new();
    // One buffer for the values of every key (they are borrowed from the document).
    let mut values: Vec<&'n str> = Vec::new();
    for op in operators {
        let op_path = || {
            let mut p = path();
            p.push(Step::Key(op.key.to_string()));
            p
        };
        let Value::Object(keys) = &op.value.value else {
            return Err(error(
                format!(
                    "condition operator `{}` must hold an object, found {}",
                    op.key,
                    op.value.value.kind()
                ),
                op.value.start..op.value.end,
                &op_path(),
            ));
        };
        for k in keys {
            let k_path = || {
                let mut p = op_path();
                p.push(Step::Key(k.key.to_string()));
                p
            };
            let scalar = |n: &'n Node<'_>, at: Option<usize>| match &n.value {
                Value::Str(s) => Ok(&**s),
                Value::Bool | Value::Number => Ok(&text[n.start..n.end]),
                other => {
                    let mut p = k_path();
                    p.extend(at.map(Step::Index));
                    Err(error(
                        format!(
                            "condition values must be strings, numbers or booleans, found {}",
                            other.kind()
                        ),
                        n.start..n.end,
                        &p,
                    ))
                }
            };
            let test = match &k.value.value {
                Value::Array(items) => {
                    values.clear();
                    for (i, n) in items.iter().enumerate() {
                        values.push(scalar(n, Some(i))?);
                    }
                    make(op, k, &values, &k_path)?
                }
                _ => make(op, k, &[scalar(&k.value, None)?], &k_path)?,
            };
            out.push(test);
        }
    }
    Ok(out)
}

/// [`read_block`] for identity policies: every test checked (an error names the operator, the
/// key or the value it is about) and, with `build`, typed; without, nothing is kept nor
/// allocated (the parser checks every block, and types one again only when its conditions
/// are asked for: [`crate::Statement::conditions`]).
pub(crate) fn read_typed(
    text: &str,
    node: &Node<'_>,
    path: &dyn Fn() -> Vec<Step>,
    error: &MakeError<'_>,
    key_span: &dyn Fn(&Member<'_>) -> Range<usize>,
    build: bool,
) -> Result<Vec<Condition>, ParseError> {
    let check =
        |op: &Member<'_>, k: &Member<'_>, values: &[&str], k_path: &dyn Fn() -> Vec<Step>| {
            let listed = matches!(k.value.value, Value::Array(_));
            Condition::check(&op.key, &k.key, values, listed).map_err(|e| {
                let mut p = k_path();
                match e.place {
                    ErrorPlace::Operator => {
                        p.pop();
                        error(e.message, key_span(op), &p)
                    }
                    ErrorPlace::Key => error(e.message, key_span(k), &p),
                    ErrorPlace::Value(None) => error(e.message, k.value.start..k.value.end, &p),
                    ErrorPlace::Value(Some(i)) => {
                        let node = match &k.value.value {
                            Value::Array(items) => items.get(i).unwrap_or(&k.value),
                            _ => &k.value,
                        };
                        p.push(Step::Index(i));
                        error(e.message, node.start..node.end, &p)
                    }
                }
            })
        };
    if !build {
        // `Vec<()>` allocates nothing.
        read_block(text, node, path, error, |op, k, values, k_path| {
            check(op, k, values, k_path).map(|_| ())
        })?;
        return Ok(Vec::new());
    }
    read_block(text, node, path, error, |op, k, values, k_path| {
        Ok(Condition {
            operator: check(op, k, values, k_path)?,
            key: k.key.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
        })
    })
}

/// The typed tests of a `Condition` block's JSON text (empty when, which the parser rules
/// out, the text cannot be read).
pub(crate) fn of_block_text(block: &str) -> Vec<Condition> {
    let Ok(root) = crate::json::parse(block) else {
        return Vec::new();
    };
    let error = |m: String, _: Range<usize>, _: &[Step]| {
        ParseError::whole(crate::ParseErrorKind::Element, m)
    };
    let key_span = |m: &Member<'_>| m.key_start..m.key_start;
    read_typed(block, &root, &Vec::new, &error, &key_span, true).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Result<Condition, ConditionError> {
        Condition::new(
            op,
            key,
            values.iter().map(|v| v.to_string()).collect(),
            true,
        )
    }

    #[test]
    fn every_documented_operator_reads_with_its_forms() {
        for (name, kind) in OPERATORS {
            let op = Operator::parse(name).unwrap();
            assert_eq!((op.kind, op.set, op.if_exists), (*kind, None, false));
            assert_eq!(op.to_string(), *name);
            for set in ["ForAllValues", "ForAnyValue"] {
                let text = format!("{set}:{name}");
                assert_eq!(Operator::parse(&text).unwrap().to_string(), text);
            }
            let if_exists = Operator::parse(&format!("{name}IfExists"));
            if *kind == OperatorKind::Null {
                assert_eq!(if_exists, None, "`NullIfExists` is no operator");
            } else {
                let op = if_exists.unwrap();
                assert!(op.if_exists);
                assert_eq!(op.to_string(), format!("{name}IfExists"));
            }
        }
        let op = Operator::parse("forAnyValue:stringlikeifexists").unwrap();
        assert_eq!(op.to_string(), "ForAnyValue:StringLikeIfExists");
        for bad in [
            "StringEqual",
            "ForSomeValues:StringEquals",
            "IfExists",
            "StringEqualsIfExist",
            "ForAllValues:",
            "",
            "ForAllValues:ForAnyValue:StringEquals",
        ] {
            assert_eq!(Operator::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_checked_against_their_operator() {
        let table: &[(&str, &str, &str, bool)] = &[
            ("NumericLessThan", "aws:MultiFactorAuthAge", "3600", true),
            ("NumericGreaterThanEquals", "s3:TlsVersion", "1.2", true),
            ("NumericEquals", "s3:max-keys", "-1", true),
            ("NumericEquals", "s3:max-keys", "ten", false),
            ("NumericEquals", "s3:max-keys", "1.", false),
            ("NumericEquals", "s3:max-keys", "", false),
            (
                "DateGreaterThan",
                "aws:CurrentTime",
                "2026-01-31T00:00:00Z",
                true,
            ),
            ("DateLessThan", "aws:CurrentTime", "2026-01-31", true),
            (
                "DateLessThan",
                "aws:CurrentTime",
                "2026-01-31T12:00:00.123+02:00",
                true,
            ),
            ("DateLessThan", "aws:CurrentTime", "2026-01-31T12:00Z", true),
            ("DateLessThan", "aws:EpochTime", "1767225600", true),
            ("DateLessThan", "aws:CurrentTime", "2026-13-01", false),
            ("DateLessThan", "aws:CurrentTime", "tomorrow", false),
            (
                "DateLessThan",
                "aws:CurrentTime",
                "2026-01-31T25:00:00Z",
                false,
            ),
            ("DateLessThan", "aws:CurrentTime", "2026-01-31 12:00", false),
            ("IpAddress", "aws:SourceIp", "203.0.113.0/24", true),
            ("IpAddress", "aws:SourceIp", "203.0.113.7", true),
            (
                "NotIpAddress",
                "aws:SourceIp",
                "2001:DB8:1234:5678::/64",
                true,
            ),
            ("IpAddress", "aws:SourceIp", "203.0.113.0/33", false),
            ("IpAddress", "aws:SourceIp", "203.0.113/24", false),
            ("IpAddress", "aws:SourceIp", "2001:db8::/129", false),
            ("IpAddress", "aws:SourceIp", "203.0.113.0/", false),
            ("IpAddress", "aws:SourceIp", "localhost", false),
            ("Bool", "aws:SecureTransport", "true", true),
            ("Bool", "aws:SecureTransport", "False", true),
            ("Bool", "aws:SecureTransport", "yes", false),
            ("Null", "kms:EncryptionContextKeys", "false", true),
            ("Null", "kms:EncryptionContextKeys", "0", false),
            (
                "BinaryEquals",
                "aws:ResourceTag/bin",
                "QmluYXJ5VmFsdWU=",
                true,
            ),
            ("BinaryEquals", "aws:ResourceTag/bin", "not base64!", false),
            ("StringEquals", "kms:ViaService", "anything at all", true),
            ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/x", true),
            // A policy variable is only known with the request.
            ("NumericLessThan", "s3:max-keys", "${aws:username}", true),
        ];
        for &(op, key, value, ok) in table {
            let got = cond(op, key, &[value]);
            assert_eq!(got.is_ok(), ok, "{op} {key} {value}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.place, ErrorPlace::Value(Some(0)));
                assert!(e.message.contains(&format!("`{value}`")), "{}", e.message);
            }
        }
    }

    #[test]
    fn set_qualifiers_on_single_valued_keys_are_refused() {
        for key in [
            "aws:SourceIp",
            "kms:ViaService",
            "KMS:CallerAccount",
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "aws:PrincipalOrgID",
            "aws:SecureTransport",
            "kms:EncryptionContext:Department",
        ] {
            let e = cond("ForAllValues:StringEquals", key, &["x"]).unwrap_err();
            assert_eq!(e.place, ErrorPlace::Operator);
            assert!(e.message.contains("single-valued"), "{}", e.message);
            assert!(cond("ForAnyValue:StringLike", key, &["x"]).is_err());
            assert!(cond("StringEquals", key, &["x"]).is_ok());
        }
        for key in [
            "aws:TagKeys",
            "kms:EncryptionContextKeys",
            "aws:CalledVia",
            "kms:GrantOperations",
        ] {
            assert!(cond("ForAllValues:StringEquals", key, &["x"]).is_ok());
        }
    }

    #[test]
    fn tests_read_as_people_read_them() {
        let table: &[(&str, &str, &[&str], &str)] = &[
            (
                "StringEquals",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"],
                "kms:ViaService ∈ {s3.us-east-1.amazonaws.com}",
            ),
            (
                "StringNotEqualsIfExists",
                "aws:PrincipalOrgID",
                &["o-1", "o-2"],
                "aws:PrincipalOrgID ∉ {o-1, o-2} if present",
            ),
            (
                "ForAnyValue:StringLike",
                "aws:TagKeys",
                &["team-*"],
                "any value of aws:TagKeys like {team-*}",
            ),
            (
                "ForAllValues:StringEquals",
                "kms:EncryptionContextKeys",
                &["Dept"],
                "every value of kms:EncryptionContextKeys ∈ {Dept}",
            ),
            (
                "NumericLessThan",
                "aws:MultiFactorAuthAge",
                &["3600"],
                "aws:MultiFactorAuthAge < 3600",
            ),
            (
                "DateGreaterThanEquals",
                "aws:CurrentTime",
                &["2026-01-01", "2027-01-01"],
                "aws:CurrentTime ≥ one of {2026-01-01, 2027-01-01}",
            ),
            (
                "Bool",
                "aws:SecureTransport",
                &["true"],
                "aws:SecureTransport = true",
            ),
            (
                "NotIpAddress",
                "aws:SourceIp",
                &["203.0.113.0/24"],
                "aws:SourceIp not within {203.0.113.0/24}",
            ),
            (
                "Null",
                "kms:EncryptionContextKeys",
                &["false"],
                "kms:EncryptionContextKeys present",
            ),
            (
                "Null",
                "aws:TokenIssueTime",
                &["true"],
                "aws:TokenIssueTime absent",
            ),
            (
                "StringEqualsIgnoreCase",
                "aws:username",
                &["Alice"],
                "aws:username ∈ {Alice} ignoring case",
            ),
            (
                "ArnNotLike",
                "aws:SourceArn",
                &["arn:aws:s3:::b"],
                "aws:SourceArn not like {arn:aws:s3:::b}",
            ),
        ];
        for &(op, key, values, want) in table {
            assert_eq!(cond(op, key, values).unwrap().to_string(), want);
        }
    }

    #[test]
    fn scope_follows_what_the_test_requires() {
        use Scope::*;
        let table: &[(&str, &str, &[&str], Scope)] = &[
            (
                "StringEquals",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"],
                Service,
            ),
            (
                "StringLike",
                "kms:ViaService",
                &["ec2.*.amazonaws.com"],
                Service,
            ),
            ("StringLike", "kms:ViaService", &["*"], Other),
            (
                "StringEqualsIfExists",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"],
                Other,
            ),
            (
                "StringNotEquals",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"],
                Other,
            ),
            (
                "StringEquals",
                "kms:ViaService",
                &["${aws:username}"],
                Other,
            ),
            ("StringEquals", "kms:ViaService", &[], Other),
            (
                "StringEquals",
                "kms:CallerAccount",
                &["111122223333"],
                Caller,
            ),
            (
                "StringEquals",
                "aws:PrincipalOrgID",
                &["o-a1b2c3d4e5"],
                Caller,
            ),
            ("StringLike", "aws:PrincipalOrgID", &["o-*"], Other),
            (
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/*"],
                Caller,
            ),
            (
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/admin"],
                Other,
            ),
            (
                "StringEquals",
                "aws:PrincipalAccount",
                &["${aws:ResourceAccount}"],
                Other,
            ),
            (
                "StringEquals",
                "kms:EncryptionContext:aws:s3:arn",
                &["arn:aws:s3:::b"],
                Context,
            ),
            ("StringLike", "kms:EncryptionContext:Dept", &["*"], Context),
            (
                "ForAnyValue:StringEquals",
                "kms:EncryptionContextKeys",
                &["Dept"],
                Context,
            ),
            (
                "ForAllValues:StringEquals",
                "kms:EncryptionContextKeys",
                &["Dept"],
                Other,
            ),
            ("Null", "kms:EncryptionContextKeys", &["false"], Context),
            ("Null", "kms:EncryptionContextKeys", &["true"], Other),
            ("Bool", "aws:SecureTransport", &["true"], Other),
            ("IpAddress", "aws:SourceIp", &["203.0.113.0/24"], Other),
        ];
        for &(op, key, values, want) in table {
            assert_eq!(
                cond(op, key, values).unwrap().scope(),
                want,
                "{op} {key} {values:?}"
            );
        }
    }

    #[test]
    fn a_block_takes_its_narrowest_test_and_no_block_is_unconditional() {
        let via = cond(
            "StringEquals",
            "kms:ViaService",
            &["s3.us-east-1.amazonaws.com"],
        )
        .unwrap();
        let caller = cond("StringEquals", "kms:CallerAccount", &["111122223333"]).unwrap();
        let tls = cond("Bool", "aws:SecureTransport", &["true"]).unwrap();
        assert_eq!(block_scope(&[]), Scope::Unconditional);
        assert_eq!(block_scope(std::slice::from_ref(&tls)), Scope::Other);
        assert_eq!(block_scope(&[tls.clone(), caller.clone()]), Scope::Caller);
        assert_eq!(block_scope(&[caller, via, tls]), Scope::Service);
        assert!(Scope::Unconditional > Scope::Other && Scope::Caller > Scope::Service);
        for s in Scope::ALL {
            assert_eq!(Scope::from_word(s.as_str()), Some(s));
        }
        assert_eq!(Scope::from_word("everywhere"), None);
    }
}
