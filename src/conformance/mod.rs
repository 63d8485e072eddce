//! The conformance runners: test machinery, kept out of the modules they check. Each reads
//! cases recorded from a reference implementation and replays them through our code,
//! comparing every intermediate value within the case format's tolerance:
//!
//! - [`kfac`]: K-FAC steps (`kfac-case/1`, the book's `formats/kfac-case.md`; cases from
//!   the shared suite and `golden/kfac/`);
//! - [`trpo`]: TRPO policy steps (`trpo-case/1`, `golden/trpo/FORMAT.md`);
//! - [`env`]: classic-control and MuJoCo environments against Gymnasium (`env-case/1`, the
//!   book's `formats/env-case.md`);
//! - [`atari`]: the ALE and the DeepMind wrapper chain against openai/baselines'
//!   `common/atari_wrappers.py` (the Atari cases of `formats/env-case.md`);
//! - [`pixels`]: frames of the MuJoCo tasks against Gymnasium's offscreen renderer
//!   (`pixel-case/1`, `golden/pixels/FORMAT.md`).
//!
//! `cargo test` runs them (`tests/*_conformance.rs`); nothing in the training path uses
//! them.

#[cfg(feature = "atari")]
pub mod atari;
pub mod env;
pub mod kfac;
#[cfg(feature = "pixels")]
pub mod pixels;
pub mod trpo;
