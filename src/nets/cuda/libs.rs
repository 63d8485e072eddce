//! Finding the CUDA 13 libraries at run time (README "GPU engine").
//!
//! cudarc (`dynamic-loading`) `dlopen`s bare names (`libnvrtc.so`, then `libnvrtc.so.13`,
//! ...) and **panics** when none loads. NVIDIA's pip wheels (`nvidia-cuda-nvrtc`,
//! `nvidia-cublas`, ...) put every CUDA 13 library in `site-packages/nvidia/cu13/lib`,
//! which `dlopen` finds only through `LD_LIBRARY_PATH`. So before cudarc's first call we
//! load each library by absolute path (`RTLD_GLOBAL`): a later bare-name `dlopen` of the
//! same soname returns the loaded copy. This also loads `libnvrtc-builtins`, which NVRTC
//! itself `dlopen`s by bare name when it compiles. What is absent becomes an error naming
//! the library, where we looked and the pip package that provides it, never a panic.

use std::path::PathBuf;
use std::sync::OnceLock;

/// One CUDA library the engine uses, with the files it is known by (CUDA 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lib {
    /// cudarc's name for it.
    pub name: &'static str,
    /// File names, the one NVIDIA's CUDA 13 wheels ship first.
    pub files: &'static [&'static str],
    /// The pip package that provides it.
    pub pip: &'static str,
}

/// NVRTC's builtins (loaded by NVRTC itself during a compile).
pub const NVRTC_BUILTINS: Lib = Lib { name: "nvrtc-builtins", files: &["libnvrtc-builtins.so.13.0"], pip: "nvidia-cuda-nvrtc==13.0.88" };
/// NVRTC, the run-time compiler of our kernels.
pub const NVRTC: Lib = Lib { name: "nvrtc", files: &["libnvrtc.so.13", "libnvrtc.so"], pip: "nvidia-cuda-nvrtc==13.0.88" };
/// nvJitLink (cuSOLVER and cuSPARSE link it).
pub const NVJITLINK: Lib = Lib { name: "nvJitLink", files: &["libnvJitLink.so.13", "libnvJitLink.so"], pip: "nvidia-nvjitlink" };
/// cuBLASLt (cuBLAS links it).
pub const CUBLASLT: Lib = Lib { name: "cublasLt", files: &["libcublasLt.so.13", "libcublasLt.so"], pip: "nvidia-cublas" };
/// cuBLAS: every GEMM.
pub const CUBLAS: Lib = Lib { name: "cublas", files: &["libcublas.so.13", "libcublas.so"], pip: "nvidia-cublas" };
/// cuSPARSE (cuSOLVER links it).
pub const CUSPARSE: Lib = Lib { name: "cusparse", files: &["libcusparse.so.12", "libcusparse.so"], pip: "nvidia-cusparse" };
/// cuSOLVER: the symmetric eigendecompositions of K-FAC's factors (`syevd`).
pub const CUSOLVER: Lib = Lib { name: "cusolver", files: &["libcusolver.so.12", "libcusolver.so"], pip: "nvidia-cusolver" };
/// cuRAND: the Fisher pass's sampled targets on the device.
pub const CURAND: Lib = Lib { name: "curand", files: &["libcurand.so.10", "libcurand.so"], pip: "nvidia-curand" };

/// Every library, dependencies before their dependents (the load order).
pub const ALL: [Lib; 8] = [NVRTC_BUILTINS, NVRTC, NVJITLINK, CUBLASLT, CUBLAS, CUSPARSE, CUSOLVER, CURAND];

/// The libraries the compiler alone needs (what CI's kernel compilation test loads).
pub const COMPILER: [Lib; 2] = [NVRTC_BUILTINS, NVRTC];

/// Where one library came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Loaded from this file.
    Path(PathBuf),
    /// Loaded by its bare name (`LD_LIBRARY_PATH`, the system's library path).
    System(&'static str),
    /// Not loadable: the last `dlopen` error.
    Missing(String),
}

/// What [`preload`] found, library by library.
#[derive(Debug)]
pub struct Loaded {
    /// The directories searched, in order.
    pub dirs: Vec<PathBuf>,
    pub libs: Vec<(Lib, Found)>,
    // Kept open for the life of the process: cudarc's bare-name `dlopen`s resolve to them.
    _handles: Vec<libloading::os::unix::Library>,
}

impl Loaded {
    /// How `lib` was found.
    pub fn found(&self, lib: Lib) -> &Found {
        &self.libs.iter().find(|(l, _)| *l == lib).expect("every library is tried").1
    }

    /// `Ok` when every library of `need` is loaded, else an error naming each missing one,
    /// the directories searched and how to install it.
    pub fn require(&self, need: &[Lib]) -> Result<(), String> {
        let missing: Vec<Lib> = need.iter().copied().filter(|l| matches!(self.found(*l), Found::Missing(_))).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = missing.iter().map(|l| l.files[0].to_string()).collect();
        let mut pips: Vec<&str> = missing.iter().map(|l| l.pip).collect();
        pips.dedup();
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(format!(
            "CUDA libraries not found: {} (searched {}{}, then the system's library path); install them with \
             `pip install {}` and point {ENV_DIR} at site-packages/nvidia/cu13/lib",
            names.join(", "),
            if dirs.is_empty() { "no directory".to_string() } else { dirs.join(", ") },
            if std::env::var_os(ENV_DIR).is_none() { format!(" ({ENV_DIR} is not set)") } else { String::new() },
            pips.join(" "),
        ))
    }
}

/// The directory (or `:`-separated directories) holding the CUDA 13 libraries.
pub const ENV_DIR: &str = "ACKTR_CUDA_LIB_DIR";

/// The directories to search: `$ACKTR_CUDA_LIB_DIR`, then `nvidia/cu13/lib` under the
/// active virtual environment's and the user's and system's Python `site-packages`.
pub fn search_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/lib"));
    let venv = std::env::var_os("VIRTUAL_ENV").map(|v| PathBuf::from(v).join("lib"));
    let roots: Vec<PathBuf> = venv.into_iter().chain(home).chain(["/usr/local/lib", "/usr/lib"].map(PathBuf::from)).collect();
    search_dirs_in(std::env::var_os(ENV_DIR).as_deref(), &roots)
}

/// [`search_dirs`] for a given `ACKTR_CUDA_LIB_DIR` and library roots (`.../lib`, holding
/// `python3.*/{site,dist}-packages`).
pub fn search_dirs_in(env_dir: Option<&std::ffi::OsStr>, roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(v) = env_dir {
        dirs.extend(std::env::split_paths(v).filter(|p| !p.as_os_str().is_empty()));
    }
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else { continue };
        let mut pythons: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python3"))).collect();
        pythons.sort();
        for py in pythons {
            for sub in ["site-packages", "dist-packages"] {
                let d = py.join(sub).join("nvidia/cu13/lib");
                if d.is_dir() && !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
    }
    dirs
}

/// Loads every library from `dirs` (then by bare name), once per process; later calls
/// return the first call's result.
pub fn preload() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| load_from(search_dirs()))
}

/// Loads every library it can from `dirs`, then by bare name.
pub fn load_from(dirs: Vec<PathBuf>) -> Loaded {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    let mut libs = Vec::new();
    let mut handles = Vec::new();
    for lib in ALL {
        let mut found = Found::Missing(format!("none of {:?} in the directories searched or on the system's library path", lib.files));
        'search: for dir in &dirs {
            for file in lib.files {
                let path = dir.join(file);
                if path.is_file() {
                    // SAFETY: NVIDIA's libraries run no foreign initialisers beyond their own.
                    match unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_GLOBAL) } {
                        Ok(h) => {
                            handles.push(h);
                            found = Found::Path(path);
                            break 'search;
                        }
                        Err(e) => found = Found::Missing(e.to_string()),
                    }
                }
            }
        }
        if matches!(found, Found::Missing(_)) {
            for file in lib.files {
                // SAFETY: as above.
                if let Ok(h) = unsafe { Library::open(Some(*file), RTLD_NOW | RTLD_GLOBAL) } {
                    handles.push(h);
                    found = Found::System(file);
                    break;
                }
            }
        }
        libs.push((lib, found));
    }
    Loaded { dirs, libs, _handles: handles }
}

/// Whether the NVIDIA driver's `libcuda.so.1` loads (it comes with the driver, not pip).
pub fn driver_present() -> bool {
    // SAFETY: cudarc's probe only `dlopen`s and drops the library.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_an_error_naming_it_and_its_pip_package_not_a_panic() {
        let empty = std::env::temp_dir().join(format!("acktr-no-cuda-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let loaded = load_from(vec![empty.clone()]);
        // cuSOLVER is in no pip wheel of this machine and not on its library path.
        if matches!(loaded.found(CUSOLVER), Found::Missing(_)) {
            let e = loaded.require(&[CUSOLVER]).unwrap_err();
            assert!(e.contains("libcusolver.so.12"), "{e}");
            assert!(e.contains("pip install nvidia-cusolver"), "{e}");
            assert!(e.contains(&empty.display().to_string()), "{e}");
        } else {
            println!("skipped: cuSOLVER is installed on this machine");
        }
        assert!(loaded.require(&[]).is_ok());
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn the_search_takes_the_named_directories_first_then_python_site_packages() {
        let root = std::env::temp_dir().join(format!("acktr-cuda-dirs-{}", std::process::id()));
        let wheel = root.join("venv/lib/python3.11/site-packages/nvidia/cu13/lib");
        std::fs::create_dir_all(&wheel).unwrap();
        std::fs::create_dir_all(root.join("venv/lib/python3.12/site-packages")).unwrap(); // no CUDA wheel
        let named = std::env::join_paths(["/opt/a", "/opt/b"]).unwrap();
        let dirs = search_dirs_in(Some(&named), &[root.join("venv/lib"), root.join("absent")]);
        assert_eq!(dirs, vec![PathBuf::from("/opt/a"), PathBuf::from("/opt/b"), wheel]);
        assert!(search_dirs_in(None, &[root.join("absent")]).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
