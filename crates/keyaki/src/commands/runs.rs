use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct RunsArgs {}

pub fn run(_global: &Global, _args: RunsArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki runs` is not implemented yet")
}
