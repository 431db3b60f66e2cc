//! Test support: an isolated emulated account per test and
//! a standard set of fixtures, created through the SDK against moto.
//!
//! Every test works in an account of its own: it assumes a role in a fresh 12-digit
//! account id through moto's STS, and the credentials it gets back act in that account.
//! Tests therefore run in parallel against one server without resetting it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_types::sdk_config::SharedCredentialsProvider;

/// The two regions the standard fixtures use.
pub const REGION_A: &str = "eu-west-1";
pub const REGION_B: &str = "us-west-2";

/// The emulator's endpoint from `KEYAKI_MOTO_ENDPOINT`; a test without it fails and
/// says how to run it.
pub fn moto_endpoint() -> String {
    match std::env::var("KEYAKI_MOTO_ENDPOINT") {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "KEYAKI_MOTO_ENDPOINT is not set: these tests need the moto AWS emulator; \
             run them through scripts/test.sh, which starts it"
        ),
    }
}

/// A 12-digit account id nobody else in this test run uses.
pub fn fresh_account_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mix = nanos
        ^ (u64::from(std::process::id()) << 24)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9);
    format!("{:012}", 200_000_000_000 + mix % 700_000_000_000)
}

/// The role whose assumption puts a caller in `account`.
pub fn role_in(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/keyaki-test")
}

/// An SDK configuration acting in `account` (through the emulator's STS).
pub async fn account_config(endpoint: &str, account: &str) -> SdkConfig {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::config::http_client())
        .region(Region::new(REGION_A))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "keyaki-test",
        ))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&base);
    let out = sts
        .assume_role()
        .role_arn(role_in(account))
        .role_session_name("fixtures")
        .send()
        .await
        .unwrap_or_else(|e| panic!("assume role in {account}: {e:?}"));
    let c = out
        .credentials()
        .unwrap_or_else(|| panic!("assume role in {account}: no credentials"));
    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "keyaki-test-account",
    );
    base.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build()
}

/// A KMS client for `region` in the configuration's account.
pub fn kms_in(cfg: &SdkConfig, region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(cfg)
            .region(Region::new(region.to_string()))
            .build(),
    )
}

/// What the standard fixtures created, for the tests' assertions.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub account: String,
    /// Default version allows `kms:Decrypt` on `*` (an earlier version did not): KMS.1 fails.
    pub policy_decrypt_all: String,
    /// Earlier version allowed `kms:*` on `*`, the default is scoped: KMS.1 passes.
    pub policy_scoped: String,
    /// Allows `kms:*` on `*`, used as a role's permissions boundary: not evaluated by KMS.1.
    pub policy_boundary: String,
    /// Inline `kms:Decrypt` on `*`: KMS.2 fails.
    pub user_decrypt_all: String,
    /// Inline policy without KMS: KMS.2 passes.
    pub user_harmless: String,
    /// Inline `kms:ReEncryptFrom` on `*`: KMS.2 fails.
    pub group_reencrypt: String,
    /// Inline scoped decrypt, permissions boundary `policy_boundary`: KMS.2 passes.
    pub role_scoped: String,
    /// Inline `kms:*` on `*`: KMS.2 fails.
    pub role_admin: String,
    /// Region A, symmetric, rotation on: KMS.4 passes.
    pub key_rotating: String,
    /// Region A, symmetric, rotation off: KMS.4 fails.
    pub key_not_rotating: String,
    /// Region A, RSA_2048 sign/verify: KMS.4 not applicable.
    pub key_asymmetric: String,
    /// Region A, HMAC_256: KMS.4 not applicable.
    pub key_hmac: String,
    /// Region A, symmetric, scheduled for deletion: KMS.3 fails.
    pub key_pending_deletion: String,
    /// Region B, symmetric, rotation off: KMS.4 fails.
    pub key_b_not_rotating: String,
    /// Region B, symmetric, rotation on: KMS.4 passes.
    pub key_b_rotating: String,
}

impl Fixtures {
    /// Every key, as ARNs.
    pub fn keys(&self) -> Vec<&str> {
        vec![
            &self.key_rotating,
            &self.key_not_rotating,
            &self.key_asymmetric,
            &self.key_hmac,
            &self.key_pending_deletion,
            &self.key_b_not_rotating,
            &self.key_b_rotating,
        ]
    }
}

const DECRYPT_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DecryptEverything","Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#;
const HARMLESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}"#;
const KMS_STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const REENCRYPT_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReEncrypt","Effect":"Allow","Action":"kms:ReEncrypt*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn scoped(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"OneKey","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:{REGION_A}:{account}:key/11111111-2222-3333-4444-555555555555"}}]}}"#
    )
}

fn ok<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("fixture `{what}`: {e:?}"))
}

/// Creates the standard fixtures in the configuration's account.
pub async fn create_standard_fixtures(cfg: &SdkConfig, account: &str) -> Fixtures {
    let iam = aws_sdk_iam::Client::new(cfg);
    let mut f = Fixtures {
        account: account.to_string(),
        ..Fixtures::default()
    };

    // managed policies with several versions
    let arn = |r: aws_sdk_iam::operation::create_policy::CreatePolicyOutput| {
        r.policy()
            .and_then(|p| p.arn())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("create_policy returned no arn"))
    };
    f.policy_decrypt_all = arn(ok(
        "DecryptAll",
        iam.create_policy()
            .policy_name("DecryptAll")
            .policy_document(HARMLESS)
            .send()
            .await,
    ));
    ok(
        "DecryptAll v2",
        iam.create_policy_version()
            .policy_arn(&f.policy_decrypt_all)
            .policy_document(DECRYPT_ALL)
            .set_as_default(true)
            .send()
            .await,
    );
    f.policy_scoped = arn(ok(
        "ScopedDecrypt",
        iam.create_policy()
            .policy_name("ScopedDecrypt")
            .path("/team/")
            .policy_document(KMS_STAR)
            .send()
            .await,
    ));
    ok(
        "ScopedDecrypt v2",
        iam.create_policy_version()
            .policy_arn(&f.policy_scoped)
            .policy_document(scoped(account))
            .set_as_default(true)
            .send()
            .await,
    );
    ok(
        "ScopedDecrypt v3",
        iam.create_policy_version()
            .policy_arn(&f.policy_scoped)
            .policy_document(DECRYPT_ALL)
            .set_as_default(false)
            .send()
            .await,
    );
    f.policy_boundary = arn(ok(
        "KmsBoundary",
        iam.create_policy()
            .policy_name("KmsBoundary")
            .policy_document(KMS_STAR)
            .send()
            .await,
    ));

    // principals with inline policies
    let user_arn = |r: aws_sdk_iam::operation::create_user::CreateUserOutput| {
        r.user()
            .map(|u| u.arn().to_string())
            .unwrap_or_else(|| panic!("create_user returned no user"))
    };
    f.user_decrypt_all = user_arn(ok(
        "alice",
        iam.create_user().user_name("alice").send().await,
    ));
    ok(
        "alice inline",
        iam.put_user_policy()
            .user_name("alice")
            .policy_name("decrypt-all")
            .policy_document(DECRYPT_ALL)
            .send()
            .await,
    );
    f.user_harmless = user_arn(ok("bob", iam.create_user().user_name("bob").send().await));
    ok(
        "bob inline",
        iam.put_user_policy()
            .user_name("bob")
            .policy_name("read-bucket")
            .policy_document(HARMLESS)
            .send()
            .await,
    );
    ok(
        "bob attached",
        iam.attach_user_policy()
            .user_name("bob")
            .policy_arn(&f.policy_scoped)
            .send()
            .await,
    );
    let g = ok("ops", iam.create_group().group_name("ops").send().await);
    f.group_reencrypt = g.group().map(|g| g.arn().to_string()).unwrap_or_default();
    ok(
        "ops inline",
        iam.put_group_policy()
            .group_name("ops")
            .policy_name("reencrypt")
            .policy_document(REENCRYPT_ALL)
            .send()
            .await,
    );
    ok(
        "bob in ops",
        iam.add_user_to_group()
            .group_name("ops")
            .user_name("bob")
            .send()
            .await,
    );
    let role_arn = |r: aws_sdk_iam::operation::create_role::CreateRoleOutput| {
        r.role()
            .map(|r| r.arn().to_string())
            .unwrap_or_else(|| panic!("create_role returned no role"))
    };
    f.role_scoped = role_arn(ok(
        "app",
        iam.create_role()
            .role_name("app")
            .assume_role_policy_document(TRUST)
            .permissions_boundary(&f.policy_boundary)
            .send()
            .await,
    ));
    ok(
        "app inline",
        iam.put_role_policy()
            .role_name("app")
            .policy_name("one-key")
            .policy_document(scoped(account))
            .send()
            .await,
    );
    ok(
        "app attached",
        iam.attach_role_policy()
            .role_name("app")
            .policy_arn(&f.policy_decrypt_all)
            .send()
            .await,
    );
    f.role_admin = role_arn(ok(
        "key-admin",
        iam.create_role()
            .role_name("key-admin")
            .path("/admins/")
            .assume_role_policy_document(TRUST)
            .send()
            .await,
    ));
    ok(
        "key-admin inline",
        iam.put_role_policy()
            .role_name("key-admin")
            .policy_name("all-kms")
            .policy_document(KMS_STAR)
            .send()
            .await,
    );

    // keys in two regions
    let a = kms_in(cfg, REGION_A);
    let b = kms_in(cfg, REGION_B);
    f.key_rotating = create_key(&a, "rotating", None, true).await;
    f.key_not_rotating = create_key(&a, "not rotating", None, false).await;
    f.key_asymmetric = create_key(
        &a,
        "signing",
        Some((KeySpec::Rsa2048, KeyUsageType::SignVerify)),
        false,
    )
    .await;
    f.key_hmac = create_key(
        &a,
        "mac",
        Some((KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)),
        false,
    )
    .await;
    f.key_pending_deletion = create_key(&a, "retired", None, true).await;
    ok(
        "schedule deletion",
        a.schedule_key_deletion()
            // moto looks keys up by id only here
            .key_id(
                f.key_pending_deletion
                    .rsplit('/')
                    .next()
                    .unwrap_or_default(),
            )
            .pending_window_in_days(7)
            .send()
            .await,
    );
    f.key_b_not_rotating = create_key(&b, "b not rotating", None, false).await;
    f.key_b_rotating = create_key(&b, "b rotating", None, true).await;
    f
}

/// Creates a key (symmetric unless a spec is given) and returns its ARN.
pub async fn create_key(
    kms: &aws_sdk_kms::Client,
    description: &str,
    spec: Option<(KeySpec, KeyUsageType)>,
    rotate: bool,
) -> String {
    let mut req = kms.create_key().description(description);
    if let Some((spec, usage)) = spec {
        req = req.key_spec(spec).key_usage(usage);
    }
    let out = ok(description, req.send().await);
    let meta = out
        .key_metadata()
        .unwrap_or_else(|| panic!("create_key `{description}`: no metadata"));
    if rotate {
        ok(
            "enable rotation",
            kms.enable_key_rotation().key_id(meta.key_id()).send().await,
        );
    }
    meta.arn()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("create_key `{description}`: no arn"))
}

/// Creates a grant of `operations` (`Decrypt`, `Encrypt`, …) on `key` to `grantee` and
/// returns its id.
pub async fn create_grant(
    kms: &aws_sdk_kms::Client,
    key: &str,
    grantee: &str,
    operations: &[&str],
) -> String {
    let mut req = kms.create_grant().key_id(key).grantee_principal(grantee);
    for op in operations {
        req = req.operations(aws_sdk_kms::types::GrantOperation::from(*op));
    }
    let out = ok("create grant", req.send().await);
    out.grant_id().unwrap_or_default().to_string()
}

/// Makes the configuration's account the management account of a new organisation and
/// attaches a service control policy with `content` to the account itself.
pub async fn create_organization_with_scp(cfg: &SdkConfig, account: &str, content: &str) {
    use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
    let org = aws_sdk_organizations::Client::new(cfg);
    ok(
        "create organization",
        org.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let created = ok(
        "create policy",
        org.create_policy()
            .name("KeyakiTestScp")
            .description("test")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(content)
            .send()
            .await,
    );
    let id = created
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .unwrap_or_default()
        .to_string();
    ok(
        "attach policy",
        org.attach_policy()
            .policy_id(id)
            .target_id(account)
            .send()
            .await,
    );
}
