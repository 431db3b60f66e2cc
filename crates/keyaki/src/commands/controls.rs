use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct ControlsArgs {}

pub fn run(_global: &Global, _args: ControlsArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki controls` is not implemented yet")
}
