//! Reference harness for reproducing ACKTR (Wu, Mansimov, Liao, Grosse, Ba 2017).
//!
//! The modules follow the data's trip (README "Architecture"; [`check`] holds the field
//! checks every configuration shares): [`spec`] (YAML in, checked plan out) -> [`env`] ->
//! [`nets`] -> [`optim`]/[`kfac`] -> [`algo`] -> [`run`] (executor, results on disk) -> [`report`];
//! [`cli`] is the command line that `src/main.rs` calls.

pub mod algo;
pub mod check;
pub mod cli;
pub mod conformance;
pub mod env;
pub mod kfac;
pub mod metric;
pub mod nets;
pub mod optim;
pub mod report;
pub mod run;
pub mod spec;
