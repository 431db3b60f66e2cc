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
    for id in ["KMS.1", "KMS.2", "KMS.3", "KMS.4", "KMS.5"] {
        assert!(generated.contains(&format!("## {id} — ")), "{id}");
    }
    assert!(generated.contains("Europe (Milan) `eu-south-1`"));
}

#[test]
fn the_readme_lists_the_controls_of_the_registry() {
    let path = common::repo_root().join("README.md");
    let readme =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (begin, end) = ("<!-- controls:begin -->\n", "<!-- controls:end -->");
    let start = readme
        .find(begin)
        .expect("README.md has a controls:begin marker")
        + begin.len();
    let stop = readme[start..]
        .find(end)
        .map(|i| start + i)
        .expect("README.md has a controls:end marker");
    let generated = keyaki_controls::docs::summary_table();
    assert_eq!(
        &readme[start..stop],
        generated,
        "the README's controls table is not the registry's: paste `keyaki_controls::docs::summary_table()`"
    );
    for m in keyaki_controls::registry::metas() {
        assert!(generated.contains(m.title), "{}", m.id);
    }
}
