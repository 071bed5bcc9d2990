//! Helpers shared by the tasks: the project root and running commands with a visible echo.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root, from this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `path` as a reader would type it: relative to the working directory when it is inside it
/// (`target/bench/summary.json`), as it is otherwise.
pub(crate) fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|inside| !inside.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// A `cargo` command (the one running us) in the project root.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// `cargo run --quiet --locked --package PACKAGE --bin BIN`, for the runners that live in the
/// workspace's crates; the caller adds a profile and `-- ARGS`.
pub(crate) fn cargo_run(package: &str, bin: &str) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--locked",
        "--package",
        package,
        "--bin",
        bin,
    ]);
    cmd
}

/// Runs `cmd`, echoing it first, and fails when it exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", display(cmd)))?;
    if !status.success() {
        bail!("{} failed with {status}", display(cmd));
    }
    Ok(())
}

/// Whether a program is on the PATH.
pub(crate) fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn display(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_working_directory_are_shown_relative() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(shown(&cwd.join("target/bench")), "target/bench");
        assert_eq!(shown(Path::new("/elsewhere/x")), "/elsewhere/x");
        assert_eq!(shown(&cwd), cwd.display().to_string());
    }
}
