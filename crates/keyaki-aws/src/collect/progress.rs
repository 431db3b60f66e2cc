//! Progress on stderr while collecting (regions and keys done/total); hidden unless asked
//! for (the binary asks when stderr is a terminal and `--quiet` is not given).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone)]
pub(crate) struct Progress {
    regions: ProgressBar,
    keys: ProgressBar,
}

impl Progress {
    pub(crate) fn new(visible: bool, regions: u64) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let regions_bar = multi.add(ProgressBar::new(regions));
        regions_bar.set_style(style.clone());
        regions_bar.set_prefix("regions");
        let keys = multi.add(ProgressBar::new(0));
        keys.set_style(style);
        keys.set_prefix("keys");
        Progress {
            regions: regions_bar,
            keys,
        }
    }

    pub(crate) fn keys_found(&self, n: u64) {
        self.keys.inc_length(n);
    }

    pub(crate) fn key_done(&self) {
        self.keys.inc(1);
    }

    pub(crate) fn region_done(&self, region: &str) {
        self.regions.inc(1);
        self.regions.set_message(region.to_string());
    }

    pub(crate) fn message(&self, msg: &str) {
        self.regions.set_message(msg.to_string());
    }

    pub(crate) fn finish(&self) {
        self.regions.finish_and_clear();
        self.keys.finish_and_clear();
    }
}
