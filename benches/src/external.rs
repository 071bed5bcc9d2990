//! Programs outside the process: `openssl s_server` + `s_time` (what users would otherwise use as
//! a test server) and valgrind's callgrind (instruction counts, which do not drift with load).
//!
//! Nothing here is installed: a missing program makes its figure unavailable, with the reason.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::setup::{Group, Suite, TlsSetup, Version};

/// Whether `program` is on the PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// A running `openssl s_server -WWW` on loopback, serving files from its directory; killed by
/// its pid on drop.
#[derive(Debug)]
pub struct OpensslServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl OpensslServer {
    /// Writes the setup's PEM files into `dir` and starts the server with the setup's version,
    /// suite and group, waiting (bounded) until it accepts connections.
    pub fn start(setup: &TlsSetup, dir: &Path) -> anyhow::Result<Self> {
        if !have("openssl") {
            bail!("openssl is not installed");
        }
        std::fs::create_dir_all(dir)?;
        // s_server runs in `dir`, so its file arguments must not be relative to ours.
        let dir = &std::fs::canonicalize(dir)?;
        let pem = setup.identity().write_pem(dir)?;
        let port = free_port()?;
        let mut cmd = Command::new("openssl");
        cmd.current_dir(dir)
            .arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&pem.chain)
            .arg("-key")
            .arg(&pem.key)
            .args(["-WWW", "-quiet", "-naccept", "1000000"]);
        cmd.args(openssl_tls_args(setup));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start openssl s_server")?;
        let mut server = Self {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory it serves files from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("openssl s_server exited early: {status}");
            }
            if Instant::now() > deadline {
                bail!("openssl s_server did not listen within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Full handshakes per wall-clock second: `openssl s_time -new` for `seconds` (at least 1).
    ///
    /// s_time prints whole seconds of real time (and user seconds of its own process only), so
    /// the wall clock is taken here, around the whole s_time process.
    pub fn handshakes_per_s(&self, setup: &TlsSetup, seconds: u64) -> anyhow::Result<f64> {
        let (out, wall) = self.s_time(setup, seconds, None)?;
        let (connections, _) = parse_s_time(&out).context("cannot parse s_time output")?;
        Ok(connections as f64 / wall.as_secs_f64())
    }

    /// Bulk bytes per wall-clock second: `openssl s_time -new -www /FILE` fetching a file of
    /// `bytes` bytes (written into the served directory once).
    pub fn bulk_bytes_per_s(
        &self,
        setup: &TlsSetup,
        bytes: u64,
        seconds: u64,
    ) -> anyhow::Result<f64> {
        let name = format!("bulk-{bytes}.bin");
        let path = self.dir.join(&name);
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(bytes) {
            write_file(&path, bytes)?;
        }
        let (out, wall) = self.s_time(setup, seconds, Some(&format!("/{name}")))?;
        let (connections, _) = parse_s_time(&out).context("cannot parse s_time output")?;
        let per_connection = parse_bytes_per_connection(&out).context("no byte count")?;
        if per_connection < bytes {
            bail!("s_time read {per_connection} of {bytes} bytes per connection");
        }
        Ok(connections as f64 * per_connection as f64 / wall.as_secs_f64())
    }

    fn s_time(
        &self,
        setup: &TlsSetup,
        seconds: u64,
        www: Option<&str>,
    ) -> anyhow::Result<(String, Duration)> {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(&self.dir)
            .arg("s_time")
            .arg("-connect")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("-new")
            .arg("-time")
            .arg(seconds.max(1).to_string());
        match setup.version {
            Version::Tls12 => cmd.arg("-tls1_2"),
            Version::Tls13 => cmd.arg("-tls1_3"),
        };
        if let Some(page) = www {
            cmd.arg("-www").arg(page);
        }
        let start = Instant::now();
        let out = cmd.stdin(Stdio::null()).output()?;
        let wall = start.elapsed();
        if !out.status.success() {
            bail!(
                "openssl s_time failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall))
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        // Child::kill signals this child's pid only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// s_server's options for the setup's version, suite and group.
fn openssl_tls_args(setup: &TlsSetup) -> Vec<String> {
    let mut args = Vec::new();
    match setup.version {
        Version::Tls13 => {
            args.push("-tls1_3".to_owned());
            let suite = match setup.suite {
                Suite::Aes128Gcm => Some("TLS_AES_128_GCM_SHA256"),
                Suite::Aes256Gcm => Some("TLS_AES_256_GCM_SHA384"),
                Suite::Chacha20 => Some("TLS_CHACHA20_POLY1305_SHA256"),
                Suite::Default => None,
            };
            if let Some(suite) = suite {
                args.extend(["-ciphersuites".to_owned(), suite.to_owned()]);
            }
        }
        Version::Tls12 => {
            args.push("-tls1_2".to_owned());
            let cipher = match setup.suite {
                Suite::Aes128Gcm => {
                    Some("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
                }
                Suite::Aes256Gcm => {
                    Some("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384")
                }
                Suite::Chacha20 => {
                    Some("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
                }
                Suite::Default => None,
            };
            if let Some(cipher) = cipher {
                args.extend(["-cipher".to_owned(), cipher.to_owned()]);
            }
        }
    }
    if setup.group == Group::X25519 {
        args.extend(["-groups".to_owned(), "X25519".to_owned()]);
    }
    args
}

/// A loopback port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn write_file(path: &Path, bytes: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let block = vec![0x5au8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()
}

/// From s_time's `N connections in T real seconds, B bytes read per connection` line: N and T
/// (T is in whole seconds).
pub fn parse_s_time(out: &str) -> Option<(u64, f64)> {
    out.lines().find_map(|line| {
        let (count, rest) = line.trim().split_once(" connections in ")?;
        let (real, _) = rest.split_once(" real seconds")?;
        let count = count.trim().parse().ok()?;
        let real: f64 = real.trim().parse().ok()?;
        (real > 0.0).then_some((count, real))
    })
}

/// From the same line: B, the bytes read per connection.
pub fn parse_bytes_per_connection(out: &str) -> Option<u64> {
    out.lines().find_map(|line| {
        let (_, rest) = line.split_once(" real seconds, ")?;
        let (bytes, _) = rest.split_once(" bytes read per connection")?;
        bytes.trim().parse().ok()
    })
}

/// The total instruction count in a callgrind output file (its `totals:` or `summary:` line).
pub fn parse_callgrind_total(out: &str) -> Option<u64> {
    out.lines().find_map(|line| {
        let rest = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Runs `exe args` under callgrind and returns the instructions it executed (user space).
pub fn callgrind_instructions(exe: &Path, args: &[String], scratch: &Path) -> anyhow::Result<u64> {
    if !have("valgrind") {
        bail!("valgrind is not installed");
    }
    std::fs::create_dir_all(scratch)?;
    let out_file = scratch.join(format!(
        "callgrind.{}.out",
        args.join("_").replace('/', "_")
    ));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot start valgrind")?;
    if !out.status.success() {
        bail!(
            "valgrind {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(&out_file)?;
    parse_callgrind_total(&text).context("no totals line in the callgrind output")
}

/// Runs `exe args` under `strace -c -f` and returns the total number of system calls made.
pub fn strace_syscalls(exe: &Path, args: &[String]) -> anyhow::Result<u64> {
    if !have("strace") {
        bail!("strace is not installed");
    }
    let out = Command::new("strace")
        .args(["-c", "-f", "-o", "/dev/stderr"])
        .arg(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .context("cannot start strace")?;
    if !out.status.success() {
        bail!("strace {} failed", args.join(" "));
    }
    parse_strace_total(&String::from_utf8_lossy(&out.stderr))
        .context("no total line in the strace summary")
}

/// The call count of `strace -c`'s `total` line.
pub fn parse_strace_total(out: &str) -> Option<u64> {
    out.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.last() != Some(&"total") {
            return None;
        }
        // `100.00  0.001  12  345  6  total`: seconds, usecs/call, calls, errors (optional).
        fields.get(3)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_time_lines_parse() {
        let out = "Collecting connection statistics for 3 seconds\n\
                   tttttttt\n\n\
                   4148 connections in 2.23s; 1860.09 connections/user sec, bytes read 0\n\
                   4148 connections in 4 real seconds, 0 bytes read per connection\n";
        assert_eq!(parse_s_time(out), Some((4148, 4.0)));
        assert_eq!(parse_bytes_per_connection(out), Some(0));
        assert_eq!(parse_s_time("nothing here"), None);
    }

    #[test]
    fn callgrind_totals_parse() {
        assert_eq!(
            parse_callgrind_total("events: Ir\nsummary: 123456\n"),
            Some(123456)
        );
        assert_eq!(parse_callgrind_total("totals: 42 7\n"), Some(42));
        assert_eq!(parse_callgrind_total("fn=main\n"), None);
    }

    #[test]
    fn strace_totals_parse() {
        let out = "% time     seconds  usecs/call     calls    errors syscall\n\
                   ------ ----------- ----------- --------- --------- ----------------\n\
                   \x20 60.00    0.000600           3       200        10 recvfrom\n\
                   ------ ----------- ----------- --------- --------- ----------------\n\
                   100.00    0.001000           2       456        12 total\n";
        assert_eq!(parse_strace_total(out), Some(456));
        assert_eq!(parse_strace_total("nothing"), None);
    }

    #[test]
    fn openssl_args_pin_suite_and_group() {
        let args = openssl_tls_args(&TlsSetup::default());
        assert_eq!(
            args,
            [
                "-tls1_3",
                "-ciphersuites",
                "TLS_AES_128_GCM_SHA256",
                "-groups",
                "X25519"
            ]
        );
    }
}
