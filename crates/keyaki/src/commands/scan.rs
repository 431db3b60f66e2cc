use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {}

pub fn run(_global: &Global, _args: ScanArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki scan` is not implemented yet")
}
