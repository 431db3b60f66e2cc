use crate::exit::Code;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct FindingsArgs {}

pub fn run(_global: &Global, _args: FindingsArgs) -> anyhow::Result<Code> {
    anyhow::bail!("`keyaki findings` is not implemented yet")
}
