use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {}

pub fn run(_global: &Global, _args: PolicyArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki policy` is not implemented yet")
}
