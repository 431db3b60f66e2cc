//! `keyaki watch` as a child process, for the tests that run it against moto
//! (`watch_moto.rs`, `watch_org_moto.rs`): its start command, its JSON log, its metrics
//! endpoint and its stop.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing;
use serde_json::Value;

/// The longest a change may take to show (the events are re-read within a second or two;
/// the bound only keeps a broken build from hanging).
pub const PATIENCE: Duration = Duration::from_secs(90);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `keyaki watch` on `queue` through `endpoint`, recording into `db`, isolated from the
/// machine's AWS endpoint and store, polling for a second at a time, with its metrics
/// endpoint on a free loopback port.
pub fn command(endpoint: &str, queue: &str, db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    cmd.env_remove("AWS_ENDPOINT_URL")
        .env_remove("KEYAKI_DB")
        .args(["watch", "--queue-url", queue, "--endpoint-url", endpoint])
        .args(["--region", testing::REGION_A])
        .args(["--wait-time-seconds", "1", "--metrics-addr", "127.0.0.1:0"])
        .arg("--db")
        .arg(db);
    cmd
}

/// `keyaki watch` of `account`, entered through `--role-arn`, with `extra` options; its log
/// into `log`.
pub fn start_in(
    account: &str,
    endpoint: &str,
    queue: &str,
    db: &Path,
    log: PathBuf,
    extra: &[&str],
) -> Watch {
    let mut cmd = command(endpoint, queue, db);
    cmd.args(["--role-arn", &testing::role_in(account)])
        .args(extra);
    Watch::spawn(cmd, log)
}

/// A running `keyaki watch`, killed when dropped.
pub struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    /// Starts `cmd`, its stderr (the JSON log) into `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Watch {
        let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("keyaki watch: {e}"));
        Watch { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log lines written so far; every line must be one JSON object (a last line
    /// still being written is read next time).
    pub fn lines(&self) -> Vec<Value> {
        let log = self.log();
        let written = &log[..log.rfind('\n').map_or(0, |end| end + 1)];
        written
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Polls `probe` until it gives a value, at most [`PATIENCE`]; on time out the log is
    /// shown.
    pub fn wait_for<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(v) = probe() {
                return v;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The address of the metrics endpoint, from the log.
    pub fn metrics_addr(&self) -> String {
        self.wait_for("the metrics endpoint", || {
            self.lines()
                .iter()
                .find(|l| l["msg"] == "metrics endpoint")
                .and_then(|l| l["addr"].as_str().map(str::to_owned))
        })
    }

    /// The answer of `GET /metrics`.
    pub fn metrics(&self) -> String {
        http_get(&self.metrics_addr(), "/metrics")
    }

    /// Sends SIGTERM and waits for the exit: its status and how long it took.
    pub fn terminate(mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(sent.success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap_or(None) {
                return (status.code(), started.elapsed());
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("keyaki watch did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 `GET` of `path` on `addr`: the whole answer, head and body.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut stream =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("read: {e}"));
    answer
}

/// A counter's value in a Prometheus text answer.
pub fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}
