//! The options of `reproduce --slurm`, checked.

use super::*;

/// What `--slurm` was given.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// `--time`, as Slurm writes it (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`).
    pub time: Option<String>,
    pub cpus_per_task: u32,
    /// `--mem`, e.g. `4G`.
    pub mem: Option<String>,
    /// The array's `%K` throttle.
    pub max_parallel: Option<u32>,
    /// Further `sbatch` options, one `#SBATCH` argument each (e.g. `--account=rl`).
    pub sbatch_args: Vec<String>,
    /// `run-cell --checkpoint-minutes` in the tasks.
    pub checkpoint_minutes: f64,
    /// Write the scripts but do not submit them.
    pub no_submit: bool,
}

impl SlurmOptions {
    /// Checks every user-supplied value; the error names the flag and the value.
    pub fn check(&self) -> Result<(), SlurmError> {
        let bad = |flag: &str, value: &str, why: &str| SlurmError::BadArgument {
            flag: flag.into(),
            value: value.into(),
            why: why.into(),
        };
        if let Some(p) = &self.partition {
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ','))
            {
                return Err(bad("--partition", p, "a partition name (or a comma-separated list) of letters, digits, `-`, `_` and `.`"));
            }
        }
        if let Some(t) = &self.time {
            if !valid_time(t) {
                return Err(bad(
                    "--time",
                    t,
                    "Slurm's time format: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS",
                ));
            }
        }
        if self.cpus_per_task == 0 {
            return Err(bad("--cpus-per-task", "0", "at least 1"));
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
            if digits.is_empty()
                || digits.len() + 1 < m.len()
                || !digits.chars().all(|c| c.is_ascii_digit())
            {
                return Err(bad("--mem", m, "a size such as 4000, 4000M or 4G"));
            }
        }
        if self.max_parallel == Some(0) {
            return Err(bad("--max-parallel", "0", "at least 1"));
        }
        for a in &self.sbatch_args {
            if !a.starts_with('-') {
                return Err(bad(
                    "--sbatch-arg",
                    a,
                    "an sbatch option, starting with `-` (e.g. --sbatch-arg=--account=rl)",
                ));
            }
            sbatch_word(a).map_err(|why| bad("--sbatch-arg", a, &why))?;
            for own in [
                "--array",
                "-a",
                "--output",
                "-o",
                "--error",
                "-e",
                "--signal",
                "--open-mode",
                "--dependency",
                "-d",
                "--parsable",
            ] {
                if a == own
                    || a.starts_with(&format!("{own}="))
                    || (own.len() == 2 && a.starts_with(own) && a.len() > 2 && !a.starts_with("--"))
                {
                    return Err(bad("--sbatch-arg", a, "set by the harness itself (the array, its logs, its signal and dependency)"));
                }
            }
        }
        Ok(())
    }
}

/// Slurm's `--time` formats.
pub(super) fn valid_time(t: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.len() <= 6 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !num(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.iter().all(|p| num(p)) && (1..=3).contains(&parts.len())
}
