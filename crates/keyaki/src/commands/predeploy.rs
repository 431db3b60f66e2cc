//! `keyaki scan --input PATH` on infrastructure code, before deploy: CloudFormation
//! templates, CDK cloud assemblies, Terraform plans and change sets (`keyaki-iac`).
//!
//! A file is read (within the size limits), its kind detected from its content; a keyaki
//! snapshot or authorization details go the account way instead ([`Loaded::Account`]). A
//! directory is walked in sorted order: a directory holding a CDK `manifest.json` is an
//! assembly; other `*.json`, `*.yaml`, `*.yml`, `*.template` files are read when they are
//! one of the pre-deploy inputs and skipped otherwise (hidden directories and
//! `node_modules` are not entered). Paths in findings are relative to the working
//! directory, as code scanning wants them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use keyaki_controls::finding::ScanReport;
use keyaki_controls::{Parameters, StagedAccount};
use keyaki_iac::{cdk, cfn, terraform, Kind, Settings};

use super::Global;
use keyaki_report::text::printable;

/// Values unknown before deploy.
#[derive(Debug, Clone, clap::Args)]
#[command(
    next_help_heading = "Before deploy (templates, CDK assemblies, Terraform plans, change sets)"
)]
pub struct PredeployArgs {
    /// The account of `AWS::AccountId` (default: 123456789012, and ARNs are not reported
    /// as known).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// The partition of `AWS::Partition` (default: from the region, `aws`).
    #[arg(long, value_name = "PARTITION")]
    pub partition: Option<String>,
    /// The region of `AWS::Region` (default: us-east-1).
    #[cfg(not(feature = "aws"))]
    #[arg(long = "region", value_name = "REGION")]
    pub region: Option<String>,
    /// A template parameter's value, `Name=Value` (repeatable; wins over its `Default`).
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Template parameter values in the AWS CLI's form
    /// `[{"ParameterKey": "Name", "ParameterValue": "Value"}, ...]`.
    #[arg(long = "parameters", value_name = "FILE")]
    pub parameters_file: Option<PathBuf>,
}

impl PredeployArgs {
    fn any(&self) -> bool {
        self.account.is_some()
            || self.partition.is_some()
            || !self.parameters.is_empty()
            || self.parameters_file.is_some()
    }

    /// The settings, `region` coming from `--region`.
    pub fn settings(&self, region: Option<String>) -> anyhow::Result<Settings> {
        let mut parameters = BTreeMap::new();
        if let Some(path) = &self.parameters_file {
            let name = path.display();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
            parameters = Settings::parameters_from_json(&text)
                .map_err(|e| anyhow::anyhow!("`{name}`: {e}"))?;
        }
        for p in &self.parameters {
            let Some((k, v)) = p.split_once('=') else {
                bail!("`--parameter {p}`: expected `Name=Value`");
            };
            if k.trim().is_empty() {
                bail!("`--parameter {p}`: the name is empty");
            }
            parameters.insert(k.trim().to_owned(), v.to_owned());
        }
        if let Some(a) = &self.account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                bail!("`--account {a}`: not a 12-digit AWS account id");
            }
        }
        Ok(Settings {
            account: self.account.clone(),
            region,
            partition: self.partition.clone(),
            parameters,
            stack_name: None,
        })
    }
}

/// What `--input` turned out to be.
pub enum Loaded {
    /// A keyaki snapshot or authorization details: evaluated as an account (a snapshot
    /// file's keys are read region by region as they are judged).
    Account(StagedAccount<'static>),
    /// Templates, assemblies, plans or change sets, already evaluated; with the broken
    /// symbolic links met in the directory (unless ignored), each also a problem of the
    /// report: the scan reports what it read, then fails.
    PreDeploy(ScanReport, Vec<String>),
}

/// Reads `--input`.
pub fn load(
    global: &Global,
    path: &Path,
    args: &PredeployArgs,
    region: Option<String>,
    params: &Parameters,
    ignore_broken_links: bool,
) -> anyhow::Result<Loaded> {
    let settings = args.settings(region)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut scan = Scan {
        settings: &settings,
        params,
        now: &now,
        reports: Vec::new(),
        skipped: 0,
        broken: Vec::new(),
    };
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.is_dir() {
        if path.join("manifest.json").is_file() && scan.assembly(path)? {
            // a cloud assembly
        } else {
            scan.walk(path)?;
        }
        if ignore_broken_links {
            for (_, message) in scan.broken.drain(..) {
                eprintln!("keyaki: warning: skipped {}", printable(&message));
            }
        } else if scan.reports.is_empty() && !scan.broken.is_empty() {
            let messages: Vec<&str> = scan.broken.iter().map(|(_, m)| m.as_str()).collect();
            bail!("{}", messages.join("; "));
        }
        if scan.reports.is_empty() {
            bail!(
                "`{}`: no CloudFormation template, CDK assembly, Terraform plan or change set found",
                path.display()
            );
        }
    } else {
        let text = read_limited(path)?;
        let kind = match keyaki_iac::detect(&text) {
            Ok(kind) => kind,
            // Text that does not parse: a template's error when it says it is one, else
            // the account reader says what is wrong (as for any snapshot).
            Err(e) if looks_like_template(&text) => bail!(
                "`{}`:{}:{}: {}",
                shown(path),
                e.at.line,
                e.at.column,
                e.message
            ),
            Err(_) => Kind::Other,
        };
        if kind == Kind::Other {
            if args.any() {
                bail!("`--account`, `--partition` and `--parameter` apply to templates, plans and change sets, not to `{}`", path.display());
            }
            let name = path.display().to_string();
            // The text is handed over: a large snapshot's text is dropped before its
            // account is built, its large members read again from the file one by one
            // (the keys only once the IAM data is judged and dropped).
            return Ok(Loaded::Account(keyaki_controls::input::open_file(
                &name, path, text,
            )?));
        }
        if kind == Kind::CdkManifest {
            let dir = path.parent().unwrap_or(Path::new("."));
            scan.assembly(dir)?;
        } else {
            scan.file(path, &text, kind, None)?;
        }
    }
    if scan.skipped > 0 && !global.quiet {
        eprintln!(
            "keyaki: note: {} file{} skipped: not a template, plan, change set or CDK assembly",
            scan.skipped,
            if scan.skipped == 1 { "" } else { "s" }
        );
    }
    let mut report = keyaki_iac::merge(scan.reports, &now);
    let broken: Vec<String> = scan.broken.iter().map(|(path, _)| path.clone()).collect();
    report.problems.extend(
        scan.broken.into_iter().map(
            |(location, message)| keyaki_controls::finding::InputProblem { location, message },
        ),
    );
    Ok(Loaded::PreDeploy(report, broken))
}

struct Scan<'a> {
    settings: &'a Settings,
    params: &'a Parameters,
    now: &'a str,
    reports: Vec<ScanReport>,
    skipped: usize,
    /// Symbolic links met in a directory that lead nowhere (as findings show paths), and
    /// why.
    broken: Vec<(String, String)>,
}

impl Scan<'_> {
    fn file(
        &mut self,
        path: &Path,
        text: &str,
        kind: Kind,
        cdk: Option<&cdk::CdkStack>,
    ) -> anyhow::Result<()> {
        let file = shown(path);
        let settings = cdk.map_or(self.settings, |c| &c.settings);
        let report = match kind {
            Kind::Template => {
                if text.len() as u64 > keyaki_iac::MAX_TEMPLATE_BYTES {
                    bail!("`{file}` is larger than 1 MiB, CloudFormation's limit for a template");
                }
                let mut stacks = cfn::read_text(&file, text, settings)?;
                if let Some(c) = cdk {
                    for s in &mut stacks {
                        cdk::name_resources(s, &c.paths);
                    }
                }
                keyaki_iac::evaluate_scenarios(&stacks, self.params, self.now)?
            }
            Kind::TerraformPlan => {
                let stack = terraform::read(&file, text, settings)?;
                keyaki_iac::evaluate_stack(&stack, self.params, self.now)?
            }
            Kind::ChangeSet => {
                let root = keyaki_iac::source::parse(text).map_err(|e| {
                    anyhow::anyhow!("`{file}`:{}:{}: {}", e.at.line, e.at.column, e.message)
                })?;
                let stack = cfn::changeset::read(&file, &root, settings)?;
                keyaki_iac::evaluate_stack(&stack, self.params, self.now)?
            }
            Kind::CdkManifest | Kind::Other => return Ok(()),
        };
        self.reports.push(report);
        Ok(())
    }

    /// A cloud assembly (and its nested ones). `false` when `manifest.json` is not one.
    fn assembly(&mut self, dir: &Path) -> anyhow::Result<bool> {
        let manifest = dir.join("manifest.json");
        let text = read_limited(&manifest)?;
        if keyaki_iac::detect(&text).ok() != Some(Kind::CdkManifest) {
            return Ok(false);
        }
        for artifact in cdk::read_manifest(&shown(&manifest), &text, self.settings)? {
            match artifact {
                cdk::Artifact::Stack(stack) => {
                    let path = dir.join(&stack.template);
                    let text = read_limited(&path)?;
                    self.file(&path, &text, Kind::Template, Some(&stack))?;
                }
                cdk::Artifact::Assembly(sub) => {
                    self.assembly(&dir.join(sub))?;
                }
            }
        }
        Ok(true)
    }

    /// Every pre-deploy input below `dir`, in sorted order.
    fn walk(&mut self, dir: &Path) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read directory `{}`", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if name.starts_with('.') || name == "node_modules" {
                    continue;
                }
                if path.join("manifest.json").is_file() && self.assembly(&path)? {
                    continue;
                }
                self.walk(&path)?;
                continue;
            }
            let wanted = [".json", ".yaml", ".yml", ".template"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if !wanted {
                continue;
            }
            if !(meta.is_file() || std::fs::metadata(&path).is_ok_and(|m| m.is_file())) {
                if let Some(why) = crate::input::broken_link(&path) {
                    self.broken.push((shown(&path), why));
                }
                continue;
            }
            let text = read_limited(&path)?;
            match keyaki_iac::detect(&text) {
                Ok(Kind::Other) | Ok(Kind::CdkManifest) => self.skipped += 1,
                Ok(kind) => self.file(&path, &text, kind, None)?,
                // A file that does not parse is a template with an error when it says it is
                // one; anything else (Helm charts, ...) is not ours.
                Err(e) if looks_like_template(&text) => bail!(
                    "`{}`:{}:{}: {}",
                    shown(&path),
                    e.at.line,
                    e.at.column,
                    e.message
                ),
                Err(_) => self.skipped += 1,
            }
        }
        Ok(())
    }
}

fn looks_like_template(text: &str) -> bool {
    text.contains("AWSTemplateFormatVersion")
        || text.contains("Type: AWS::")
        || text.contains("\"Type\": \"AWS::")
}

/// Reads a file of at most [`keyaki_iac::MAX_PLAN_BYTES`].
fn read_limited(path: &Path) -> anyhow::Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    // Room for the whole file at once (no second buffer while it grows).
    let size = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(size.min(keyaki_iac::MAX_PLAN_BYTES) as usize + 1);
    file.take(keyaki_iac::MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if bytes.len() as u64 > keyaki_iac::MAX_PLAN_BYTES {
        bail!(
            "`{}` is larger than {} MiB",
            path.display(),
            keyaki_iac::MAX_PLAN_BYTES >> 20
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "`{}`: invalid UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The path as findings show it: relative to the working directory when it is below it.
fn shown(path: &Path) -> String {
    if path.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = path.strip_prefix(&cwd) {
                return rel.display().to_string();
            }
        }
    }
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}
