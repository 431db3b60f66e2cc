//! `docs/controls.md` is generated from the registry and committed; it must match.

mod common;

#[test]
fn committed_controls_page_is_the_generated_one() {
    let path = common::repo_root().join("docs/controls.md");
    let committed =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let generated = keyaki_controls::docs::markdown();
    assert!(
        committed == generated,
        "docs/controls.md is stale: run `keyaki controls --format markdown > docs/controls.md`"
    );
    for id in ["KMS.1", "KMS.2", "KMS.3", "KMS.4"] {
        assert!(generated.contains(&format!("## {id} — ")), "{id}");
    }
    assert!(generated.contains("Europe (Milan) `eu-south-1`"));
}
