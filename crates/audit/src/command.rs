//! The audited command: placeholders substituted literally into its arguments (no shell), run
//! with stdin closed, a timeout (then killed), and bounded tails of its stdout and stderr.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use crate::verdict::ProcessEnd;

/// Most bytes of stdout and of stderr kept per case (the tail).
pub const TAIL_BYTES: usize = 4096;
/// How long the harness waits for the output pipes to close after the process ended (a child
/// of the command may hold them open).
const PIPE_GRACE: Duration = Duration::from_secs(1);
/// How long the harness waits for a killed process to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// The values of the placeholders for one case.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Placeholders {
    /// `{host}`: the IP address the mock server listens on.
    pub host: String,
    /// `{port}`: its port.
    pub port: u16,
    /// `{name}`: the name the certificate is issued for.
    pub name: String,
    /// `{ca}`: PEM file of what a correct client must trust.
    pub ca: PathBuf,
    /// `{crl}`: PEM file of the CRLs a correct client is given.
    pub crl: PathBuf,
    /// `{client_cert}`: PEM file of a client certificate chain the server trusts.
    pub client_cert: PathBuf,
    /// `{client_key}`: its private key.
    pub client_key: PathBuf,
    /// `{dialect}`: `smtp`, `imap`, `pop3`, `framed` or `implicit`.
    pub dialect: String,
}

/// What the harness saw of one run of the command.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ProcessRun {
    /// The arguments after substitution, the program first.
    pub argv: Vec<String>,
    /// How it ended.
    pub end: ProcessEnd,
    /// How long it ran.
    pub duration: Duration,
    /// The last [`TAIL_BYTES`] of stdout (lossy UTF-8).
    pub stdout_tail: String,
    /// The last [`TAIL_BYTES`] of stderr (lossy UTF-8).
    pub stderr_tail: String,
    /// Why it could not be started, when it could not.
    pub spawn_error: Option<String>,
}

/// The placeholder names, as they appear in a command.
pub const PLACEHOLDERS: [&str; 8] = [
    "{host}",
    "{port}",
    "{name}",
    "{ca}",
    "{crl}",
    "{client_cert}",
    "{client_key}",
    "{dialect}",
];

impl Placeholders {
    /// Substitutes every placeholder in `arg`, literally.
    pub fn substitute(&self, arg: &str) -> String {
        let port = self.port.to_string();
        let values = [
            self.host.as_str(),
            port.as_str(),
            self.name.as_str(),
            &self.ca.display().to_string(),
            &self.crl.display().to_string(),
            &self.client_cert.display().to_string(),
            &self.client_key.display().to_string(),
            self.dialect.as_str(),
        ]
        .map(str::to_owned);
        let mut out = arg.to_owned();
        for (name, value) in PLACEHOLDERS.iter().zip(values) {
            out = out.replace(name, &value);
        }
        out
    }
}

/// Runs `template` (program first) with the placeholders substituted in its arguments and in
/// the values of `env` (set on top of the harness's environment), stdin closed, killed at
/// `limit`.
pub async fn run(
    template: &[String],
    env: &[(String, String)],
    values: &Placeholders,
    limit: Duration,
) -> ProcessRun {
    let argv: Vec<String> = template.iter().map(|a| values.substitute(a)).collect();
    let env = env
        .iter()
        .map(|(name, value)| (name.clone(), values.substitute(value)));
    let started = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return not_started(argv.clone(), "the command is empty".to_owned());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that what it starts (a `sh -c` wrapper's children) is killed
    // with it at the timeout.
    #[cfg(unix)]
    command.process_group(0);
    let spawned = command.spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let why = format!("{program}: {e}");
            return not_started(argv.clone(), why);
        }
    };
    let stdout = child.stdout.take().map(tail);
    let stderr = child.stderr.take().map(tail);
    let end = match timeout(limit, child.wait()).await {
        Ok(Ok(status)) => ProcessEnd::Exited(status.code()),
        Ok(Err(_)) => ProcessEnd::Exited(None),
        Err(_elapsed) => {
            // The command outlived the case: kill its process group and it, and reap it
            // (bounded too).
            if let Some(pid) = child.id() {
                kill_group(pid).await;
            }
            let _ = child.start_kill();
            let _ = timeout(KILL_GRACE, child.wait()).await;
            ProcessEnd::KilledAtTimeout
        }
    };
    let duration = started.elapsed();
    ProcessRun {
        argv,
        end,
        duration,
        stdout_tail: collect(stdout).await,
        stderr_tail: collect(stderr).await,
        spawn_error: None,
    }
}

/// Kills the process group `pid` leads, with the system's `kill` (no unsafe code for a signal);
/// bounded, and a failure leaves only the direct child to `start_kill`.
async fn kill_group(pid: u32) {
    #[cfg(unix)]
    {
        let killer = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status();
        let _ = timeout(KILL_GRACE, killer).await;
    }
    #[cfg(not(unix))]
    let _ = pid;
}

fn not_started(argv: Vec<String>, why: String) -> ProcessRun {
    ProcessRun {
        argv,
        end: ProcessEnd::NotStarted,
        duration: Duration::ZERO,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        spawn_error: Some(why),
    }
}

/// Reads `pipe` to its end, keeping only the last [`TAIL_BYTES`].
fn tail(mut pipe: impl AsyncRead + Unpin + Send + 'static) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut kept = Vec::with_capacity(TAIL_BYTES);
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > TAIL_BYTES {
                        kept.drain(..kept.len() - TAIL_BYTES);
                    }
                }
            }
        }
        kept
    })
}

async fn collect(reader: Option<JoinHandle<Vec<u8>>>) -> String {
    let Some(mut reader) = reader else {
        return String::new();
    };
    match timeout(PIPE_GRACE, &mut reader).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => {
            reader.abort();
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Placeholders {
        Placeholders {
            host: "127.0.0.1".into(),
            port: 2525,
            name: "mock.streamsocket.test".into(),
            ca: "/tmp/x/ca.pem".into(),
            crl: "/tmp/x/crl.pem".into(),
            client_cert: "/tmp/x/client-chain.pem".into(),
            client_key: "/tmp/x/client-key.pem".into(),
            dialect: "smtp".into(),
        }
    }

    #[test]
    fn placeholders_are_substituted_literally_and_others_left_alone() {
        let v = values();
        assert_eq!(v.substitute("{host}:{port}"), "127.0.0.1:2525");
        assert_eq!(v.substitute("--ca={ca}"), "--ca=/tmp/x/ca.pem");
        assert_eq!(v.substitute("{unknown} $HOME `x`"), "{unknown} $HOME `x`");
        assert_eq!(
            v.substitute("{name} {crl} {client_cert} {client_key} {dialect}"),
            "mock.streamsocket.test /tmp/x/crl.pem /tmp/x/client-chain.pem \
             /tmp/x/client-key.pem smtp"
        );
    }

    #[tokio::test]
    async fn a_command_that_outlives_its_timeout_is_killed_and_one_that_exits_is_kept() {
        let sleeper = ["sleep".to_owned(), "30".to_owned()];
        let run = run(&sleeper, &[], &values(), Duration::from_millis(200)).await;
        assert_eq!(run.end, ProcessEnd::KilledAtTimeout);
        assert!(run.duration < Duration::from_secs(10), "{run:?}");

        let echo = ["sh", "-c", "echo {port}; echo oops >&2; exit 3"].map(str::to_owned);
        let run = super::run(&echo, &[], &values(), Duration::from_secs(10)).await;
        assert_eq!(run.end, ProcessEnd::Exited(Some(3)));
        assert_eq!(
            (run.stdout_tail.as_str(), run.stderr_tail.as_str()),
            ("2525\n", "oops\n")
        );

        let missing = ["/nonexistent/client".to_owned()];
        let run = super::run(&missing, &[], &values(), Duration::from_secs(1)).await;
        assert_eq!(run.end, ProcessEnd::NotStarted);
        assert!(run.spawn_error.is_some());
    }

    /// What the command started dies with it: a `sh -c` wrapper's background child is in its
    /// process group.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_whole_process_group_is_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
        let wrapper = ["sh".to_owned(), "-c".to_owned(), script];
        let run = run(&wrapper, &[], &values(), Duration::from_millis(500)).await;
        assert_eq!(run.end, ProcessEnd::KilledAtTimeout);
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
        // Reaped by init once killed; give it a moment, bounded.
        for _ in 0..50 {
            let alive = std::fs::read_to_string(proc_dir.join("stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            if !alive {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the grandchild {} outlived the timeout", pid.trim());
    }

    #[tokio::test]
    async fn environment_values_are_substituted_and_set() {
        let env = [
            ("AUDIT_TARGET".to_owned(), "{host}:{port}".to_owned()),
            ("AUDIT_CA".to_owned(), "{ca}".to_owned()),
        ];
        let show = ["sh", "-c", "echo \"$AUDIT_TARGET $AUDIT_CA\""].map(str::to_owned);
        let run = run(&show, &env, &values(), Duration::from_secs(10)).await;
        assert_eq!(run.stdout_tail, "127.0.0.1:2525 /tmp/x/ca.pem\n");
    }

    #[tokio::test]
    async fn output_tails_are_bounded() {
        let loud = [
            "sh",
            "-c",
            "head -c 100000 /dev/zero | tr '\\0' a; echo end",
        ]
        .map(str::to_owned);
        let run = run(&loud, &[], &values(), Duration::from_secs(10)).await;
        assert_eq!(run.stdout_tail.len(), TAIL_BYTES);
        assert!(run.stdout_tail.ends_with("aend\n"));
    }
}
