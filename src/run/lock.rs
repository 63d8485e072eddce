//! One process per cell: a running cell holds an exclusive advisory lock (`flock`) on
//! `results/<spec>/.lock-<hash>`, which names its owner (`<host>~<pid>`). A second
//! `reproduce` of the same spec (another terminal, a Slurm task beside a local run) leaves
//! a locked cell to its owner instead of training it twice into the same checkpoint, and
//! `acktr status` says which process is running it. The kernel releases the lock when the
//! process ends, however it ends (`kill -9` included), so a lock never outlives its run.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::{io, temp_owner, RunError};
use crate::spec::Cell;

/// Where `cell`'s lock lives.
pub fn path(root: &Path, cell: &Cell) -> PathBuf {
    root.join(&cell.spec).join(format!(".lock-{}", cell.hash))
}

/// A held cell lock; released when dropped.
#[derive(Debug)]
pub struct CellLock {
    file: File,
    path: PathBuf,
}

impl CellLock {
    /// Releases the lock and removes its file: for a cell that is published, which every
    /// later taker sees finished (it checks after taking the lock) whichever file it locked.
    pub fn release_published(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Attempts, 20 ms apart, before a held lock counts as another run's.
const HOLDER_RETRIES: usize = 5;

/// Takes `cell`'s lock: `Ok(Err(owner))` when another process holds it. A filesystem that
/// does not support locks gives a lock that excludes nothing (with a one-line warning),
/// as before locks existed.
pub fn try_take(root: &Path, cell: &Cell) -> Result<Result<CellLock, String>, RunError> {
    let path = path(root, cell);
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io(&path))?;
    // `holder` takes a shared lock for an instant: a refusal is final only when it lasts.
    let mut tries = 0;
    let taken = loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if tries < HOLDER_RETRIES => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other,
        }
    };
    match taken {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Err(owner_of(&mut file))),
        Err(TryLockError::Error(e)) if unsupported(&e) => {
            eprintln!("cell {}: {} cannot be locked on this filesystem ({e}); running without a lock", cell.hash, path.display());
        }
        Err(TryLockError::Error(e)) => return Err(RunError::Io { path, source: e }),
    }
    file.set_len(0).map_err(io(&path))?;
    file.rewind().map_err(io(&path))?;
    file.write_all(format!("{}\n", temp_owner()).as_bytes()).map_err(io(&path))?;
    file.flush().map_err(io(&path))?;
    Ok(Ok(CellLock { file, path }))
}

/// Whether a lock error says the filesystem cannot lock (not that the lock is taken):
/// `ENOTSUP`/`EOPNOTSUPP`, or `ENOLCK` (an NFS mount without its lock service); Linux numbers.
fn unsupported(e: &std::io::Error) -> bool {
    const ENOLCK: i32 = 37;
    const EOPNOTSUPP: i32 = 95;
    e.kind() == std::io::ErrorKind::Unsupported || matches!(e.raw_os_error(), Some(ENOLCK | EOPNOTSUPP))
}

/// The process running `cell` (`<host>~<pid>`), if one holds its lock now.
pub fn holder(root: &Path, cell: &Cell) -> Option<String> {
    let path = path(root, cell);
    let mut file = OpenOptions::new().read(true).open(&path).ok()?;
    // A shared lock is refused only while a run holds the exclusive one.
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(owner_of(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

/// The owner written in a lock file ("another process" when it cannot be read).
fn owner_of(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|_| file.read_to_string(&mut text));
    match text.trim() {
        "" => "another process".to_string(),
        owner => owner.to_string(),
    }
}
