//! Where a cell's results came from (STYLE.md 11, after CleanRL's run tags): the resolved
//! configuration, the seed, the git commit, dependency versions and the machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use crate::spec::Cell;

/// Contents of `provenance.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance<'a> {
    pub cell: &'a Cell,
    pub spec_file: String,
    pub profile: &'a str,
    /// The tensor engine the cell's networks ran on (`cpu`, `cuda`).
    pub engine: &'static str,
    /// The GPU the networks ran on, with the `cuda` engine (`NVIDIA H200 (sm_90)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
    /// The checkout's HEAD when the cell started, and whether its tracked files had changes
    /// (which says nothing of the binary: see `build_commit`).
    pub git_commit: String,
    pub git_dirty: bool,
    /// The commit the executable was built from, and whether its sources (src/, build.rs,
    /// the manifest, the lock file, vendor/) differed from it (`unknown` outside git).
    pub build_commit: &'static str,
    pub build_dirty: &'static str,
    /// 16 hex digits of the SHA-256 of the spec text the run was planned from.
    pub spec_sha256: String,
    /// The executable that ran the cell: 16 hex digits of its SHA-256 ([`build_id`]); two
    /// cells of the same build name the same digest, whatever the checkout's state.
    pub build_id: &'static str,
    pub acktr_version: &'static str,
    pub rustc: &'static str,
    pub dependencies: BTreeMap<String, String>,
    pub machine: Machine,
    pub started_unix: f64,
    pub wall_seconds: f64,
    pub timesteps: u64,
    pub updates: u64,
    pub episodes: u64,
    /// The finished cell whose final state this cell started from (same lineage, shorter
    /// budget); `wall_seconds` includes that cell's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continued_from: Option<ContinuedFrom>,
}

/// The shorter cell a cell continued ([`Cell::lineage`](crate::spec::Cell::lineage)).
#[derive(Debug, Clone, Serialize)]
pub struct ContinuedFrom {
    /// Its hash.
    pub cell: String,
    /// The timesteps it had run.
    pub timesteps: u64,
}

/// The machine a cell ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub hostname: String,
    pub os: &'static str,
    pub arch: &'static str,
    pub cpus: usize,
    pub cpu_model: String,
}

/// Dependency versions recorded at build time.
pub fn dependencies() -> BTreeMap<String, String> {
    env!("ACKTR_DEP_VERSIONS")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `git rev-parse HEAD` and whether the tree has changes, run next to the spec file.
pub fn git_state(dir: &Path) -> (String, bool) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Committed results a run rewrites (reports, figures) do not make the checkout dirty.
    let dirty = run(&["status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)results"]).is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

/// The build's commit (`ACKTR_BUILD_COMMIT`, recorded by build.rs).
pub const BUILD_COMMIT: &str = env!("ACKTR_BUILD_COMMIT");
/// Whether the build's sources differed from [`BUILD_COMMIT`]: `true`, `false` or `unknown`.
pub const BUILD_DIRTY: &str = env!("ACKTR_BUILD_DIRTY");

/// 16 hex digits of the SHA-256 of the running executable (read once per process);
/// `unknown` when it cannot be read.
pub fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use sha2::{Digest, Sha256};
        // `/proc/self/exe` reads the running executable even after a rebuild has replaced
        // its file (where `current_exe`'s path would name the new build, or none).
        std::fs::read("/proc/self/exe")
            .or_else(|_| std::env::current_exe().and_then(std::fs::read))
            .map(|bytes| Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect())
            .unwrap_or_else(|_| "unknown".into())
    })
}

/// This machine.
pub fn machine() -> Machine {
    let hostname = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    Machine {
        hostname,
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
    }
}
