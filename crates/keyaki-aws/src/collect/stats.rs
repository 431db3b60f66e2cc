//! Counting and logging API calls: an SDK interceptor attached to every client the
//! collector builds. It sees each execution (one API call as the program asks for it)
//! and each attempt (retries included), logs the call at `info` level (operation and
//! region, never a credential) and counts both for `--stats`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls and attempts of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationCount {
    /// API calls the collector made.
    pub calls: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
}

impl OperationCount {
    /// Attempts beyond the first of each call.
    pub fn retries(&self) -> u64 {
        self.attempts.saturating_sub(self.calls)
    }
}

/// What a collection cost: API calls by operation, retries, wall time per phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectStats {
    /// By `service:Operation`, e.g. `kms:DescribeKey`.
    pub operations: BTreeMap<String, OperationCount>,
    /// Phases in the order they started, with their wall time.
    pub phases: Vec<(String, Duration)>,
    /// Wall time of the whole collection.
    pub total: Duration,
}

impl CollectStats {
    /// API calls made, all operations.
    pub fn calls(&self) -> u64 {
        self.operations.values().map(|c| c.calls).sum()
    }

    /// Retries made, all operations.
    pub fn retries(&self) -> u64 {
        self.operations.values().map(|c| c.retries()).sum()
    }
}

impl fmt::Display for CollectStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "API calls by operation:")?;
        for (op, count) in &self.operations {
            writeln!(
                f,
                "  {op:<40} {:>7} calls {:>5} retries",
                count.calls,
                count.retries()
            )?;
        }
        writeln!(
            f,
            "  {:<40} {:>7} calls {:>5} retries",
            "total",
            self.calls(),
            self.retries()
        )?;
        writeln!(f, "wall time by phase:")?;
        for (phase, took) in &self.phases {
            writeln!(f, "  {phase:<40} {:>9.3} s", took.as_secs_f64())?;
        }
        write!(f, "  {:<40} {:>9.3} s", "total", self.total.as_secs_f64())
    }
}

/// Shared counters, filled by [`CallLog`] interceptors.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    operations: Mutex<BTreeMap<String, OperationCount>>,
}

impl Recorder {
    fn bump(&self, op: String, call: bool) {
        // A poisoned lock only means another thread panicked while counting: keep counting.
        let mut ops = match self.operations.lock() {
            Ok(ops) => ops,
            Err(poisoned) => poisoned.into_inner(),
        };
        let count = ops.entry(op).or_default();
        if call {
            count.calls += 1;
        } else {
            count.attempts += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, OperationCount> {
        match self.operations.lock() {
            Ok(ops) => ops.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The interceptor: one per client, labelled with the client's region.
#[derive(Debug, Clone)]
pub(crate) struct CallLog {
    pub(crate) region: String,
    pub(crate) recorder: Arc<Recorder>,
}

fn operation(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(meta) => format!("{}:{}", meta.service().to_ascii_lowercase(), meta.name()),
        None => "unknown".to_string(),
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "KeyakiCallLog"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation(cfg);
        tracing::info!(operation = %op, region = %self.region, "aws call");
        self.recorder.bump(op, true);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation(cfg);
        self.recorder.bump(op, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_attempts_beyond_calls() {
        let recorder = Recorder::default();
        recorder.bump("kms:ListKeys".into(), true);
        recorder.bump("kms:ListKeys".into(), false);
        recorder.bump("kms:ListKeys".into(), false);
        recorder.bump("kms:DescribeKey".into(), true);
        recorder.bump("kms:DescribeKey".into(), false);
        let stats = CollectStats {
            operations: recorder.snapshot(),
            ..CollectStats::default()
        };
        assert_eq!(stats.calls(), 2);
        assert_eq!(stats.retries(), 1);
        assert_eq!(stats.operations["kms:ListKeys"].retries(), 1);
        let text = stats.to_string();
        assert!(text.contains("kms:ListKeys"), "{text}");
    }
}
