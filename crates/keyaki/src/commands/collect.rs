use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {}

pub fn run(_global: &Global, _args: CollectArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki collect` is not implemented yet")
}
