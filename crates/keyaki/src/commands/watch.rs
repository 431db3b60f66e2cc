//! `keyaki watch`: a long-running service that keeps the findings store current. It
//! long-polls an SQS queue for the EventBridge events CloudTrail emits for the IAM and KMS
//! calls the controls look at ([`keyaki_aws::events`]), re-reads the resources the events
//! name (`targeted.rs`; the account when an event names less than it changes), re-evaluates
//! the controls and records the result with the lifecycle of `keyaki scan --db` (what was
//! not read is not archived). A full scan runs every
//! `--full-scan-every`.
//!
//! Delivery: a message is deleted only once its result is recorded; a body that is not an
//! event is logged with its message id and left in the queue for its dead-letter policy.
//! The events of one receive are coalesced into one re-evaluation. SIGTERM/SIGINT stop the
//! receiving; the re-evaluation in progress is finished and recorded first.
//!
//! Logs are JSON lines on stderr; `--metrics-addr` serves `/healthz` and `/metrics`
//! (Prometheus text format) on a loopback address.
//!
//! `--organization` (every account of an organization, each entered through its role) and
//! `--security-hub` (the changed findings sent before the messages are deleted) are in
//! [`org`].

mod org;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use keyaki_aws::events::{self, Parsed};
use keyaki_aws::queue::{Message, Queue};
use keyaki_aws::RegionSelection;
use serde_json::{json, Value};

use crate::exit::Code;

use super::Global;

mod targeted;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("assumes_role").args(["role_arn", "organization"]).multiple(true)))]
pub struct WatchArgs {
    /// The SQS queue the EventBridge rule delivers CloudTrail's IAM and KMS events to (also
    /// `KEYAKI_QUEUE_URL`, as the container image takes it).
    #[arg(long, value_name = "URL", env = "KEYAKI_QUEUE_URL")]
    pub queue_url: String,
    /// The findings store to keep current (also `KEYAKI_DB`; default
    /// `$XDG_DATA_HOME/keyaki/findings.db`, else `~/.local/share/keyaki/findings.db`).
    #[arg(long, value_name = "PATH", env = "KEYAKI_DB")]
    pub db: Option<PathBuf>,
    /// Suppression rules (TOML), applied to every recorded evaluation.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    /// A full scan of the account this often (`30m`, `24h`, `7d`; `0` = never), the first
    /// one at start. KMS.4 is periodic in Security Hub, and events can be lost upstream.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_interval)]
    pub full_scan_every: Duration,
    /// Serve `/healthz` and `/metrics` (Prometheus text format) on this loopback address
    /// (`127.0.0.1:9464`). Default: no endpoint.
    #[arg(long, value_name = "ADDR", value_parser = parse_loopback)]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds one receive waits for messages (SQS long polling, 0 to 20).
    #[arg(long, value_name = "SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(i32).range(0..=20))]
    pub wait_time_seconds: i32,
    /// Messages taken per receive (1 to 10).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(i32).range(1..=10))]
    pub max_messages: i32,
    /// Messages whose events are re-evaluated together at most: after a receive, what is
    /// already waiting in the queue is taken too, up to this many, for one re-read.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_batch: u16,
    /// After each recorded evaluation, send the findings it changed (new, changed,
    /// resolved, archived) to AWS Security Hub (`BatchImportFindings`) in the account they
    /// belong to, before the messages are deleted; the region is the first `--region`, else
    /// the configured one. A failed import leaves the messages in the queue.
    #[arg(long)]
    pub security_hub: bool,
    #[command(flatten)]
    pub org: super::organization::OrgArgs,
    #[command(flatten)]
    pub controls: super::scan::ControlArgs,
    /// How to reach AWS: the account re-read, and the queue.
    #[command(flatten, next_help_heading = "AWS")]
    pub aws: super::aws_args::AwsArgs,
}

/// `--full-scan-every`: a number followed by `s`, `m`, `h` or `d`; `0` alone is never.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = t.split_at(t.len().saturating_sub(1));
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: expected a duration such as 30m, 24h or 7d"
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a duration such as 30m, 24h or 7d"))?;
    match n.checked_mul(seconds) {
        Some(s) if s <= 366 * 86_400 => Ok(Duration::from_secs(s)),
        _ => Err(format!("`{text}`: at most a year")),
    }
}

/// `--metrics-addr`: a socket address on loopback (the endpoint has no authentication).
fn parse_loopback(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("`{text}` is not an address such as 127.0.0.1:9464"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "`{text}` is not a loopback address: the endpoint is served on 127.0.0.1 or ::1 only"
        ));
    }
    Ok(addr)
}

/// One JSON object per line on stderr: time, level, message, and the fields given.
fn log(level: &str, msg: &str, fields: Value) {
    let mut line = json!({
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": level,
        "msg": msg,
    });
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    // The whole line in one write: stderr is unbuffered, and a line written piece by piece
    // could be read (by a log shipper following the file) half written.
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
}

/// The counters `/metrics` shows.
#[derive(Default)]
struct Metrics {
    messages_received: AtomicU64,
    events_processed: AtomicU64,
    events_ignored: AtomicU64,
    events_unparsable: AtomicU64,
    /// With `--organization`: events of accounts outside the organization (deleted).
    events_outside: AtomicU64,
    evaluations: AtomicU64,
    /// With `--security-hub`: findings Security Hub imported.
    findings_imported: AtomicU64,
    errors: AtomicU64,
    /// Batches of events re-read resource by resource.
    targeted_rereads: AtomicU64,
    /// Batches of events re-read as the whole account (an event named less than it changes).
    full_rereads: AtomicU64,
    /// Unix time of the last recorded evaluation (0: none yet).
    last_evaluation: AtomicU64,
}

impl Metrics {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Prometheus text exposition format 0.0.4.
    fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        };
        metric(
            "keyaki_watch_messages_received_total",
            "counter",
            "SQS messages received.",
            &self.messages_received,
        );
        metric(
            "keyaki_watch_events_processed_total",
            "counter",
            "Events of IAM and KMS changes whose re-evaluation was recorded.",
            &self.events_processed,
        );
        metric(
            "keyaki_watch_events_ignored_total",
            "counter",
            "Well-formed events of calls the controls do not look at (deleted).",
            &self.events_ignored,
        );
        metric(
            "keyaki_watch_events_unparsable_total",
            "counter",
            "Messages that are not events (left in the queue for its dead-letter policy).",
            &self.events_unparsable,
        );
        metric(
            "keyaki_watch_events_outside_total",
            "counter",
            "Events of accounts outside the organization or excluded from it (deleted).",
            &self.events_outside,
        );
        metric(
            "keyaki_watch_security_hub_imported_total",
            "counter",
            "Changed findings Security Hub imported (--security-hub).",
            &self.findings_imported,
        );
        metric(
            "keyaki_watch_evaluations_total",
            "counter",
            "Re-evaluations and full scans recorded in the findings store.",
            &self.evaluations,
        );
        metric(
            "keyaki_watch_errors_total",
            "counter",
            "Failed receives, re-reads, evaluations, recordings and deletes.",
            &self.errors,
        );
        metric(
            "keyaki_watch_targeted_rereads_total",
            "counter",
            "Batches of events whose re-read was only the resources the events name.",
            &self.targeted_rereads,
        );
        metric(
            "keyaki_watch_full_rereads_total",
            "counter",
            "Batches of events re-read as the whole account (an event may change what it does not name).",
            &self.full_rereads,
        );
        metric(
            "keyaki_watch_last_evaluation_timestamp_seconds",
            "gauge",
            "Unix time of the last recorded evaluation (0: none yet).",
            &self.last_evaluation,
        );
        out
    }
}

pub fn run(global: &Global, args: WatchArgs) -> anyhow::Result<Code> {
    let db = super::findings::DbArgs {
        db: args.db.clone(),
    }
    .path()?;
    // the store and the parameters are checked once, before anything starts
    keyaki_store::Store::open(&db)?;
    let params = super::scan::parameters(&args.controls)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))?;
    let watcher = Watcher {
        global: *global,
        store: super::record::ScanStoreArgs {
            db: Some(db),
            record: false,
            no_store: false,
            suppressions: args.suppressions.clone(),
        },
        params,
        metrics: Arc::new(Metrics::default()),
        account: None,
        org: None,
        hub: None,
        args,
    };
    let code = runtime.block_on(watcher.serve());
    // the work in flight is finished and recorded by now; idle connections and the
    // endpoint are not waited for
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

struct Watcher {
    global: Global,
    args: WatchArgs,
    store: super::record::ScanStoreArgs,
    params: keyaki_controls::Parameters,
    metrics: Arc<Metrics>,
    /// The account the credentials read, once known.
    account: Option<String>,
    /// `--organization`: the organization's accounts.
    org: Option<org::Members>,
    /// `--security-hub`: where the changed findings go.
    hub: Option<org::Hub>,
}

/// What one message turned out to be.
enum Handling {
    Change(events::Change),
    Ignored,
}

impl Watcher {
    async fn serve(mut self) -> anyhow::Result<Code> {
        if let Some(addr) = self.args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let addr = listener.local_addr().unwrap_or(addr);
            log(
                "info",
                "metrics endpoint",
                json!({"addr": addr.to_string()}),
            );
            tokio::spawn(serve_metrics(listener, Arc::clone(&self.metrics)));
        }
        // the queue's region: the first `--region`, else the queue URL's, else the configured
        let region = self
            .args
            .aws
            .regions
            .first()
            .cloned()
            .or_else(|| region_of_queue(&self.args.queue_url));
        let config = keyaki_aws::config::load(&self.args.aws.aws_options(region)).await;
        let queue = Queue::new(&config, &self.args.queue_url);
        self.prepare().await?;
        let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let signal = wait_for_signal().await;
            log("info", "stopping", json!({"signal": signal}));
            let _ = stop_tx.send(true);
        });
        log(
            "info",
            "watching",
            json!({"queue": queue.url(), "full_scan_every_seconds": self.args.full_scan_every.as_secs()}),
        );
        let every = self.args.full_scan_every;
        let mut next_full = (!every.is_zero()).then(Instant::now);
        let first = self
            .args
            .max_messages
            .min(i32::from(self.args.max_batch.min(10)));
        loop {
            if *stop.borrow() {
                break;
            }
            if next_full.is_some_and(|at| Instant::now() >= at) {
                // a failed full scan is tried again at the next interval; events go on
                self.full_scan(&stop).await;
                next_full = Some(Instant::now() + every);
            }
            let received = tokio::select! {
                r = queue.receive(first, self.args.wait_time_seconds) => r,
                _ = stop.changed() => break,
            };
            match received {
                Ok(mut messages) if !messages.is_empty() => {
                    // what else is waiting joins the batch (no wait): one re-read for all
                    let cap = usize::from(self.args.max_batch);
                    while messages.len() < cap && !*stop.borrow() {
                        let room = i32::try_from(cap - messages.len()).unwrap_or(10);
                        match queue.receive(room.min(self.args.max_messages), 0).await {
                            Ok(more) if !more.is_empty() => messages.extend(more),
                            _ => break,
                        }
                    }
                    self.handle(&queue, messages).await
                }
                Ok(_) => {}
                Err(e) => {
                    Metrics::add(&self.metrics.errors, 1);
                    log("error", "receive failed", json!({"error": e.to_string()}));
                    // a queue that cannot be read is not polled in a tight loop
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
        log("info", "stopped", json!({}));
        Ok(Code::Clean)
    }

    /// One batch: parse, coalesce, re-evaluate once, delete what was recorded.
    async fn handle(&mut self, queue: &Queue, messages: Vec<Message>) {
        if self.org.is_some() {
            return self.handle_org(queue, messages).await;
        }
        Metrics::add(&self.metrics.messages_received, messages.len());
        let mut handled: Vec<(Message, Handling)> = Vec::new();
        for m in messages {
            match events::parse(&m.body) {
                Ok(Parsed::Change(c)) => {
                    if let Some(account) = self.account.as_deref().filter(|a| *a != c.account) {
                        // another account's event: this watcher cannot read it; it is left
                        // for the dead-letter queue rather than dropped
                        Metrics::add(&self.metrics.errors, 1);
                        log(
                            "warn",
                            "event of another account left in the queue",
                            json!({"message_id": m.id, "event_account": c.account, "account": account, "event": c.event_name}),
                        );
                        continue;
                    }
                    handled.push((m, Handling::Change(c)));
                }
                Ok(Parsed::Ignored { source, name }) => {
                    log(
                        "debug",
                        "event ignored",
                        json!({"message_id": m.id, "source": source, "event": name}),
                    );
                    handled.push((m, Handling::Ignored));
                }
                Err(e) => {
                    Metrics::add(&self.metrics.events_unparsable, 1);
                    log(
                        "error",
                        "message is not an event; left in the queue",
                        json!({"message_id": m.id, "receive_count": m.receive_count, "error": e.to_string()}),
                    );
                }
            }
        }
        let changes: Vec<&events::Change> = handled
            .iter()
            .filter_map(|(_, h)| match h {
                Handling::Change(c) => Some(c),
                Handling::Ignored => None,
            })
            .collect();
        if !changes.is_empty() {
            for c in &changes {
                log(
                    "info",
                    "event",
                    json!({"event_id": c.event_id, "event": c.event_name, "service": c.service.name(), "account": c.account, "region": c.region, "resource": c.resource, "event_time": c.event_time}),
                );
            }
            let regions: BTreeSet<String> = changes
                .iter()
                .filter(|c| c.service == events::Service::Kms)
                .map(|c| c.region.clone())
                .collect();
            let count = changes.len();
            let accounts: BTreeSet<&str> = changes.iter().map(|c| c.account.as_str()).collect();
            let accounts: Vec<String> = accounts.into_iter().map(str::to_owned).collect();
            match self.reevaluate_and_send(&changes, &regions).await {
                Ok(account) if accounts.iter().all(|a| *a == account) => {
                    Metrics::add(&self.metrics.events_processed, count);
                }
                Ok(account) => {
                    // read before the account was known: the other account's events stay
                    Metrics::add(&self.metrics.errors, 1);
                    log(
                        "warn",
                        "event of another account left in the queue",
                        json!({"account": account, "event_accounts": accounts}),
                    );
                    let processed = handled.iter().filter(|(_, h)| match h {
                        Handling::Change(c) => c.account == account,
                        Handling::Ignored => true,
                    });
                    let processed: Vec<Message> = processed.map(|(m, _)| m.clone()).collect();
                    let ignored = handled
                        .iter()
                        .filter(|(_, h)| matches!(h, Handling::Ignored))
                        .count();
                    Metrics::add(&self.metrics.events_ignored, ignored);
                    Metrics::add(&self.metrics.events_processed, processed.len() - ignored);
                    self.delete(queue, &processed).await;
                    return;
                }
                // not recorded: every message of the batch comes back after its visibility
                // timeout
                Err(()) => return,
            }
        }
        let ignored = handled
            .iter()
            .filter(|(_, h)| matches!(h, Handling::Ignored))
            .count();
        Metrics::add(&self.metrics.events_ignored, ignored);
        let done: Vec<Message> = handled.into_iter().map(|(m, _)| m).collect();
        self.delete(queue, &done).await;
    }

    async fn delete(&self, queue: &Queue, messages: &[Message]) {
        for m in messages {
            if let Err(e) = queue.delete(m).await {
                // the result is recorded: a redelivery re-evaluates to the same state
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "delete failed",
                    json!({"message_id": m.id, "error": e.to_string()}),
                );
            }
        }
    }

    /// Re-reads the account (IAM, and KMS in the configured regions plus `regions`),
    /// evaluates the controls and records the result. Returns the account read.
    async fn evaluate(&mut self, regions: &BTreeSet<String>, why: &str) -> Result<String, ()> {
        let started = Instant::now();
        let mut opts = self.args.aws.collect_options(false);
        if !regions.is_empty() && !self.args.aws.all_regions {
            let mut list: BTreeSet<String> = self.args.aws.regions.iter().cloned().collect();
            list.extend(regions.iter().cloned());
            opts.regions = RegionSelection::List(list.into_iter().collect());
        }
        let snapshot = match keyaki_aws::collect(&opts).await {
            Ok((snapshot, _)) => snapshot,
            Err(e) => {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "re-read failed",
                    json!({"why": why, "error": e.to_string()}),
                );
                return Err(());
            }
        };
        let unread = keyaki_aws::collect::unread(&snapshot);
        if !unread.is_empty() {
            log(
                "warn",
                "not everything could be read (NOT_AVAILABLE, not archived)",
                json!({"unread": unread}),
            );
        }
        let account = snapshot.account_id.clone();
        let read_seconds = started.elapsed().as_secs_f64();
        let global = Global {
            verbose: self.global.verbose,
            quiet: true,
        };
        let store = self.store.clone();
        let mut params = self.params.clone();
        let budget = self.args.controls.budget;
        let (findings, failed) = self
            .evaluate_and_record(json!({"why": why}), move || {
                let input = keyaki_controls::input::from_snapshot("live account", &snapshot)?;
                drop(snapshot);
                let scope = super::record::ScanScope::of(&input);
                params.deadline = Some(Instant::now() + budget);
                let mut report = keyaki_controls::evaluate_owned(input, &params)?;
                super::record::record_scan(&global, &store, scope, &mut report)?;
                Ok((report.findings.len(), failed_count(&report)))
            })
            .await?;
        log(
            "info",
            "recorded",
            json!({"why": why, "account": account, "regions": regions, "findings": findings, "failed": failed,
                   "read_seconds": read_seconds, "seconds": started.elapsed().as_secs_f64()}),
        );
        self.account = Some(account.clone());
        Ok(account)
    }

    /// Runs `work`, an evaluation and its record (blocking work: off the runtime), and
    /// counts what came of it: a recorded evaluation, or an error logged with `context`.
    async fn evaluate_and_record<T: Send + 'static>(
        &self,
        context: Value,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, ()> {
        let (msg, error) = match tokio::task::spawn_blocking(work).await {
            Ok(Ok(value)) => {
                Metrics::add(&self.metrics.evaluations, 1);
                self.metrics.last_evaluation.store(
                    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0),
                    Ordering::Relaxed,
                );
                return Ok(value);
            }
            Ok(Err(e)) => ("evaluation or recording failed", format!("{e:#}")),
            Err(e) => ("evaluation stopped", e.to_string()),
        };
        Metrics::add(&self.metrics.errors, 1);
        let mut fields = context;
        if let Some(fields) = fields.as_object_mut() {
            fields.insert("error".into(), Value::String(error));
        }
        log("error", msg, fields);
        Err(())
    }
}

/// How many of a report's findings are FAILED.
fn failed_count(report: &keyaki_controls::finding::ScanReport) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.status == keyaki_controls::finding::Status::Failed)
        .count()
}

/// The region in an SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
fn region_of_queue(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut parts = host.split('.');
    match (parts.next(), parts.next()) {
        (Some("sqs"), Some(region)) if region.contains('-') => Some(region.to_string()),
        _ => None,
    }
}

/// Waits for SIGTERM or SIGINT; names the one received.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// A minimal HTTP/1.1 responder: `GET /healthz` and `GET /metrics`, one request per
/// connection.
async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(stream, &metrics)).await;
        });
    }
}

async fn answer(mut stream: tokio::net::TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let (status, kind, body) = respond(&request, metrics);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The answer to one request: status line, content type, body.
fn respond(request: &[u8], metrics: &Metrics) -> (&'static str, &'static str, String) {
    let line = request
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split(' ');
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != "GET" {
        return ("405 Method Not Allowed", TEXT, "GET only\n".into());
    }
    match path.split('?').next().unwrap_or("") {
        "/healthz" => ("200 OK", TEXT, "ok\n".into()),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        _ => ("404 Not Found", TEXT, "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_units_and_zero_means_never() {
        assert_eq!(parse_interval("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_interval("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_interval("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_interval("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert!(parse_interval("24").is_err());
        assert!(parse_interval("h").is_err());
        assert!(parse_interval("-1h").is_err());
        assert!(parse_interval("999999d").is_err());
    }

    #[test]
    fn the_queue_region_is_read_from_its_url() {
        assert_eq!(
            region_of_queue("https://sqs.eu-west-3.amazonaws.com/111122223333/q").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            region_of_queue("http://127.0.0.1:5000/111122223333/q"),
            None
        );
    }

    #[test]
    fn the_endpoint_is_loopback_only() {
        assert!(parse_loopback("127.0.0.1:9464").is_ok());
        assert!(parse_loopback("[::1]:9464").is_ok());
        assert!(parse_loopback("0.0.0.0:9464").is_err());
        assert!(parse_loopback("10.0.0.1:9464").is_err());
        assert!(parse_loopback("localhost").is_err());
    }

    #[test]
    fn metrics_are_in_prometheus_text_format() {
        let m = Metrics::default();
        Metrics::add(&m.messages_received, 3);
        Metrics::add(&m.events_unparsable, 1);
        let (status, kind, body) = respond(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &m);
        assert_eq!(status, "200 OK");
        assert!(kind.starts_with("text/plain; version=0.0.4"));
        assert!(body.contains("# TYPE keyaki_watch_messages_received_total counter\nkeyaki_watch_messages_received_total 3\n"));
        assert!(body.contains("keyaki_watch_events_unparsable_total 1\n"));
        assert!(body.contains(
            "# TYPE keyaki_watch_last_evaluation_timestamp_seconds gauge\nkeyaki_watch_last_evaluation_timestamp_seconds 0\n"
        ));
        assert_eq!(respond(b"GET /healthz HTTP/1.1\r\n\r\n", &m).0, "200 OK");
        assert_eq!(respond(b"GET /x HTTP/1.1\r\n\r\n", &m).0, "404 Not Found");
        assert_eq!(
            respond(b"POST /metrics HTTP/1.1\r\n\r\n", &m).0,
            "405 Method Not Allowed"
        );
    }
}
