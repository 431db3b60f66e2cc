use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {}

pub fn run(_global: &Global, _args: ExportArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki export` is not implemented yet")
}
