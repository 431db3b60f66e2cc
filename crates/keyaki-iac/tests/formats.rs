//! A scan of the hand-made examples (`examples/iac/`: a CDK assembly, a CloudFormation
//! template, a change set and a Terraform plan) in every format: snapshots, and each
//! format checked against its schema; SARIF results carry a `physicalLocation`.

mod support;

use keyaki_controls::finding::ScanReport;
use keyaki_controls::Parameters;
use keyaki_iac::{cdk, cfn, evaluate_scenarios, evaluate_stack, merge, terraform, Settings};
use keyaki_report::{Format, Options};
use serde_json::Value;

const ROOT: &str = "examples/iac";

fn read(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The examples scanned as `keyaki scan --input examples/iac` does (paths relative to the
/// repository root).
pub fn examples_report() -> ScanReport {
    let params = Parameters::default();
    let settings = Settings::default();
    let mut reports = Vec::new();
    let manifest = format!("{ROOT}/cdk.out/manifest.json");
    for a in cdk::read_manifest(&manifest, &read(&manifest), &settings).expect("manifest") {
        let cdk::Artifact::Stack(s) = a else { continue };
        let file = format!("{ROOT}/cdk.out/{}", s.template);
        let mut stacks = cfn::read_text(&file, &read(&file), &s.settings).expect("template");
        for st in &mut stacks {
            cdk::name_resources(st, &s.paths);
        }
        reports.push(evaluate_scenarios(&stacks, &params, support::TIME).expect("evaluates"));
    }
    let file = format!("{ROOT}/cloudformation/app.yaml");
    let stacks = cfn::read_text(&file, &read(&file), &settings).expect("template");
    reports.push(evaluate_scenarios(&stacks, &params, support::TIME).expect("evaluates"));
    let file = format!("{ROOT}/cloudformation/changeset.json");
    let root = keyaki_iac::source::parse(&read(&file)).expect("parses");
    let stack = cfn::changeset::read(&file, &root, &settings).expect("change set");
    reports.push(evaluate_stack(&stack, &params, support::TIME).expect("evaluates"));
    let file = format!("{ROOT}/terraform/plan.json");
    let stack = terraform::read(&file, &read(&file), &settings).expect("plan");
    reports.push(evaluate_stack(&stack, &params, support::TIME).expect("evaluates"));
    merge(reports, support::TIME)
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    let options = Options {
        show_not_applicable: true,
        ..Options::default()
    };
    keyaki_report::write(&examples_report(), format, &options, &mut out).expect("writes");
    String::from_utf8(out).expect("UTF-8")
}

fn schema(rel: &str) -> Value {
    serde_json::from_str(&read(&format!("schemas/{rel}"))).expect("schema JSON")
}

fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let compiled = jsonschema::JSONSchema::compile(schema).expect("the schema compiles");
    let list: Vec<String> = match compiled.validate(instance) {
        Ok(()) => return,
        Err(errors) => errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect(),
    };
    panic!("{what} does not validate:\n{}", list.join("\n"));
}

#[test]
fn snapshots_of_every_format() {
    for format in Format::ALL {
        insta::assert_snapshot!(format!("examples_{}", format.name()), render(format));
    }
}

#[test]
fn json_follows_the_findings_schema_with_id_and_location() {
    let json: Value = serde_json::from_str(&render(Format::Json)).expect("JSON");
    assert_valid(
        &schema("keyaki-findings.schema.json"),
        &json,
        "--format json",
    );
    for f in json["findings"].as_array().expect("findings") {
        assert!(f["resource"]["id"].is_string(), "{f}");
        let at = &f["resource"]["location"];
        assert!(
            at["file"].as_str().is_some_and(|p| p.starts_with(ROOT)),
            "{f}"
        );
        assert!(at["line"].as_u64().is_some_and(|l| l >= 1), "{f}");
    }
}

#[test]
fn sarif_follows_its_schema_and_annotates_lines() {
    let sarif: Value = serde_json::from_str(&render(Format::Sarif)).expect("JSON");
    assert_valid(
        &schema("vendor/sarif-2.1.0-rtm.5.json"),
        &sarif,
        "--format sarif",
    );
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let physical = &r["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"]
            .as_str()
            .expect("a file");
        assert!(
            uri.starts_with(ROOT),
            "relative to the working directory: {uri}"
        );
        assert!(
            physical["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1),
            "{r}"
        );
    }
    // The failing CDK policy is annotated on the statement that grants.
    let batch = results
        .iter()
        .find(|r| r["properties"]["resourceId"] == "BatchRole0C1D2E3F")
        .expect("the batch role");
    assert_eq!(batch["level"], "error");
    let line = batch["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .expect("a line") as usize;
    let text = read(&format!("{ROOT}/cdk.out/PaymentsStack.template.json"));
    // The statement object opens on that line; its first member is the granting action.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[line - 1].trim(), "{", "line {line}");
    assert!(
        lines[line].contains("\"Action\": [\"kms:Decrypt\", \"kms:DescribeKey\"]"),
        "line {}: {}",
        line + 1,
        lines[line]
    );
}

#[test]
fn ocsf_follows_its_schema() {
    let ocsf: Value = serde_json::from_str(&render(Format::Ocsf)).expect("JSON");
    let schema = schema("vendor/ocsf-1.6.0-compliance_finding.schema.json");
    for (i, event) in ocsf.as_array().expect("events").iter().enumerate() {
        assert_valid(&schema, event, &format!("OCSF event {i}"));
    }
}

#[test]
fn csv_has_the_source_columns_last() {
    let csv = render(Format::Csv);
    let header = csv.lines().next().expect("a header");
    assert!(
        header.ends_with(",resource_id,file,line,column"),
        "{header}"
    );
}

#[test]
fn table_shows_file_and_line() {
    let table = render(Format::Table);
    assert!(
        table.contains("examples/iac/cloudformation/changeset.json:5 LegacyKey"),
        "{table}"
    );
}
