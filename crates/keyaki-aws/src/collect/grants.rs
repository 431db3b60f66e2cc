//! KMS grants of one key: `ListGrants`, all pages, mapped to the snapshot's
//! [`GrantRecord`] with the API's field names.
//!
//! A grant lets its grantee use the key's operations without the key policy or an IAM
//! policy allowing them, so "who can decrypt this key?" needs every page: a listing that
//! stopped part way is a failed call (the key's grants are then unknown), never a shorter
//! list.

use aws_sdk_kms::types::GrantListEntry;
use aws_smithy_types::date_time::Format;
use keyaki_controls::snapshot::GrantRecord;
use serde_json::{Map, Value};

use super::error::CallError;
use super::paging::{next_marker, paginate, Page};

const OPERATION: &str = "ListGrants";
/// The API's maximum page size.
const PAGE_SIZE: i32 = 100;

/// Every grant of the key `key_id`, or the call that failed.
pub(crate) async fn collect_key(
    client: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<Vec<GrantRecord>, CallError> {
    let (pages, err) = paginate(OPERATION, |marker| async move {
        let out = client
            .list_grants()
            .key_id(key_id)
            .limit(PAGE_SIZE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(OPERATION, e))?;
        let next = next_marker(OPERATION, out.truncated(), out.next_marker())?;
        Ok(Page {
            items: out.grants().iter().map(grant).collect::<Vec<_>>(),
            next,
        })
    })
    .await;
    match err {
        Some(err) => Err(err),
        None => Ok(pages.into_iter().flatten().collect()),
    }
}

fn grant(g: &GrantListEntry) -> GrantRecord {
    let s = |v: Option<&str>| v.map(str::to_string);
    GrantRecord {
        grant_id: s(g.grant_id()),
        name: s(g.name()).filter(|n| !n.is_empty()),
        key_id: s(g.key_id()),
        grantee_principal: s(g.grantee_principal()),
        retiring_principal: s(g.retiring_principal()),
        issuing_account: s(g.issuing_account()),
        operations: g
            .operations()
            .iter()
            .map(|o| o.as_str().to_string())
            .collect(),
        constraints: g.constraints().and_then(|c| {
            let map = |m: Option<&std::collections::HashMap<String, String>>| {
                m.map(|m| {
                    Value::Object(
                        m.iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect::<Map<_, _>>(),
                    )
                })
            };
            let mut o = Map::new();
            if let Some(v) = map(c.encryption_context_subset()) {
                o.insert("EncryptionContextSubset".into(), v);
            }
            if let Some(v) = map(c.encryption_context_equals()) {
                o.insert("EncryptionContextEquals".into(), v);
            }
            (!o.is_empty()).then_some(Value::Object(o))
        }),
        creation_date: g
            .creation_date()
            .and_then(|d| d.fmt(Format::DateTime).ok())
            .map(Value::String),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::types::{GrantConstraints, GrantOperation};

    use super::*;

    #[test]
    fn a_grant_keeps_its_grantee_operations_and_constraints() {
        let g = GrantListEntry::builder()
            .grant_id("g-1")
            .grantee_principal("arn:aws:iam::111122223333:role/app")
            .operations(GrantOperation::Decrypt)
            .operations(GrantOperation::GenerateDataKey)
            .constraints(
                GrantConstraints::builder()
                    .encryption_context_subset("team", "blue")
                    .build(),
            )
            .build();
        let r = grant(&g);
        assert_eq!(r.grant_id.as_deref(), Some("g-1"));
        assert_eq!(
            r.grantee_principal.as_deref(),
            Some("arn:aws:iam::111122223333:role/app")
        );
        assert_eq!(r.operations, vec!["Decrypt", "GenerateDataKey"]);
        assert_eq!(
            r.constraints,
            Some(serde_json::json!({"EncryptionContextSubset": {"team": "blue"}}))
        );
    }
}
