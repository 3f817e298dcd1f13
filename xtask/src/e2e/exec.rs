//! Running the cluster tools: [`run`] a command with a deadline, [`poll`] until a
//! check passes or time runs out.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Runs `cmd`, kills it after `timeout`, and returns its stdout; a non-zero exit is an
/// error carrying the command line and its stderr.
pub fn run(cmd: &mut Command, timeout: Duration) -> anyhow::Result<String> {
    let line = command_line(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{line}`"))?;
    // Drained on threads so a chatty command cannot fill a pipe and stall.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            // The child may have exited just now; either way it is reaped below.
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{line}` did not finish within {}s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(50));
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        bail!("`{line}` failed ({status}): {}", err.trim());
    }
    Ok(out)
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// The command as a shell line, for messages.
pub fn command_line(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Calls `check` every `interval` until it returns `Some`, for at most `timeout`.
/// An `Err` from `check` counts as "not yet" (the cluster may still be converging);
/// the last one is reported if time runs out.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => "not yet".to_owned(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() + interval > deadline {
            bail!(
                "timed out after {}s waiting for {what} (last check: {last})",
                timeout.as_secs()
            );
        }
        thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_returns_stdout_and_reports_failures_with_stderr() {
        let out = run(
            Command::new("sh").args(["-c", "echo hi"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.unwrap(), "hi\n");
        let err = run(
            Command::new("sh").args(["-c", "echo broken >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("exit status: 3") && err.contains("broken"),
            "{err}"
        );
    }

    #[test]
    fn run_kills_a_command_past_its_deadline() {
        let started = Instant::now();
        let err = run(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("did not finish within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn poll_retries_until_the_check_passes_or_times_out() {
        let mut calls = 0;
        let value = poll(
            "three calls",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                if calls < 3 {
                    anyhow::bail!("call {calls}")
                } else {
                    Ok(Some(calls))
                }
            },
        );
        assert_eq!(value.unwrap(), 3);
        let err = poll::<()>(
            "nothing",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || anyhow::bail!("still broken"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("waiting for nothing") && err.contains("still broken"),
            "{err}"
        );
    }
}
