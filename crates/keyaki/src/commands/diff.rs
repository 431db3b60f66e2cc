use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {}

pub fn run(_global: &Global, _args: DiffArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki diff` is not implemented yet")
}
