//! Running programs: inherited output, captured output, or output sent to a log
//! file whose tail is shown when the program fails.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Context, Result, bail};

/// The program and its arguments, for messages.
pub(crate) fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '\'', '"']) {
            s.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Runs with the terminal's stdin, stdout and stderr; fails on a non-zero exit.
pub(crate) fn run(c: &mut Command) -> Result<()> {
    let status = c.status().context(|| format!("cannot run `{}`", describe(c)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(c));
    }
    Ok(())
}

/// Runs and returns stdout; fails on a non-zero exit, quoting stderr.
pub(crate) fn output(c: &mut Command) -> Result<String> {
    let out = c.stdin(Stdio::null()).output().context(|| format!("cannot run `{}`", describe(c)))?;
    if !out.status.success() {
        bail!("`{}` failed ({}): {}", describe(c), out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs quietly and tells whether it exited with 0.
pub(crate) fn succeeds(c: &mut Command) -> bool {
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs with stdout and stderr appended to `log`; on failure the error shows the
/// log's last lines.
pub(crate) fn run_logged(c: &mut Command, log: &Path) -> Result<()> {
    let file =
        File::options().create(true).append(true).open(log).context(|| format!("cannot open {}", log.display()))?;
    let status = c
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .context(|| format!("cannot run `{}`", describe(c)))?;
    if !status.success() {
        bail!("`{}` failed ({status}); the end of {}:\n{}", describe(c), log.display(), tail(log, 30));
    }
    Ok(())
}

/// The last `n` lines of a text file (all of it when `n` is 0); empty when it
/// cannot be read.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = if n == 0 { 0 } else { lines.len().saturating_sub(n) };
    lines[start..].join("\n")
}

/// `cargo`, the one that runs us when possible.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Where `program` is on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}
