//! Membership in the key-ARN universe, written for the tests without the core's automaton:
//! `arn:<partition>:kms:<region>:<account>:key/<key-id>` with region `[a-z]{2,}(-[a-z]+)+-[1-9][0-9]*`,
//! account 12 digits (or the one given), key id a lowercase UUID or `mrk-` and 32 lowercase hex
//! digits. Included with `#[path]` by the tests that check witnesses and counterexamples.

/// Is `arn` a key ARN that can exist, in `partition` (and `account`, when given)?
pub fn is_key_that_can_exist(arn: &str, partition: &str, account: Option<&str>) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [head, p, service, region, acct, resource] = parts[..] else {
        return false;
    };
    let account_ok = acct.len() == 12
        && acct.bytes().all(|b| b.is_ascii_digit())
        && account.is_none_or(|a| a == acct);
    head == "arn"
        && p == partition
        && service == "kms"
        && is_region(region)
        && account_ok
        && resource.strip_prefix("key/").is_some_and(is_key_id)
}

fn is_region(region: &str) -> bool {
    let groups: Vec<&str> = region.split('-').collect();
    let letters = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_lowercase());
    let Some((number, words)) = groups.split_last() else {
        return false;
    };
    words.len() >= 2
        && words[0].len() >= 2
        && words.iter().all(|w| letters(w))
        && !number.is_empty()
        && !number.starts_with('0')
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn is_key_id(id: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if let Some(rest) = id.strip_prefix("mrk-") {
        return rest.len() == 32 && hex(rest);
    }
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g))
}
