//! Processes the moto tests start: the fault-injecting proxy and private moto servers.
//! Shared by this crate's tests and the binary's (`#[path]` include).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The venv python from `KEYAKI_PYTHON` (set by scripts/test.sh).
pub fn python() -> PathBuf {
    match std::env::var_os("KEYAKI_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "KEYAKI_PYTHON is not set: these tests need the venv with moto; \
             run them through scripts/test.sh"
        ),
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keyaki-aws/tests/support/fault_proxy.py")
}

/// A running fault proxy; killed on drop.
pub struct Proxy {
    child: Child,
    pub endpoint: String,
    /// `REQ <service> <operation> <region>` lines (with `--log`).
    pub requests: mpsc::Receiver<String>,
}

impl Proxy {
    pub fn start(upstream: &str, args: &[&str]) -> Proxy {
        let mut child = Command::new(python())
            .arg(script())
            .arg("--upstream")
            .arg(upstream)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start the fault proxy: {e}"));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("fault proxy: no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("fault proxy exited before listening"));
        let port = first
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("fault proxy said `{first}`"))
            .trim()
            .to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if tx.send(line).is_err() {
                    // nobody listens any more: keep draining so the proxy never blocks
                }
            }
        });
        Proxy {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            requests: rx,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A private moto server (for tests that kill it); killed on drop.
pub struct Moto {
    child: Option<Child>,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// A private moto server with extra environment variables (moto's settings, such as
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let python = python();
        let moto_server = python.with_file_name("moto_server");
        let port = free_port();
        let child = Command::new(&moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{}`: {e}", moto_server.display()));
        let mut moto = Moto {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Some(c) = moto.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("private moto server exited: {status}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "private moto server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}
