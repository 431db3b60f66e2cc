//! `keyaki controls`: the registry of controls and their metadata.
//! `--format markdown` prints the page committed as `docs/controls.md`.

use std::io::Write;

use anyhow::Context as _;
use keyaki_controls::registry;

use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct ControlsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ControlsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ControlsFormat {
    Table,
    Json,
    Markdown,
}

pub fn run(_global: &Global, args: ControlsArgs) -> anyhow::Result<Code> {
    let text = match args.format {
        ControlsFormat::Markdown => keyaki_controls::docs::markdown(),
        ControlsFormat::Json => {
            let metas: Vec<_> = registry::metas().collect();
            let mut s = serde_json::to_string_pretty(&serde_json::json!({ "controls": metas }))?;
            s.push('\n');
            s
        }
        ControlsFormat::Table => table(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    Ok(Code::Clean)
}

fn table() -> String {
    let rows: Vec<[String; 5]> = registry::metas()
        .map(|m| {
            [
                m.id.to_owned(),
                m.severity.as_str().to_owned(),
                m.resource_types.join(", "),
                m.parameters
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.default))
                    .collect::<Vec<_>>()
                    .join("; "),
                m.title.to_owned(),
            ]
        })
        .collect();
    let header = ["ID", "SEVERITY", "RESOURCE TYPES", "PARAMETERS", "TITLE"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}
