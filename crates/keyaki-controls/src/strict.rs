//! The checks that keep a damaged input from passing in silence: duplicate JSON keys,
//! values outside the API's enumerations, ARNs that contradict the record they sit in,
//! a default policy version that is ambiguous. Each answers with the place (a JSON path
//! suffix) and a message; [`crate::input`] turns them into input problems and
//! NOT_AVAILABLE `INVALID_INPUT` findings (or refuses the input, for the structure
//! of the document itself).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::input::KeyMetadata;
use crate::snapshot::ManagedPolicyDetail;

/// An object whose members are kept as raw text (the first value of a key written
/// twice), with the keys that appear more than once (`serde_json` and a map would
/// silently keep the last one).
#[derive(Debug, Default)]
pub(crate) struct Members<'a> {
    pub map: BTreeMap<String, &'a RawValue>,
    /// Keys met a second time, in the order met.
    pub duplicates: Vec<String>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members<'a>, A::Error> {
                let mut out = Members::default();
                while let Some(key) = access.next_key::<String>()? {
                    let value: &'a RawValue = access.next_value()?;
                    match out.map.entry(key) {
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                        std::collections::btree_map::Entry::Occupied(e) => {
                            out.duplicates.push(e.key().clone());
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A member of an object read as a list: its elements as raw text, or the kind of what
/// it is instead (read in one pass: the list is not walked twice).
#[derive(Debug)]
pub(crate) enum Member<'a> {
    Array(Vec<&'a RawValue>),
    /// Not an array: its kind (`null`, `an object`, ...) and, for a boolean, its value.
    Other {
        kind: &'static str,
        truthy: bool,
    },
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Member<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Member<'a>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = access.next_element::<&'a RawValue>()? {
                    items.push(item);
                }
                Ok(Member::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Member<'a>, A::Error> {
                while access.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(other("an object"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Member<'a>, E> {
                Ok(Member::Other {
                    kind: "a boolean",
                    truthy: v,
                })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<'a>, E> {
                Ok(other("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<'a>, E> {
                Ok(other("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<'a>, E> {
                Ok(other("a number"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Member<'a>, E> {
                Ok(other("a string"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'a>, E> {
                Ok(other("null"))
            }
        }
        fn other<'a>(kind: &'static str) -> Member<'a> {
            Member::Other {
                kind,
                truthy: false,
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object whose members are read as lists (see [`Member`]), with the keys written
/// twice; `None` when `raw` is not an object.
pub(crate) fn lists(raw: &RawValue) -> Option<Lists<'_>> {
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// See [`lists`].
#[derive(Debug, Default)]
pub(crate) struct Lists<'a> {
    pub map: BTreeMap<String, Member<'a>>,
    pub duplicates: Vec<String>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Lists<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lists<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Lists<'a>, A::Error> {
                let mut out = Lists::default();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Member<'a> = access.next_value()?;
                    match out.map.entry(key) {
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                        std::collections::btree_map::Entry::Occupied(e) => {
                            out.duplicates.push(e.key().clone());
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The members of `raw` when it is an object.
pub(crate) fn members(raw: &RawValue) -> Option<Members<'_>> {
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// The ARN (or, failing that, the key id) of a key record, read from the first value of
/// each key written twice: an ambiguous record still names its key.
pub(crate) fn first_key_identity(record: &RawValue) -> Option<String> {
    let record = members(record)?;
    let from_metadata = record
        .map
        .get("KeyMetadata")
        .and_then(|m| members(m))
        .and_then(|m| {
            let text = |field: &str| {
                m.map
                    .get(field)
                    .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
            };
            text("Arn").or_else(|| text("KeyId").map(|id| format!("key/{id}")))
        });
    from_metadata.or_else(|| {
        record
            .map
            .get("KeyArn")
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    })
}

/// The JSON path suffixes (`.KeyMetadata.KeyState`, `[2].Code`) of every key that appears
/// twice in its object, anywhere in `text` (valid JSON). `Err` when the text cannot be
/// walked (nesting deeper than the JSON reader allows).
pub(crate) fn duplicate_keys(text: &str) -> Result<Vec<String>, String> {
    duplicate_keys_skipping(text, &[])
}

/// [`duplicate_keys`], without looking into the values of the keys in `skip` (policy
/// documents, which the reasoning core's parser checks when it reads them).
pub(crate) fn duplicate_keys_skipping(text: &str, skip: &[&str]) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let mut keys = Vec::new();
    Scan {
        found: &mut found,
        keys: &mut keys,
        skip,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    Ok(found
        .into_iter()
        .map(|path| path.into_iter().rev().collect::<String>())
        .collect())
}

/// An object key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Walks a value; `found` gets the path of each duplicate key, its segments innermost
/// first (so that each level appends its own segment). `keys` is one stack shared by the
/// whole walk: each object pushes its keys above its parent's and pops them when done, so
/// that the walk allocates nothing per object.
struct Scan<'f, 'de> {
    found: &'f mut Vec<Vec<String>>,
    keys: &'f mut Vec<Cow<'de, str>>,
    /// Keys whose values are skipped.
    skip: &'f [&'f str],
}

/// Up to this many keys, an object's keys are compared one by one; beyond, through a set
/// (a hostile object with a million keys must not take quadratic time).
const LINEAR_KEYS: usize = 32;

impl<'de> DeserializeSeed<'de> for Scan<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let base = self.keys.len();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(Key(key)) = access.next_key::<Key<'de>>()? {
            let mut inner = Vec::new();
            if self.skip.contains(&key.as_ref()) {
                access.next_value::<IgnoredAny>()?;
            } else {
                access.next_value_seed(Scan {
                    found: &mut inner,
                    keys: self.keys,
                    skip: self.skip,
                })?;
            }
            for mut path in inner {
                path.push(format!(".{key}"));
                self.found.push(path);
            }
            let seen = match &mut many {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let seen = self.keys[base..].contains(&key);
                    if self.keys.len() - base >= LINEAR_KEYS {
                        many = Some(self.keys.drain(base..).collect());
                    }
                    seen
                }
            };
            if seen {
                self.found.push(vec![format!(".{key}")]);
            } else if let Some(set) = &mut many {
                set.insert(key);
            } else {
                self.keys.push(key);
            }
        }
        self.keys.truncate(base);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let mut inner = Vec::new();
            let more = access.next_element_seed(Scan {
                found: &mut inner,
                keys: self.keys,
                skip: self.skip,
            })?;
            if more.is_none() {
                break;
            }
            for mut path in inner {
                path.push(format!("[{i}]"));
                self.found.push(path);
            }
            i += 1;
        }
        Ok(())
    }
}

/// The head of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// `arn` split into its segments; `None` when it is not an ARN (the `arn` prefix is read
/// without case, as the reasoning core reads the first five segments).
pub(crate) fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let head = parts.next()?;
    if !head.eq_ignore_ascii_case("arn") {
        return None;
    }
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// Why an IAM element's ARN contradicts the account it sits in: another partition,
/// service or account, a region, or a resource of another kind (`noun` is `user`,
/// `group`, `role` or `policy`). `account` is `None` when the account is unknown.
/// The head segments are compared without case, as the reasoning core reads them.
pub(crate) fn iam_arn_contradiction(
    arn: &str,
    noun: &str,
    account: Option<&str>,
    partition: &str,
) -> Option<String> {
    let Some(a) = parse_arn(arn) else {
        return Some(format!("`{arn}` is not an ARN"));
    };
    if !a.partition.eq_ignore_ascii_case(partition) {
        return Some(format!(
            "the ARN `{arn}` is in partition `{}`, the input's partition is `{partition}`",
            a.partition
        ));
    }
    if !a.service.eq_ignore_ascii_case("iam") || !a.region.is_empty() {
        return Some(format!("the ARN `{arn}` is not an IAM ARN"));
    }
    let aws_managed = noun == "policy" && a.account.eq_ignore_ascii_case("aws");
    if let Some(account) = account {
        if !aws_managed && !a.account.eq_ignore_ascii_case(account) {
            return Some(format!(
                "the ARN `{arn}` is in account `{}`, the input's account is `{account}`",
                a.account
            ));
        }
    }
    let kind = a.resource.split('/').next().unwrap_or_default();
    if !kind.eq_ignore_ascii_case(noun) || !a.resource.contains('/') {
        return Some(format!("the ARN `{arn}` does not name a {noun}"));
    }
    None
}

/// `KeyState`, `DescribeKey` API reference.
const KEY_STATES: &[&str] = &[
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
];
/// `KeyManager`.
const KEY_MANAGERS: &[&str] = &["AWS", "CUSTOMER"];
/// `Origin`.
const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
/// `KeySpec` (and the deprecated `CustomerMasterKeySpec`, a subset).
const KEY_SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
];

/// What makes key metadata unusable although it has the right types: a value outside the
/// API's enumeration (compared exactly, as the API writes them), `KeySpec` and
/// `CustomerMasterKeySpec` that disagree, an ARN (the metadata's or the record's
/// `KeyArn`) of another partition, region, account or key. Each: (place suffix, message).
pub(crate) fn key_contradictions(
    m: &KeyMetadata,
    record_arn: Option<&str>,
    region: &str,
    account: &str,
    partition: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (field, value, allowed) in [
        ("KeyState", m.key_state.as_deref(), KEY_STATES),
        ("KeyManager", m.key_manager.as_deref(), KEY_MANAGERS),
        ("Origin", m.origin.as_deref(), ORIGINS),
        ("KeySpec", m.key_spec.as_deref(), KEY_SPECS),
        (
            "CustomerMasterKeySpec",
            m.customer_master_key_spec.as_deref(),
            KEY_SPECS,
        ),
    ] {
        if let Some(v) = value.filter(|v| !allowed.contains(v)) {
            out.push((
                format!(".KeyMetadata.{field}"),
                format!(
                    "unknown `{field}` `{v}` (expected one of {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    if let (Some(a), Some(b)) = (&m.key_spec, &m.customer_master_key_spec) {
        if a != b {
            out.push((
                ".KeyMetadata.CustomerMasterKeySpec".into(),
                format!("`CustomerMasterKeySpec` `{b}` contradicts `KeySpec` `{a}`"),
            ));
        }
    }
    if let Some(id) = m.aws_account_id.as_deref().filter(|id| *id != account) {
        out.push((
            ".KeyMetadata.AWSAccountId".into(),
            format!("the key's `AWSAccountId` `{id}` is not the input's account `{account}`"),
        ));
    }
    let mut arns = Vec::new();
    if let Some(arn) = &m.arn {
        arns.push((".KeyMetadata.Arn", arn.as_str()));
    }
    if let Some(arn) = record_arn.filter(|a| parse_arn(a).is_some()) {
        arns.push((".KeyArn", arn));
    }
    for (place, arn) in &arns {
        if let Some(why) = key_arn_contradiction(arn, &m.key_id, region, account, partition) {
            out.push((place.to_string(), why));
        }
    }
    if let [(_, a), (place, b)] = arns[..] {
        if a != b && out.is_empty() {
            out.push((
                place.to_owned(),
                format!("the record's `KeyArn` `{b}` is not the metadata's `Arn` `{a}`"),
            ));
        }
    }
    out
}

/// Why a key ARN contradicts the record it sits in (region `region` of the account).
/// The head segments are compared without case, as the reasoning core reads them; the
/// key id exactly.
pub(crate) fn key_arn_contradiction(
    arn: &str,
    key_id: &str,
    region: &str,
    account: &str,
    partition: &str,
) -> Option<String> {
    let Some(a) = parse_arn(arn) else {
        return Some(format!("`{arn}` is not an ARN"));
    };
    if !a.partition.eq_ignore_ascii_case(partition) {
        return Some(format!(
            "the key ARN `{arn}` is in partition `{}`, the input's partition is `{partition}`",
            a.partition
        ));
    }
    if !a.service.eq_ignore_ascii_case("kms") {
        return Some(format!("the key ARN `{arn}` is not a KMS ARN"));
    }
    if !a.region.eq_ignore_ascii_case(region) {
        return Some(format!(
            "the key ARN `{arn}` is in region `{}`, the record is under region `{region}`",
            a.region
        ));
    }
    if !a.account.eq_ignore_ascii_case(account) {
        return Some(format!(
            "the key ARN `{arn}` is in account `{}`, the input's account is `{account}`",
            a.account
        ));
    }
    match a.resource.split_once('/') {
        Some((kind, id)) if kind.eq_ignore_ascii_case("key") => (id != key_id).then(|| {
            format!("the key ARN `{arn}` names key `{id}`, the metadata's `KeyId` is `{key_id}`")
        }),
        _ => Some(format!("the ARN `{arn}` does not name a key")),
    }
}

/// Why the default version of a managed policy is ambiguous: several versions marked
/// `IsDefaultVersion`, several versions answering to `DefaultVersionId`, or the version
/// marked default not the one `DefaultVersionId` names. (place suffix, message).
pub(crate) fn default_version_contradiction(p: &ManagedPolicyDetail) -> Option<(String, String)> {
    let name = |v: &crate::snapshot::PolicyVersion| {
        v.version_id
            .as_deref()
            .map_or_else(|| "(no id)".to_owned(), |id| format!("`{id}`"))
    };
    let marked: Vec<_> = p
        .policy_version_list
        .iter()
        .filter(|v| v.is_default_version)
        .collect();
    if marked.len() > 1 {
        let names: Vec<String> = marked.iter().map(|v| name(v)).collect();
        return Some((
            ".PolicyVersionList".into(),
            format!(
                "several versions are marked `IsDefaultVersion`: {}",
                names.join(", ")
            ),
        ));
    }
    let id = p.default_version_id.as_deref()?;
    let named = p
        .policy_version_list
        .iter()
        .filter(|v| v.version_id.as_deref() == Some(id))
        .count();
    if named > 1 {
        return Some((
            ".PolicyVersionList".into(),
            format!("several versions have the id `{id}` of `DefaultVersionId`"),
        ));
    }
    match marked.first() {
        Some(v) if v.version_id.as_deref() != Some(id) => Some((
            ".DefaultVersionId".into(),
            format!(
                "`DefaultVersionId` is `{id}`, but the version marked `IsDefaultVersion` is {}",
                name(v)
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        let text = r#"{"a": 1, "b": {"c": [ {"d": 1, "d": 2} ], "c": 3}, "a": 2}"#;
        assert_eq!(duplicate_keys(text).unwrap(), [".b.c[0].d", ".b.c", ".a"]);
        assert!(duplicate_keys(r#"{"a": {"a": 1}, "b": [1, {"a": 2}]}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn large_objects_are_checked_through_a_set() {
        let mut members: Vec<String> = (0..5000)
            .map(|i| format!("\"k{i}\": {{\"a\": 1}}"))
            .collect();
        members.push("\"k17\": 2".into());
        members.push("\"k4999\": {\"a\": 1, \"a\": 2}".into());
        let text = format!("{{{}}}", members.join(", "));
        assert_eq!(
            duplicate_keys(&text).unwrap(),
            [".k17", ".k4999.a", ".k4999"]
        );
    }

    #[test]
    fn escaped_keys_are_the_same_key() {
        assert_eq!(
            duplicate_keys(r#"{"KeyState": 1, "Key\u0053tate": 2}"#).unwrap(),
            [".KeyState"]
        );
    }

    #[test]
    fn members_keep_the_duplicates() {
        let m: Members = serde_json::from_str(r#"{"x": 1, "y": [2], "x": 3}"#).unwrap();
        assert_eq!(m.duplicates, ["x"]);
        assert_eq!(m.map["y"].get(), "[2]");
    }

    #[test]
    fn iam_arns_follow_the_case_rule_of_the_core() {
        let c = |arn| iam_arn_contradiction(arn, "user", Some("111122223333"), "aws");
        assert_eq!(c("arn:aws:iam::111122223333:user/a"), None);
        assert_eq!(c("ARN:AWS:IAM::111122223333:user/a"), None);
        assert!(c("arn:aws-cn:iam::111122223333:user/a").is_some());
        assert!(c("arn:aws:iam::444455556666:user/a").is_some());
        assert!(c("arn:aws:iam:us-east-1:111122223333:user/a").is_some());
        assert!(c("arn:aws:iam::111122223333:role/a").is_some());
        assert_eq!(
            iam_arn_contradiction(
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "policy",
                Some("111122223333"),
                "aws"
            ),
            None
        );
    }

    #[test]
    fn key_arns_must_match_their_record() {
        let c = |arn| key_arn_contradiction(arn, "k1", "us-east-1", "111122223333", "aws");
        assert_eq!(c("arn:aws:kms:us-east-1:111122223333:key/k1"), None);
        assert_eq!(c("arn:AWS:KMS:US-EAST-1:111122223333:key/k1"), None);
        assert!(c("arn:aws:kms:eu-west-1:111122223333:key/k1").is_some());
        assert!(c("arn:aws:kms:us-east-1:444455556666:key/k1").is_some());
        assert!(c("arn:aws-cn:kms:us-east-1:111122223333:key/k1").is_some());
        assert!(c("arn:aws:kms:us-east-1:111122223333:key/k2").is_some());
        assert!(c("arn:aws:kms:us-east-1:111122223333:alias/k1").is_some());
    }
}
