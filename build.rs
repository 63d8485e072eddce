//! Build script.
//!
//! 1. Records, for run provenance, the versions of the dependencies that shape numerics and
//!    files (read from Cargo.lock), the compiler version, and the commit the binary is built
//!    from with whether its sources differ from it.
//! 2. Provisions MuJoCo 3.17.0 and Gymnasium 1.4.0's task models (README "MuJoCo"): nobody
//!    installs MuJoCo by hand. Unless the user points `MUJOCO_DYNAMIC_LINK_DIR` at their own
//!    MuJoCo 3.17.0, the shared library comes from the `mujoco==3.17.0` wheel and the MJCF
//!    models from the `gymnasium==1.4.0` wheel, fetched once with
//!    `python3 -m pip download --no-deps --only-binary=:all:` into
//!    `target/mujoco-3.17.0/` (outside the source tree) and verified (file present, version
//!    in the file names). `build-support/pkgconfig/mujoco.pc` (found by mujoco-rs through
//!    `.cargo/config.toml`) points at the same directory; mujoco-rs's build script needs only
//!    that file, the library itself is needed at the final link, after this script ran.
//!    Every binary of the package gets an rpath to the library, so `cargo run` and
//!    `cargo test` need no `LD_LIBRARY_PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TRACKED: &[&str] =
    &["dfdx", "faer", "polars", "rand", "rand_chacha", "gemm", "serde_yaml", "mujoco-rs"];

const MUJOCO_VERSION: &str = "3.17.0";
const GYMNASIUM_VERSION: &str = "1.4.0";
/// The task models the registry loads (Gymnasium 1.4.0 defaults; Walker2d-v5 uses its own file).
const ASSETS: &[&str] = &[
    "ant.xml",
    "half_cheetah.xml",
    "hopper.xml",
    "inverted_pendulum.xml",
    "inverted_double_pendulum.xml",
    "reacher.xml",
    "swimmer.xml",
    "walker2d_v5.xml",
];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    record_versions();
    record_build();
    if let Err(msg) = provision_mujoco() {
        // A panic prints the whole message under "failed to run custom build command".
        panic!("\n\nacktr: cannot provision MuJoCo {MUJOCO_VERSION} / Gymnasium {GYMNASIUM_VERSION} models.\n{msg}\n");
    }
    if std::env::var_os("CARGO_FEATURE_ATARI").is_some() {
        if let Err(msg) = provision_roms() {
            panic!("\n\nacktr: cannot provision the Atari ROMs of ale-py {ALE_PY_VERSION}.\n{msg}\n");
        }
    }
}

const ALE_PY_VERSION: &str = "0.12.1";

fn how_to_fix_roms(cache: &Path) -> String {
    format!(
        "How to provide them:\n\
         - with network access to PyPI and `python3 -m pip`, just build again; or\n\
         - on a machine with network, run\n    \
           python3 -m pip download --no-deps --only-binary=:all: ale-py=={ALE_PY_VERSION} -d WHEELS\n  \
           and copy the .whl file into {wheels}; or\n\
         - build without Atari: cargo build --release --no-default-features\n\
         (At run time ACKTR_ATARI_ROMS may name a directory of your own ROMs; each is md5-checked.)",
        wheels = cache.join("wheels").display()
    )
}

/// The 108 ROMs of the ale-py wheel, extracted into `target/ale-py-<version>/roms/` and
/// checked against the wheel's own `md5.json`, which must equal the copy in
/// `assets/atari/` that the binary checks ROMs against at run time.
fn provision_roms() -> Result<(), String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let cache = manifest.join("target").join(format!("ale-py-{ALE_PY_VERSION}"));
    let dir = cache.join("roms");
    let table_path = manifest.join("assets/atari/ale-py-0.12.1-md5.json");
    println!("cargo:rerun-if-changed={}", table_path.display());
    let complete = dir.join("md5.json").is_file();
    if !complete {
        let wheel = fetch_wheel(&cache, "ale_py", ALE_PY_VERSION, "ale-py", &how_to_fix_roms(&cache))?;
        // The members: the ROMs our table names (the check below proves the wheel's
        // md5.json names the same) and that md5.json.
        let table = std::fs::read_to_string(&table_path).map_err(|e| format!("cannot read {}: {e}", table_path.display()))?;
        let mut members: Vec<String> = table
            .split('"')
            .filter(|t| t.ends_with(".bin"))
            .map(|t| format!("ale_py/roms/{t}"))
            .collect();
        members.push("ale_py/roms/md5.json".into());
        extract(&wheel, &members, &dir, &how_to_fix_roms(&cache))?;
    }
    // Python's json and hashlib check every ROM against the wheel's md5.json and that table
    // against ours (key for key, value for value).
    let script = "import sys, json, hashlib, os\n\
                  d = sys.argv[1]\n\
                  want = json.load(open(os.path.join(d, 'md5.json')))\n\
                  ours = json.load(open(sys.argv[2]))\n\
                  assert want == ours, 'the wheel md5.json differs from assets/atari'\n\
                  bad = [f for f, m in want.items() if hashlib.md5(open(os.path.join(d, f), 'rb').read()).hexdigest() != m]\n\
                  assert not bad, 'md5 mismatch: %s' % bad\n";
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&dir)
        .arg(&table_path)
        .output()
        .map_err(|e| format!("cannot run `{python}` ({e}).\n{}", how_to_fix_roms(&cache)))?;
    if !out.status.success() {
        return Err(format!(
            "the ROMs in {} failed their md5 check:\n{}\n(delete {} and build again)\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr),
            cache.display(),
            how_to_fix_roms(&cache)
        ));
    }
    println!("cargo:rerun-if-changed={}", dir.join("md5.json").display());
    println!("cargo:rustc-env=ACKTR_ATARI_ROMS_DIR={}", dir.display());
    Ok(())
}

fn record_versions() {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if TRACKED.contains(&n.as_str()) {
                found.push(format!("{n}={}", v.trim_matches('"')));
            }
        }
    }
    println!("cargo:rustc-env=ACKTR_DEP_VERSIONS={}", found.join(","));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=ACKTR_RUSTC_VERSION={}", version.trim());
}

/// The commit the binary is built from and whether its inputs (src/, build.rs, the
/// manifest, the lock file, vendor/) differ from that commit, for run provenance
/// (`ACKTR_BUILD_COMMIT`, `ACKTR_BUILD_DIRTY`: `true`, `false`, or `unknown` outside git).
/// Rerun when those inputs change or HEAD moves.
fn record_build() {
    const INPUTS: &[&str] = &["src", "build.rs", "Cargo.toml", "Cargo.lock", "vendor"];
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    for p in INPUTS {
        println!("cargo:rerun-if-changed={p}");
    }
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(r);
    }
    for w in watched {
        if let Some(p) = git(&["rev-parse", "--git-path", &w]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend_from_slice(INPUTS);
    let dirty = match git(&status) {
        Some(s) if s.is_empty() => "false",
        Some(_) => "true",
        None => "unknown",
    };
    println!("cargo:rustc-env=ACKTR_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=ACKTR_BUILD_DIRTY={dirty}");
}

fn how_to_fix(cache: &Path) -> String {
    format!(
        "How to provide them:\n\
         - with network access to PyPI and `python3 -m pip`, just build again; or\n\
         - on a machine with network, run\n    \
           python3 -m pip download --no-deps --only-binary=:all: mujoco=={MUJOCO_VERSION} gymnasium=={GYMNASIUM_VERSION} -d WHEELS\n  \
           and copy the two .whl files into {wheels}; or\n\
         - use your own MuJoCo {MUJOCO_VERSION}: set MUJOCO_DYNAMIC_LINK_DIR to the absolute path of a directory\n  \
           holding libmujoco.so, and ACKTR_GYMNASIUM_ASSETS to gymnasium {GYMNASIUM_VERSION}'s\n  \
           gymnasium/envs/mujoco/assets directory (the wheel is still fetched for the models otherwise).",
        wheels = cache.join("wheels").display()
    )
}

fn provision_mujoco() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    println!("cargo:rerun-if-env-changed=ACKTR_GYMNASIUM_ASSETS");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    // Must agree with build-support/pkgconfig/mujoco.pc.
    let cache = manifest.join("target").join(format!("mujoco-{MUJOCO_VERSION}"));

    let lib_dir = match std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
        Ok(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if !dir.join("libmujoco.so").is_file() && !dir.join("libmujoco.dylib").is_file() {
                return Err(format!(
                    "MUJOCO_DYNAMIC_LINK_DIR={} holds no libmujoco.so.\n{}",
                    dir.display(),
                    how_to_fix(&cache)
                ));
            }
            dir
        }
        _ => {
            let lib_dir = cache.join("lib");
            let lib = lib_dir.join(format!("libmujoco.so.{MUJOCO_VERSION}"));
            if !lib.is_file() {
                let wheel = fetch_wheel(&cache, "mujoco", MUJOCO_VERSION, "mujoco", &how_to_fix(&cache))?;
                extract(&wheel, &[format!("mujoco/libmujoco.so.{MUJOCO_VERSION}")], &lib_dir, &how_to_fix(&cache))?;
            }
            if !lib.is_file() {
                return Err(format!("{} is missing after extraction.\n{}", lib.display(), how_to_fix(&cache)));
            }
            // The linker looks for the unversioned name; the loader for the SONAME
            // (libmujoco.so.3.17.0), found through the rpath below.
            let link = lib_dir.join("libmujoco.so");
            if std::fs::symlink_metadata(&link).is_err() {
                symlink(&format!("libmujoco.so.{MUJOCO_VERSION}"), &link)?;
            }
            println!("cargo:rerun-if-changed={}", lib.display());
            lib_dir
        }
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!("cargo:rustc-env=ACKTR_MUJOCO_LIB_DIR={}", lib_dir.display());

    let assets = match std::env::var("ACKTR_GYMNASIUM_ASSETS") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let dir = cache.join(format!("gymnasium-{GYMNASIUM_VERSION}-assets"));
            if !ASSETS.iter().all(|a| dir.join(a).is_file()) {
                let wheel = fetch_wheel(&cache, "gymnasium", GYMNASIUM_VERSION, "gymnasium", &how_to_fix(&cache))?;
                let members: Vec<String> =
                    ASSETS.iter().map(|a| format!("gymnasium/envs/mujoco/assets/{a}")).collect();
                extract(&wheel, &members, &dir, &how_to_fix(&cache))?;
            }
            dir
        }
    };
    for a in ASSETS {
        let path = assets.join(a);
        if !path.is_file() {
            return Err(format!("task model {} is missing.\n{}", path.display(), how_to_fix(&cache)));
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rustc-env=ACKTR_GYMNASIUM_ASSETS={}", assets.display());
    Ok(())
}

/// The wheel `name==version` in `cache/wheels`, downloaded with pip if it is not there.
fn fetch_wheel(cache: &Path, name: &str, version: &str, pip_name: &str, fix: &str) -> Result<PathBuf, String> {
    let wheels = cache.join("wheels");
    std::fs::create_dir_all(&wheels).map_err(|e| format!("cannot create {}: {e}", wheels.display()))?;
    let find = || -> Option<PathBuf> {
        let prefix = format!("{name}-{version}-");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&wheels)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".whl"))
            })
            .collect();
        found.sort();
        found.pop()
    };
    if let Some(w) = find() {
        return Ok(w);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    println!("cargo:warning=acktr: downloading {pip_name}=={version} from PyPI into {}", wheels.display());
    let out = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
        .arg(format!("{pip_name}=={version}"))
        .arg("-d")
        .arg(&wheels)
        .output()
        .map_err(|e| format!("cannot run `{python} -m pip` ({e}): Python 3 with pip is needed.\n{}", fix))?;
    if !out.status.success() {
        return Err(format!(
            "`{python} -m pip download {pip_name}=={version}` failed:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            fix
        ));
    }
    find().ok_or_else(|| {
        format!("pip reported success but no {name}-{version}-*.whl is in {}.\n{}", wheels.display(), fix)
    })
}

/// Extracts `members` of a wheel (a zip file) flat into `dest`, atomically (temporary directory
/// renamed into place). Uses Python's zipfile, since pip (hence Python) is already required.
fn extract(wheel: &Path, members: &[String], dest: &Path, fix: &str) -> Result<(), String> {
    let tmp = dest.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let script = "import sys, zipfile, os\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  for m in sys.argv[3:]:\n    \
                      data = z.read(m)\n    \
                      open(os.path.join(sys.argv[2], os.path.basename(m)), 'wb').write(data)\n";
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(wheel)
        .arg(&tmp)
        .args(members)
        .output()
        .map_err(|e| format!("cannot run `{python}` ({e}).\n{}", fix))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!(
            "cannot extract {members:?} from {}:\n{}\n(the wheel may be damaged: delete it and build again)\n{}",
            wheel.display(),
            String::from_utf8_lossy(&out.stderr),
            fix
        ));
    }
    let _ = std::fs::remove_dir_all(dest);
    std::fs::rename(&tmp, dest).map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), dest.display()))
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(target, link).map_err(|e| format!("cannot link {}: {e}", link.display()))
}

#[cfg(not(unix))]
fn symlink(_target: &str, link: &Path) -> Result<(), String> {
    Err(format!("cannot create {}: only Linux is supported", link.display()))
}
